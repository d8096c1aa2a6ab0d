/**
 * Signals and kills against the compiled 920 executable and the fake pct (issue 9): the running
 * `pct` child is stopped before anything else happens, the power state is restored, the lock is
 * released only then, and a re-run repairs what a SIGKILL left. Each `pct` the fake ran is a real
 * process that really keeps running until it is signalled.
 */

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import type { ExecRule, FailureRule } from "../fake_pct/fake_pct.ts";
import { ContainerScenario } from "../containers/_harness.ts";
import { assertExit, eventually } from "../support/assertions.ts";
import { isAlive, outputOf } from "../support/processes.ts";

const PIP_INSTALL = "^/opt/vllm/bin/pip install --no-input vllm$";

function scenario(
  options: { exec?: ExecRule[]; failures?: FailureRule[]; status?: "running" | "stopped" } = {},
) {
  return ContainerScenario.of({ ctid: "920", ...options });
}

Deno.test("SIGTERM/SIGINT during pip install: the pct child is stopped first, then the lock is released", async (t) => {
  for (const [signal, code] of [["SIGTERM", 143], ["SIGINT", 130]] as const) {
    await t.step(signal, async () => {
      await using s = await scenario({
        exec: [{ match: PIP_INSTALL, set: ["vllm"], delayMs: 120_000 }],
      });
      const child = await s.spawn();
      const pip = await s.waitForPct((argv) => argv.includes("install") && argv.includes("vllm"));
      child.kill(signal);
      const run = await outputOf(child);
      assertExit(run, code);
      assert.match(
        run.stderr,
        new RegExp(
          `Received ${signal}; stopping the setup of container 920 \\(exit code ${code}\\); ` +
            "it was waiting for: pct exec 920 -- /opt/vllm/bin/pip install --no-input vllm " +
            "\\(running for [\\d.]+ (ms|s)\\)",
        ),
      );
      assert.equal(await isAlive(pip.pid), false, "the pip install outlived the run");
      // Nothing ran after the interrupted command: no shutdown, no snapshot.
      assert.deepEqual((await s.calls()).at(-1), pip.argv);
      assert.deepEqual(await s.mutatingCalls(), []);
      assert.equal((await s.fake.state()).containers["920"].status, "running");
      assert.equal(existsSync(s.lockFile), false);
    });
  }
});

Deno.test("SIGTERM during a slow pct shutdown that did stop the container: started again", async () => {
  await using s = await scenario({
    failures: [{ command: "shutdown", stderr: "interrupted", effect: "apply", delayMs: 120_000 }],
  });
  const child = await s.spawn();
  const shutdown = await s.waitForPct((argv) => argv[0] === "shutdown");
  // The fake pct writes the stopped state just after the call starts: wait for it (bounded).
  await eventually(
    async () => (await s.fake.state()).containers["920"].status === "stopped",
    "the slow shutdown never stopped the container",
  );
  child.kill("SIGTERM");
  const run = await outputOf(child);
  assertExit(run, 143);
  assert.equal(await isAlive(shutdown.pid), false);
  assert.match(run.stderr, /Starting container 920 again, as it was running when this run began/);
  // Started again, and the start confirmed by pct status.
  assert.deepEqual((await s.calls()).slice(-3), [
    ["shutdown", "920", "--timeout", "60"],
    ["start", "920"],
    ["status", "920"],
  ]);
  assert.equal((await s.fake.state()).containers["920"].status, "running");
  assert.equal(existsSync(s.lockFile), false);
});

Deno.test("SIGTERM during a slow pct shutdown that had not stopped it yet: found running, left so", async () => {
  await using s = await scenario({
    failures: [{ command: "shutdown", stderr: "interrupted", delayMs: 120_000 }],
  });
  const child = await s.spawn();
  await s.waitForPct((argv) => argv[0] === "shutdown");
  child.kill("SIGTERM");
  const run = await outputOf(child);
  assertExit(run, 143);
  assert.match(run.stdout, /Container 920 is running: it had not shut down/);
  assert.doesNotMatch(run.stderr, /Could not restore/);
  assert.deepEqual((await s.calls()).slice(-2), [["start", "920"], ["status", "920"]]);
  assert.equal((await s.fake.state()).containers["920"].status, "running");
});

Deno.test("a second SIGTERM during the cleanup says what the run is still doing, and changes nothing", async () => {
  await using s = await scenario({
    failures: [
      { command: "shutdown", stderr: "interrupted", effect: "apply", delayMs: 120_000 },
      // The start that puts the template back is slow, but works.
      { command: "start", exit: 0, stderr: "", effect: "apply", delayMs: 3000 },
    ],
  });
  const child = await s.spawn();
  await s.waitForPct((argv) => argv[0] === "shutdown");
  child.kill("SIGTERM");
  await s.waitForPct((argv) => argv[0] === "start");
  child.kill("SIGTERM");
  const run = await outputOf(child);
  assertExit(run, 143);
  assert.match(
    run.stderr,
    /SIGTERM received while stopping; still restoring container 920's power state/,
  );
  assert.equal((await s.fake.state()).containers["920"].status, "running");
  assert.equal(existsSync(s.lockFile), false);
});

