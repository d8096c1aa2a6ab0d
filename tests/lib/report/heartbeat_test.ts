import assert from "node:assert/strict";
import { heartbeatText, startHeartbeat } from "../../../lib/report/heartbeat.ts";
import { FakeClock } from "../../support/fake_clock.ts";

Deno.test("heartbeatText says the command, the time in words and the last output", () => {
  assert.equal(
    heartbeatText("pip install vllm in container 920", 80_000, "Collecting torch"),
    'Still running: pip install vllm in container 920 (1 min 20 s; last output: "Collecting torch")',
  );
  assert.equal(heartbeatText("x", 20_400), "Still running: x (20.4 s; no output yet)");
  const long = heartbeatText("x", 1000, "y".repeat(500));
  assert.ok(long.length < 200, long);
  assert.match(long, /y…"\)$/);
});

Deno.test("startHeartbeat beats at its interval with the latest output, and stops for good", () => {
  const clock = new FakeClock(1_000);
  const beats: string[] = [];
  const heartbeat = startHeartbeat("sleep", 5_000, (text) => beats.push(text), clock);
  clock.advance(4_999);
  assert.deepEqual(beats, [], "no beat before one interval has passed");
  clock.advance(1);
  heartbeat.output("first");
  clock.advance(7_000);
  heartbeat.stop();
  assert.equal(clock.timerCount, 0, "stop clears the timer");
  clock.advance(60_000);
  assert.deepEqual(beats, [
    "Still running: sleep (5.0 s; no output yet)",
    'Still running: sleep (10.0 s; last output: "first")',
  ]);
});
