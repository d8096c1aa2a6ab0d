import assert from "node:assert/strict";
import { ExitCode } from "../../../lib/core/exit_codes.ts";
import type { Clock } from "../../../lib/core/wait.ts";
import type { Ending } from "../../../lib/pattern/exit_script.ts";
import {
  COMMAND_GRACE_MS,
  type Interruption,
  listenForInterruptions,
  type SignalListeners,
  UNWIND_GRACE_MS,
} from "../../../lib/pattern/interruption.ts";
import { rejectsWith } from "../../support/assertions.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { RecordingLog } from "../../support/recording_log.ts";

const WAITING = "pct exec 920 -- pip install vllm (running for 2.0 s)";

/** A supervisor that records what the cleanup asks of it; `settle` answers from `settles`. */
class FakeSupervisor {
  readonly calls: string[] = [];
  constructor(readonly settles: boolean[] = []) {}
  stop(reason: string) {
    this.calls.push(`stop ${reason}`);
  }
  describe() {
    return WAITING;
  }
  signalAll(signal: Deno.Signal) {
    this.calls.push(`signal ${signal}`);
  }
  settle(timeoutMs: number) {
    this.calls.push(`settle ${timeoutMs}`);
    return Promise.resolve(this.settles.shift() ?? true);
  }
  reopen() {
    this.calls.push("reopen");
  }
}

/** Signal listeners a test fires by hand. */
class FakeSignals implements SignalListeners {
  readonly listeners = new Map<Deno.Signal, Set<() => void>>();
  add(signal: Deno.Signal, listener: () => void) {
    this.listeners.set(signal, (this.listeners.get(signal) ?? new Set()).add(listener));
  }
  remove(signal: Deno.Signal, listener: () => void) {
    this.listeners.get(signal)?.delete(listener);
  }
  fire(signal: Deno.Signal) {
    for (const listener of this.listeners.get(signal) ?? []) listener();
  }
  get count() {
    return [...this.listeners.values()].reduce((sum, set) => sum + set.size, 0);
  }
}

/** What `finish` throws in place of exiting. */
class Exited extends Error {
  constructor(readonly code: ExitCode, readonly ending: Ending) {
    super(`exit ${code}`);
  }
}

interface Harness {
  readonly interruption: Interruption;
  readonly supervisor: FakeSupervisor;
  readonly signals: FakeSignals;
  readonly log: RecordingLog;
  /** Settles with the exit once `finish` is called. */
  readonly finished: Promise<Exited>;
}

function harness(options: { settles?: boolean[]; clock?: Clock } = {}): Harness {
  const supervisor = new FakeSupervisor(options.settles);
  const signals = new FakeSignals();
  const log = new RecordingLog();
  const finished = Promise.withResolvers<Exited>();
  const interruption: Interruption = listenForInterruptions({
    ctid: "920",
    log,
    supervisor,
    signals,
    clock: options.clock ?? new FakeClock(),
    finish: (code, ending) => {
      supervisor.calls.push(`finish ${code}`);
      interruption.end();
      const exited = new Exited(code, ending);
      finished.resolve(exited);
      return Promise.reject(exited);
    },
  });
  return { interruption, supervisor, signals, log, finished: finished.promise };
}

Deno.test("listenForInterruptions listens for SIGINT and SIGTERM until it ends", () => {
  const { interruption, signals } = harness();
  assert.deepEqual([...signals.listeners.keys()], ["SIGINT", "SIGTERM"]);
  assert.equal(signals.count, 2);
  // A watchdog left running would fail this test: Deno's sanitizer reports a pending timer.
  interruption.startWatchdog(3600);
  interruption.end();
  assert.equal(signals.count, 0);
  assert.equal(interruption.stopping, undefined);
});

