import assert from "node:assert/strict";
import { RunSupervisor } from "../../../lib/host/run_supervisor.ts";

Deno.test("RunSupervisor: a command with a graceful stop is asked to stop, not signalled, and given its grace", async () => {
  const supervisor = new RunSupervisor();
  let asked = 0;
  const tracked = supervisor.begin(["ssh", "root@192.0.2.12"], {
    stop: () => asked++,
    graceMs: 300,
  });
  // Not started (no pid): SIGKILL has no process to reach, so only the requests can be seen.
  supervisor.signalAll("SIGTERM");
  supervisor.signalAll("SIGINT");
  assert.equal(asked, 2);
  supervisor.signalAll("SIGKILL");
  assert.equal(asked, 2, "SIGKILL is sent, never turned into a request");
  // settle waits for the grace (300 ms), longer than the 10 ms asked for.
  const started = performance.now();
  setTimeout(() => tracked.ended(), 150);
  assert.equal(await supervisor.settle(10), true);
  assert.ok(performance.now() - started >= 140, "waited for the command within its grace");
});

Deno.test("RunSupervisor: settle gives up after the longest grace of the running commands", async () => {
  const supervisor = new RunSupervisor();
  const tracked = supervisor.begin(["ssh"], { stop: () => {}, graceMs: 50 });
  assert.equal(await supervisor.settle(10), false);
  tracked.ended();
  assert.equal(await supervisor.settle(10), true);
});