Deno.test("a template killed between its snapshot and its start: the re-run starts it, and says why", async () => {
  await using s = await scenario({ status: "stopped" });
  await s.fake.update((state) => {
    state.containers["920"].snapshots.push({ name: "vllm-base-snapshot", flags: [] });
  });
  const run = await s.run();
  assertExit(run, 0);
  assert.deepEqual(await s.calls(), [
    ["status", "920", "--verbose"],
    ["listsnapshot", "920"],
    ["start", "920"],
    ["status", "920"],
  ]);
  assert.match(
    run.stderr,
    /Container 920 is stopped; starting it: template runs end with the container running/,
  );
  assert.match(
    run.stdout,
    /already complete: snapshot 'vllm-base-snapshot' exists\. Started the container, which was stopped\./,
  );
  assert.equal((await s.fake.state()).containers["920"].status, "running");
});

Deno.test("SIGKILL during pip install: the next run refuses while that pip still runs, and goes on once it ended", async () => {
  await using s = await scenario({
    // Only the first pip install hangs; the re-run's works.
    exec: [{ match: PIP_INSTALL, delayMs: 120_000, exit: 1, times: 1 }],
  });
  const child = await s.spawn();
  const pip = await s.waitForPct((argv) => argv.includes("install") && argv.includes("vllm"));
  child.kill("SIGKILL");
  await child.output();
  // Nothing could stop the pip install: it runs on, in a process group of its own.
  assert.equal(await isAlive(pip.pid), true);

  const refused = await s.run();
  assertExit(refused, 7);
  assert.match(
    refused.stderr,
    /A command started by an earlier run for container 920, which was killed, is still running: pct exec 920 -- \/opt\/vllm\/bin\/pip install --no-input vllm \(process group (\d+)\)\. Wait for it to end, or stop it with 'kill -TERM -- -\1', then run again/,
  );
  assert.deepEqual(await s.mutatingCalls(), []);
  const group = Number(/process group (\d+)/.exec(refused.stderr)![1]);

  Deno.kill(-group, "SIGTERM");
  await eventually(
    async () => !await isAlive(pip.pid),
    "the pip install never ended after its process group got SIGTERM",
  );
  await s.fake.clearCalls();
  const rerun = await s.run();
  assertExit(rerun, 0);
  assert.deepEqual((await s.mutatingCalls()).map((argv) => argv[0]), [
    "shutdown",
    "snapshot",
    "start",
  ]);
  assert.equal(existsSync(s.lockFile), false);
});

/** The points where a SIGKILL can land, each made slow so that the kill lands there. */
const KILL_POINTS: {
  name: string;
  slow: (argv: readonly string[]) => boolean;
  rules: Parameters<typeof scenario>[0];
}[] = [
  {
    name: "pct status (before any change)",
    slow: (argv) => argv[0] === "status",
    rules: { failures: [slowSuccess("status")] },
  },
  {
    name: "a read-only check in the container",
    slow: (argv) => argv[0] === "exec",
    rules: { failures: [slowSuccess("exec")] },
  },
  {
    name: "a step's action (pip install)",
    slow: (argv) => argv.includes("install") && argv.includes("vllm"),
    rules: { exec: [{ match: PIP_INSTALL, delayMs: 2000, exit: 1, times: 1 }] },
  },
  {
    name: "pct shutdown",
    slow: (argv) => argv[0] === "shutdown",
    rules: { failures: [slowSuccess("shutdown")] },
  },
  {
    name: "pct snapshot",
    slow: (argv) => argv[0] === "snapshot",
    rules: { failures: [slowSuccess("snapshot")] },
  },
  {
    name: "the final pct start",
    slow: (argv) => argv[0] === "start",
    rules: { failures: [slowSuccess("start")] },
  },
];

/** `pct <command>` does its work, then takes 2 s to say so; once. */
function slowSuccess(command: string): FailureRule {
  return { command, exit: 0, stderr: "", effect: "apply", delayMs: 2000, times: 1 };
}

Deno.test("a SIGKILL at any point: once what it left running has ended, a re-run finishes the template", async (t) => {
  for (const point of KILL_POINTS) {
    await t.step(point.name, async () => {
      await using s = await scenario(point.rules);
      const child = await s.spawn();
      const slow = await s.waitForPct(point.slow);
      child.kill("SIGKILL");
      await child.output();
      await eventually(
        async () => !await isAlive(slow.pid),
        `the slow pct (${point.name}) never ended after the run was killed`,
      );
      const rerun = await s.run();
      assertExit(rerun, 0);
      const container = (await s.fake.state()).containers["920"];
      assert.equal(container.status, "running");
      assert.deepEqual(container.snapshots.map((x) => x.name), ["vllm-base-snapshot"]);
      assert.deepEqual([...Deno.readDirSync(s.lockDir)], [], "no lock or record left");
    });
  }
});
