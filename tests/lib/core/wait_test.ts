import assert from "node:assert/strict";
import {
  describeWait,
  type ProbeResult,
  systemClock,
  waitFor,
  type WaitProgress,
  WaitTimeoutError,
} from "../../../lib/core/wait.ts";
import { rejectsWith } from "../../support/assertions.ts";
import { FakeClock } from "../../support/fake_clock.ts";

/** Where the fake clocks start: not at zero, so that mixing up times and durations shows. */
const START = 1_000_000;

/** A probe that is ready on attempt `readyOn` (never when undefined), counting its calls. */
function probeReadyOn(readyOn?: number, clock?: FakeClock, costMs = 0) {
  const probe = {
    calls: 0,
    run: (): Promise<ProbeResult> => {
      probe.calls++;
      if (clock) clock.time += costMs;
      return Promise.resolve(
        probe.calls === readyOn
          ? { ready: true }
          : { ready: false, detail: `not yet (${probe.calls})` },
      );
    },
  };
  return probe;
}

const timeout = (promise: Promise<unknown>) => rejectsWith(promise, WaitTimeoutError);

Deno.test("waitFor returns 1 without sleeping when the probe is ready at once", async () => {
  const clock = new FakeClock(START);
  const probe = probeReadyOn(1);
  assert.equal(await waitFor("x", probe.run, { timeoutMs: 10_000, clock }), 1);
  assert.deepEqual(clock.sleeps, []);
  assert.equal(probe.calls, 1);
});

Deno.test("waitFor backs off exponentially from 250 ms by default", async () => {
  const clock = new FakeClock(START);
  const probe = probeReadyOn(5);
  assert.equal(await waitFor("x", probe.run, { timeoutMs: 60_000, clock }), 5);
  assert.deepEqual(clock.sleeps, [250, 500, 1000, 2000]);
});

Deno.test("waitFor caps the pause at 5000 ms by default", async () => {
  const clock = new FakeClock(START);
  const probe = probeReadyOn(9);
  assert.equal(await waitFor("x", probe.run, { timeoutMs: 600_000, clock }), 9);
  assert.deepEqual(clock.sleeps, [250, 500, 1000, 2000, 4000, 5000, 5000, 5000]);
});

Deno.test("waitFor follows custom initial delay, factor and cap", async () => {
  const clock = new FakeClock(START);
  const probe = probeReadyOn(6);
  const attempts = await waitFor("x", probe.run, {
    timeoutMs: 600_000,
    initialDelayMs: 100,
    factor: 3,
    maxDelayMs: 2000,
    clock,
  });
  assert.equal(attempts, 6);
  assert.deepEqual(clock.sleeps, [100, 300, 900, 2000, 2000]);
});

Deno.test("waitFor with factor 1 polls at a fixed interval", async () => {
  const clock = new FakeClock(START);
  const probe = probeReadyOn(4);
  await waitFor("x", probe.run, { timeoutMs: 60_000, initialDelayMs: 3000, factor: 1, clock });
  assert.deepEqual(clock.sleeps, [3000, 3000, 3000]);
});

Deno.test("waitFor never sleeps past the deadline and probes once more at it", async () => {
  const clock = new FakeClock(START);
  const start = clock.time;
  const probe = probeReadyOn(undefined);
  const error = await timeout(
    waitFor("the container to stop", probe.run, { timeoutMs: 1000, clock }),
  );
  // 250 + 500 = 750; the next pause would be 1000 but only 250 are left.
  assert.deepEqual(clock.sleeps, [250, 500, 250]);
  assert.equal(clock.time - start, 1000);
  assert.equal(probe.calls, 4);
  assert.equal(
    error.message,
    "Timed out after 1.0 s waiting for the container to stop (4 attempts; last: not yet (4))",
  );
  assert.equal(error.name, "WaitTimeoutError");
});

Deno.test("waitFor counts the probe's own time against the deadline", async () => {
  const clock = new FakeClock(START);
  const start = clock.time;
  const probe = probeReadyOn(undefined, clock, 700);
  const error = await timeout(
    waitFor("vLLM to answer /health", probe.run, { timeoutMs: 2000, initialDelayMs: 250, clock }),
  );
  // t=700 probe 1, sleep 250 → 950; probe 2 → 1650, sleep 350 (remaining) → 2000; probe 3 → 2700.
  assert.deepEqual(clock.sleeps, [250, 350]);
  assert.equal(probe.calls, 3);
  assert.equal(clock.time - start, 2700);
  assert.match(error.message, /\(3 attempts; last: not yet \(3\)\)$/);
});

Deno.test("waitFor with a zero timeout probes exactly once", async () => {
  const clock = new FakeClock(START);
  const probe = probeReadyOn(undefined);
  const error = await timeout(waitFor("it", probe.run, { timeoutMs: 0, clock }));
  assert.equal(probe.calls, 1);
  assert.deepEqual(clock.sleeps, []);
  assert.equal(error.message, "Timed out after 0 ms waiting for it (1 attempt; last: not yet (1))");
});

Deno.test("waitFor still succeeds when the last probe at the deadline is ready", async () => {
  const clock = new FakeClock(START);
  const probe = probeReadyOn(4);
  assert.equal(await waitFor("x", probe.run, { timeoutMs: 1000, clock }), 4);
  assert.deepEqual(clock.sleeps, [250, 500, 250]);
});

Deno.test("waitFor says the timeout in human words", async () => {
  const clock = new FakeClock(START);
  const error = await timeout(
    waitFor("x", probeReadyOn(undefined).run, { timeoutMs: 90_400, clock }),
  );
  assert.match(error.message, /^Timed out after 1 min 30 s waiting for x /);
});

Deno.test("waitFor lets an exception from the probe through, without retrying", async () => {
  const clock = new FakeClock(START);
  let calls = 0;
  await assert.rejects(
    waitFor("x", () => {
      calls++;
      return Promise.reject(new Error("probe broke"));
    }, { timeoutMs: 10_000, clock }),
    { message: "probe broke" },
  );
  assert.equal(calls, 1);
  assert.deepEqual(clock.sleeps, []);
});

Deno.test("systemClock reads the real time and sleeps", async () => {
  const before = Date.now();
  const now = systemClock.now();
  assert.ok(now >= before && now <= Date.now());
  await systemClock.sleep(0);
});

Deno.test("waitFor tells onRetry each answer, the time spent of the deadline and the next pause", async () => {
  const clock = new FakeClock(START);
  const progress: WaitProgress[] = [];
  await waitFor("x", probeReadyOn(3, clock, 100).run, {
    timeoutMs: 60_000,
    clock,
    onRetry: (p) => progress.push(p),
  });
  assert.deepEqual(progress, [
    { attempt: 1, elapsedMs: 100, timeoutMs: 60_000, detail: "not yet (1)", nextDelayMs: 250 },
    { attempt: 2, elapsedMs: 450, timeoutMs: 60_000, detail: "not yet (2)", nextDelayMs: 500 },
  ]);
  assert.equal(
    describeWait("vLLM", progress[1]),
    "Waiting for vLLM: attempt 2: not yet (2); 450 ms of 1 min; next try in 500 ms",
  );
});