Deno.test("SIGTERM stops the commands, waits for the setup, restores, and exits 143", async () => {
  const clock = new FakeClock();
  const { interruption, supervisor, signals, log } = harness({ clock });
  interruption.restoreWith(() => Promise.resolve(void supervisor.calls.push("restore")));
  signals.fire("SIGTERM");
  const exited = await rejectsWith(interruption.stopping!, Exited);
  assert.equal(exited.code, ExitCode.Terminated);
  assert.deepEqual(exited.ending, {
    failedDuring: "an interruption (SIGTERM)",
    error: "Received SIGTERM; stopping the setup of container 920 (exit code 143)",
  });
  assert.deepEqual(supervisor.calls, [
    "stop SIGTERM",
    "signal SIGTERM",
    `settle ${COMMAND_GRACE_MS}`,
    "reopen",
    "restore",
    "finish 143",
  ]);
  assert.equal(COMMAND_GRACE_MS, 10_000);
  assert.deepEqual(clock.sleeps, [UNWIND_GRACE_MS], "the setup got its grace to unwind");
  assert.deepEqual(log.entries, [[
    "warn",
    "Received SIGTERM; stopping the setup of container 920 (exit code 143); it was waiting " +
    `for: ${WAITING}`,
  ]]);
  assert.equal(signals.count, 0, "finish removed the listeners");
});

Deno.test("SIGINT exits 130 and kills the commands still running after the grace", async () => {
  const { interruption, supervisor, signals, log } = harness({ settles: [false, true] });
  signals.fire("SIGINT");
  const exited = await rejectsWith(interruption.stopping!, Exited);
  assert.equal(exited.code, ExitCode.Interrupted);
  assert.deepEqual(supervisor.calls, [
    "stop SIGINT",
    "signal SIGINT",
    "settle 10000",
    "signal SIGKILL",
    "settle 10000",
    "reopen",
    "finish 130",
  ]);
  assert.deepEqual(log.messages("warn"), [
    "Received SIGINT; stopping the setup of container 920 (exit code 130); it was waiting " +
    `for: ${WAITING}`,
    `Still running 10 s after SIGINT: ${WAITING}; killing it`,
  ]);
});

Deno.test("the watchdog forwards SIGTERM and exits 9, naming PHOENIX_RUN_TIMEOUT", async () => {
  const { interruption, supervisor, log, finished } = harness();
  interruption.startWatchdog(0.02);
  const exited = await finished;
  await rejectsWith(interruption.stopping!, Exited);
  assert.equal(exited.code, ExitCode.Watchdog);
  const message = "The run has taken longer than PHOENIX_RUN_TIMEOUT (20 ms); stopping it";
  assert.deepEqual(exited.ending, {
    failedDuring: "an interruption (the watchdog)",
    error: message,
  });
  assert.deepEqual(supervisor.calls.slice(0, 2), ["stop the watchdog", "signal SIGTERM"]);
  assert.deepEqual(log.messages("warn"), [`${message}; it was waiting for: ${WAITING}`]);
});

Deno.test("a signal while stopping changes nothing and says what the cleanup still does", async () => {
  // The setup never unwinds by itself here: only setupEnded lets the cleanup go on.
  const unwinding = Promise.withResolvers<void>();
  const never: Clock = {
    now: () => 0,
    sleep: () => {
      unwinding.resolve();
      return new Promise(() => {});
    },
  };
  const { interruption, supervisor, signals, log } = harness({ clock: never });
  const restoring = Promise.withResolvers<void>();
  const restoreStarted = Promise.withResolvers<void>();
  interruption.restoreWith(() => {
    restoreStarted.resolve();
    return restoring.promise;
  });
  signals.fire("SIGTERM");
  signals.fire("SIGINT"); // while it waits for the commands
  await unwinding.promise;
  signals.fire("SIGINT"); // while it waits for the setup to unwind
  interruption.setupEnded();
  await restoreStarted.promise;
  signals.fire("SIGTERM"); // while it restores the power state
  restoring.resolve();
  const exited = await rejectsWith(interruption.stopping!, Exited);
  assert.equal(exited.code, ExitCode.Terminated, "the first signal's code");
  assert.deepEqual(log.messages("warn").slice(1), [
    `SIGINT received while stopping; still waiting for: ${WAITING}`,
    "SIGINT received while stopping; still waiting for the setup to unwind",
    "SIGTERM received while stopping; still restoring container 920's power state",
  ]);
  assert.equal(supervisor.calls.filter((call) => call.startsWith("stop")).length, 1);
});
