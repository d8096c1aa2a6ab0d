import assert from "node:assert/strict";
import { CommandError } from "../../../lib/core/command_text.ts";
import {
  type ContainerKind,
  type ContainerModule,
  defineContainer,
  type Step,
} from "../../../lib/module/container_module.ts";
import { SetupError } from "../../../lib/core/errors.ts";
import { ExitCode } from "../../../lib/core/exit_codes.ts";
import {
  performContainerSpecificSetup,
  restorePowerState,
  type SetupRun,
  SHUTDOWN_GRACE_SECONDS,
  START_CONFIRM_SECONDS,
} from "../../../lib/pattern/flow.ts";
import {
  type ExecRule,
  type FakeContainer,
  InMemoryPct,
  literally,
} from "../../fake_pct/in_memory.ts";
import { NestingPending } from "../../../lib/steps/docker.ts";
import { rejectsWith } from "../../support/assertions.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { type TestContext, testContext } from "../../support/setup_context.ts";

const CTID = "920";
const SNAPSHOT = "vllm-base-snapshot";
const TIMEOUT = 45;
const BASE = "/etc/phoenix/base-tools";
const LOCALE = "/etc/phoenix/locale";

function fileStep(name: string, path: string): Step<undefined> {
  return {
    name,
    check: (ctx) => ctx.container.succeeds(["test", "-e", path]),
    action: async (ctx) => void await ctx.container.run(["touch", path]),
  };
}

function testModule(kind: ContainerKind): ContainerModule<undefined> {
  return defineContainer({
    ctid: CTID,
    kind,
    description: "a test container",
    defaultSnapshotName: kind === "template" ? SNAPSHOT : undefined,
    settings: () => undefined,
    steps: [fileStep("Install base tools", BASE), fileStep("Configure locale", LOCALE)],
    verification: [{
      name: "base tools present",
      run: async (ctx) => void await ctx.container.run(["test", "-e", BASE]),
    }],
  });
}

const exec = (...command: string[]) => ["exec", CTID, "--", ...command];

/** The pct exec calls of a first run: both steps run, then the verification. */
const FIRST_RUN_EXECS = [
  exec("test", "-e", BASE),
  exec("touch", BASE),
  exec("test", "-e", BASE),
  exec("test", "-e", LOCALE),
  exec("touch", LOCALE),
  exec("test", "-e", LOCALE),
  exec("test", "-e", BASE),
];

const SHUTDOWN = ["shutdown", CTID, "--timeout", String(TIMEOUT)];

/** The warning of a run that puts a container it shut down back up. */
const STARTED_AGAIN = `Starting container ${CTID} again, as it was running when this run began`;

/** The pct calls after `listsnapshot` and the steps' execs: the shutdown and what followed. */
function callsAfterSteps(model: InMemoryPct): string[][] {
  return model.argvs().slice(FIRST_RUN_EXECS.length + 1);
}
const FORCE_SHUTDOWN = [...SHUTDOWN, "--forceStop", "1"];

/**
 * How often pct status is asked during a timed-out shutdown's grace of 30 s: at once, then after
 * pauses of 0.25, 0.5, 1, 2, 4, 5, 5, 5, 5 and the last 2.25 s.
 */
const GRACE_LOOKS = 11;

interface Scenario {
  readonly kind?: ContainerKind;
  readonly status?: "running" | "stopped";
  /** Names of the container's snapshots, oldest first. */
  readonly snapshots?: string[];
  /** Paths of the files in the container. */
  readonly files?: string[];
  readonly dryRun?: boolean;
  readonly snapshotName?: string;
  /** What `pct exec` answers before its builtins (`test -e`, `touch`, ...). */
  readonly exec?: ExecRule[];
}

function scenario(options: Scenario = {}) {
  const kind = options.kind ?? "template";
  const status = options.status ?? "running";
  const model = new InMemoryPct({
    containers: {
      [CTID]: {
        status,
        snapshots: (options.snapshots ?? []).map((name) => ({ name })),
        files: Object.fromEntries((options.files ?? []).map((path) => [path, { content: "" }])),
      },
    },
    exec: options.exec,
  });
  const ctx: TestContext<undefined> = testContext(model.run, { ctid: CTID });
  const power = ctx.power;
  const run: SetupRun<undefined> = {
    module: testModule(kind),
    ctx,
    status,
    snapshotName: kind === "template" ? (options.snapshotName ?? SNAPSHOT) : undefined,
    dryRun: options.dryRun ?? false,
    shutdownTimeoutSeconds: TIMEOUT,
    clock: new FakeClock(),
  };
  return { model, ctx, power, run, container: model.container(CTID) };
}

const setupError = (promise: Promise<unknown>) => rejectsWith(promise, SetupError);

/** The names of a container's snapshots, oldest first. */
const snapshotNames = (container: FakeContainer) => container.snapshots.map(({ name }) => name);

/** An exec rule that makes `touch path` fail as apt-get would. */
function failingTouch(path: string): ExecRule[] {
  return [{
    match: literally(["touch", path]),
    exit: 100,
    stderr: "E: Unable to locate package vllm\n",
  }];
}

// --- template flow -----------------------------------------------------------------------------

Deno.test("template first run: steps, shutdown, confirm, snapshot, start, confirm", async () => {
  const { model, ctx, power, run, container } = scenario();
  const outcome = await performContainerSpecificSetup(run);
  assert.deepEqual(outcome, { kind: "snapshot-created", snapshot: SNAPSHOT });
  assert.deepEqual(model.argvs(), [
    ["listsnapshot", CTID],
    ...FIRST_RUN_EXECS,
    SHUTDOWN,
    ["status", CTID],
    ["snapshot", CTID, SNAPSHOT],
    ["start", CTID],
    ["status", CTID],
  ]);
  assert.deepEqual(snapshotNames(container), [SNAPSHOT]);
  assert.equal(container.status, "running");
  assert.deepEqual(power, { stoppedByUs: false, startedByUs: false });
  const shutdownCall = model.calls().find((call) => call.argv[1] === "shutdown");
  assert.deepEqual(shutdownCall?.options, { timeoutMs: (2 * TIMEOUT + 30) * 1000 });
  const infos = ctx.log.messages("info");
  assert.ok(infos.includes(`Shutting down container ${CTID} for a clean snapshot`));
  assert.ok(infos.includes(`Snapshot '${SNAPSHOT}' of container ${CTID} created`));
  assert.deepEqual(ctx.log.messages("warn"), []);
  assert.deepEqual(ctx.log.messages("error"), []);
});

Deno.test("template run is idempotent: a second run only lists the snapshots", async () => {
  const first = scenario();
  await performContainerSpecificSetup(first.run);
  const second = scenario({
    snapshots: snapshotNames(first.container),
    files: Object.keys(first.container.files),
  });
  const outcome = await performContainerSpecificSetup(second.run);
  assert.deepEqual(outcome, { kind: "already-complete", snapshot: SNAPSHOT });
  assert.deepEqual(second.model.argvs(), [["listsnapshot", CTID]]);
});

Deno.test("template already complete and running: only pct listsnapshot", async () => {
  const { model, ctx, power, run } = scenario({ snapshots: ["base-snapshot", SNAPSHOT] });
  assert.deepEqual(await performContainerSpecificSetup(run), {
    kind: "already-complete",
    snapshot: SNAPSHOT,
  });
  assert.deepEqual(model.argvs(), [["listsnapshot", CTID]]);
  assert.deepEqual(power, { stoppedByUs: false, startedByUs: false });
  assert.deepEqual(ctx.log.entries, [
    ["info", `Snapshot '${SNAPSHOT}' already exists: template ${CTID} is complete`],
  ]);
});

Deno.test("template already complete but stopped (killed before its start): started, and says why", async () => {
  const { model, ctx, power, run, container } = scenario({
    status: "stopped",
    snapshots: ["base-snapshot", SNAPSHOT],
  });
  assert.deepEqual(await performContainerSpecificSetup(run), {
    kind: "already-complete",
    snapshot: SNAPSHOT,
    started: true,
  });
  // The start is confirmed by pct status (an HA-managed container's start is only a request).
  assert.deepEqual(model.argvs(), [["listsnapshot", CTID], ["start", CTID], ["status", CTID]]);
  assert.equal(container.status, "running");
  // Running as every template run ends: nothing for a later failure to undo.
  assert.deepEqual(power, { stoppedByUs: false, startedByUs: false });
  assert.deepEqual(ctx.log.messages("warn"), [
    `Container ${CTID} is stopped; starting it: template runs end with the container running ` +
    "(a run killed between its snapshot and its start leaves it stopped)",
  ]);
});

Deno.test("template already complete but stopped, in a dry run: says it would start it", async () => {
  const { model, ctx, run } = scenario({
    status: "stopped",
    snapshots: [SNAPSHOT],
    dryRun: true,
  });
  assert.deepEqual(await performContainerSpecificSetup(run), { kind: "dry-run" });
  assert.deepEqual(model.argvs(), [["listsnapshot", CTID]]);
  assert.match(ctx.log.messages("info").join("\n"), /\[dry-run\] Would start container 920/);
});

Deno.test("template whose snapshot name is only a suffix of an existing one is not complete", async () => {
  const { model, run, container } = scenario({
    snapshotName: "base-snapshot",
    snapshots: [SNAPSHOT],
  });
  assert.deepEqual(await performContainerSpecificSetup(run), {
    kind: "snapshot-created",
    snapshot: "base-snapshot",
  });
  assert.deepEqual(snapshotNames(container), [SNAPSHOT, "base-snapshot"]);
  assert.ok(model.subcommands().includes("snapshot"));
});

Deno.test("template on a stopped container: started first, snapshotted, left running", async () => {
  const { model, ctx, power, run, container } = scenario({ status: "stopped" });
  const outcome = await performContainerSpecificSetup(run);
  assert.deepEqual(outcome, { kind: "snapshot-created", snapshot: SNAPSHOT });
  assert.deepEqual(model.argvs(), [
    ["listsnapshot", CTID],
    ["start", CTID],
    ["status", CTID],
    ...FIRST_RUN_EXECS,
    SHUTDOWN,
    ["status", CTID],
    ["snapshot", CTID, SNAPSHOT],
    ["start", CTID],
    ["status", CTID],
  ]);
  assert.equal(container.status, "running");
  assert.deepEqual(power, { stoppedByUs: false, startedByUs: false });
  assert.ok(ctx.log.messages("info").includes(`Container ${CTID} is stopped; starting it`));
});

Deno.test("template skips steps already done and still snapshots", async () => {
  const { model, run } = scenario({ files: [BASE, LOCALE] });
  await performContainerSpecificSetup(run);
  assert.deepEqual(model.execs(), [
    ["test", "-e", BASE],
    ["test", "-e", LOCALE],
    ["test", "-e", BASE],
  ]);
  assert.ok(model.subcommands().includes("snapshot"));
});

Deno.test("template with a failing step: no shutdown, no snapshot, ExitCode.Step", async () => {
  const { model, run, container, power } = scenario({ exec: failingTouch(LOCALE) });
  const error = await setupError(performContainerSpecificSetup(run));
  assert.equal(error.exitCode, ExitCode.Step);
  assert.equal(error.phase, 'step "Configure locale"');
  assert.match(error.message, /^Step 2\/2 "Configure locale" failed: In container 920: touch /);
  assert.match(error.message, /E: Unable to locate package vllm$/);
  assert.deepEqual(model.mutatingCalls(), []);
  assert.deepEqual(model.subcommands().filter((s) => s !== "exec"), ["listsnapshot"]);
  assert.deepEqual(snapshotNames(container), []);
  assert.equal(container.status, "running");
  assert.deepEqual(power, { stoppedByUs: false, startedByUs: false });
});

Deno.test("template with a failing step on a container it started: shut down again", async () => {
  const { model, ctx, run, container, power } = scenario({
    status: "stopped",
    exec: failingTouch(BASE),
  });
  const error = await setupError(performContainerSpecificSetup(run));
  assert.equal(error.exitCode, ExitCode.Step);
  assert.deepEqual(model.mutatingCalls(), [["start", CTID], FORCE_SHUTDOWN]);
  assert.equal(container.status, "stopped");
  assert.deepEqual(snapshotNames(container), []);
  assert.deepEqual(power, { stoppedByUs: false, startedByUs: false });
  assert.ok(
    ctx.log.messages("warn").includes(
      `Shutting container ${CTID} down again, as it was stopped when this run began`,
    ),
  );
});

Deno.test("template with a failing verification: no snapshot, ExitCode.Verification", async () => {
  // The steps "succeed" but the verification's command (the fifth test -e) fails.
  let tests = 0;
  const exec: ExecRule[] = [{
    match: "^test -e ",
    reply: (argv, container) =>
      ++tests > 4 ? { exit: 1, stderr: "missing\n" } : { exit: argv[2] in container.files ? 0 : 1 },
  }];
  const { model, run, container } = scenario({ exec });
  const error = await setupError(performContainerSpecificSetup(run));
  assert.equal(error.exitCode, ExitCode.Verification);
  assert.equal(error.phase, 'verification "base tools present"');
  assert.deepEqual(model.mutatingCalls(), []);
  assert.deepEqual(snapshotNames(container), []);
});

Deno.test("template whose shutdown times out: looked at again for the grace, left running, ExitCode.Lifecycle", async () => {
  const { model, ctx, run, container, power } = scenario();
  model.failNext("shutdown", { stderr: "container did not stop\n" });
  const error = await setupError(performContainerSpecificSetup(run));
  assert.equal(error.exitCode, ExitCode.Lifecycle);
  assert.equal(error.phase, "shutdown");
  assert.equal(
    error.message,
    `Container ${CTID} did not shut down within ${TIMEOUT} s (it reports 'running' ` +
      `${SHUTDOWN_GRACE_SECONDS} s later; the clean shutdown pct asked for may still happen: ` +
      `check 'pct status ${CTID}' before anything else): pct shutdown ${CTID} --timeout ` +
      `${TIMEOUT} failed with exit code 255: container did not stop`,
  );
  assert.ok(error.cause instanceof CommandError);
  const after = callsAfterSteps(model);
  assert.deepEqual(after, [SHUTDOWN, ...Array(GRACE_LOOKS).fill(["status", CTID])]);
  assert.equal(container.status, "running");
  assert.deepEqual(snapshotNames(container), []);
  assert.deepEqual(power, { stoppedByUs: false, startedByUs: false });
  assert.match(
    ctx.log.messages("warn")[0],
    /gave up after 45 s; the clean shutdown it asked for still stands/,
  );
  assert.match(
    ctx.log.messages("info").join("\n"),
    /Waiting for container 920 to report 'stopped' after all: attempt 1: 'running'/,
  );
});

Deno.test("template whose timed-out shutdown goes down during the grace: snapshotted after all", async () => {
  const { model, ctx, run, container, power } = scenario();
  // pct gives up, but the clean shutdown it asked for happens: the first look still sees it
  // running, the second sees it stopped.
  model.failNext("shutdown", { stderr: "container did not stop\n", effect: "apply" });
  model.failNext("status", { exit: 0, stderr: "", stdout: "status: running\n" });
  const outcome = await performContainerSpecificSetup(run);
  assert.deepEqual(outcome, { kind: "snapshot-created", snapshot: SNAPSHOT });
  assert.deepEqual(callsAfterSteps(model), [
    SHUTDOWN,
    ["status", CTID],
    ["status", CTID],
    ["snapshot", CTID, SNAPSHOT],
    ["start", CTID],
    ["status", CTID],
  ]);
  assert.deepEqual(snapshotNames(container), [SNAPSHOT]);
  assert.equal(container.status, "running");
  assert.deepEqual(power, { stoppedByUs: false, startedByUs: false });
  assert.ok(
    ctx.log.messages("info").includes(
      `Container ${CTID} went down after its shutdown timed out; going on`,
    ),
  );
});

Deno.test("template whose failed shutdown leaves it running, on a container it started: force-stopped", async () => {
  const { model, run, container, power } = scenario({ status: "stopped" });
  model.failNext("shutdown", { stderr: "container did not stop\n" });
  const error = await setupError(performContainerSpecificSetup(run));
  assert.equal(error.exitCode, ExitCode.Lifecycle);
  assert.deepEqual(model.mutatingCalls(), [["start", CTID], SHUTDOWN, FORCE_SHUTDOWN]);
  assert.equal(container.status, "stopped");
  assert.deepEqual(power, { stoppedByUs: false, startedByUs: false });
});

Deno.test("template whose status is unknown after a failed shutdown: start tried, running found", async () => {
  const { model, ctx, run } = scenario();
  model.failNext("shutdown", { stderr: "container did not stop\n" });
  // Status unknown all through the grace: the flow assumes it stopped and starts it; pct
  // refuses (it runs), and a last look says so: nothing to restore, the shutdown failure stands.
  for (let i = 0; i < GRACE_LOOKS; i++) model.failNext("status", { stderr: "got timeout\n" });
  const error = await setupError(performContainerSpecificSetup(run));
  assert.equal(error.exitCode, ExitCode.Lifecycle);
  assert.equal(error.phase, "shutdown");
  assert.match(error.message, /reports 'unknown \(pct status failed\)' 30 s later/);
  const after = callsAfterSteps(model).filter((argv) => argv[0] !== "status");
  assert.deepEqual(after, [SHUTDOWN, ["start", CTID]]);
  assert.deepEqual(ctx.log.messages("error"), []);
  assert.ok(
    ctx.log.messages("info").includes(`Container ${CTID} is running: it had not shut down`),
  );
});

Deno.test("template whose power state cannot be restored still reports the shutdown failure", async () => {
  const { model, ctx, run } = scenario();
  model.failNext("shutdown", { stderr: "container did not stop\n" });
  for (let i = 0; i < GRACE_LOOKS + 1; i++) model.failNext("status", { stderr: "got timeout\n" });
  model.failNext("start", { stderr: "CT is locked (snapshot)\n" });
  const error = await setupError(performContainerSpecificSetup(run));
  assert.equal(error.exitCode, ExitCode.Lifecycle);
  assert.equal(error.phase, "shutdown");
  assert.deepEqual(ctx.log.messages("error"), [
    `Could not restore container ${CTID}'s power state: pct start ${CTID} failed with exit code ` +
    `255: CT is locked (snapshot); check it with 'pct status ${CTID}'`,
  ]);
});

Deno.test("template still running after a successful shutdown (an HA request not acted on): ExitCode.Lifecycle, no snapshot", async () => {
  const { model, ctx, run, container } = scenario();
  model.failNext("shutdown", { exit: 0, stderr: "" });
  const error = await setupError(performContainerSpecificSetup(run));
  assert.equal(error.exitCode, ExitCode.Lifecycle);
  assert.equal(error.phase, "shutdown");
  assert.equal(
    error.message,
    `Container ${CTID} reports 'running' ${TIMEOUT} s after its shutdown`,
  );
  assert.equal(model.subcommands().includes("snapshot"), false);
  assert.deepEqual(snapshotNames(container), []);
  assert.match(
    ctx.log.messages("info").join("\n"),
    /Waiting for container 920 to report 'stopped': attempt 1: 'running'/,
  );
});

Deno.test("template whose shutdown is only a request (HA): waits for the state, then snapshots", async () => {
  const { model, ctx, run, container } = scenario();
  // The HA manager acts a moment later: pct exits 0 at once, the first look still sees it run.
  model.failNext("shutdown", { exit: 0, stderr: "", effect: "apply" });
  model.failNext("status", { exit: 0, stderr: "", stdout: "status: running\n" });
  const outcome = await performContainerSpecificSetup(run);
  assert.deepEqual(outcome, { kind: "snapshot-created", snapshot: SNAPSHOT });
  assert.deepEqual(callsAfterSteps(model).slice(0, 4), [
    SHUTDOWN,
    ["status", CTID],
    ["status", CTID],
    ["snapshot", CTID, SNAPSHOT],
  ]);
  assert.deepEqual(snapshotNames(container), [SNAPSHOT]);
  assert.ok(
    ctx.log.messages("info").some((line) =>
      line.startsWith("Waiting for container 920 to report 'stopped'")
    ),
  );
});

Deno.test("template whose snapshot fails: started again, ExitCode.Snapshot", async () => {
  const { model, ctx, run, container, power } = scenario();
  model.failNext("snapshot", { stderr: "snapshot feature is not available\n" });
  const error = await setupError(performContainerSpecificSetup(run));
  assert.equal(error.exitCode, ExitCode.Snapshot);
  assert.equal(error.exitCode, 6);
  assert.equal(error.phase, "snapshot");
  assert.equal(
    error.message,
    `Cannot take snapshot '${SNAPSHOT}' of ${CTID}: pct snapshot ${CTID} ${SNAPSHOT} failed ` +
      "with exit code 255: snapshot feature is not available",
  );
  assert.deepEqual(callsAfterSteps(model), [
    SHUTDOWN,
    ["status", CTID],
    ["snapshot", CTID, SNAPSHOT],
    ["start", CTID],
    ["status", CTID],
  ]);
  assert.equal(container.status, "running");
  assert.deepEqual(snapshotNames(container), []);
  assert.equal(power.stoppedByUs, false);
  assert.ok(ctx.log.messages("warn").includes(STARTED_AGAIN));
});

Deno.test("template whose snapshot meets a Proxmox lock: ExitCode.ContainerBusy in its own words, started again", async () => {
  // The lock appears between the run's first look and its snapshot.
  const { model, run, container } = scenario();
  model.failNext("snapshot", { stderr: "CT is locked (backup)\n" });
  const error = await setupError(performContainerSpecificSetup(run));
  assert.equal(error.exitCode, ExitCode.ContainerBusy);
  assert.equal(error.phase, "snapshot");
  assert.match(
    error.message,
    /^Cannot take snapshot 'vllm-base-snapshot' of 920: Container 920 is locked by Proxmox \(lock: backup\): a backup \(vzdump\) of it is running; wait for the backup to finish, then run this again/,
  );
  assert.equal(container.status, "running");
});

Deno.test("template whose start after the snapshot fails: ExitCode.Lifecycle, snapshot kept", async () => {
  const { model, run, container, power } = scenario();
  model.failNext("start", { stderr: `container did not start\n` });
  const error = await setupError(performContainerSpecificSetup(run));
  assert.equal(error.exitCode, ExitCode.Lifecycle);
  assert.equal(error.phase, "start");
  assert.equal(
    error.message,
    `Snapshot taken, but container ${CTID} did not start again: pct start ${CTID} failed with ` +
      "exit code 255: container did not start",
  );
  assert.deepEqual(snapshotNames(container), [SNAPSHOT]);
  assert.equal(container.status, "stopped");
  assert.equal(power.stoppedByUs, true, "an interrupt handler would know to start it");
  assert.deepEqual(model.argvs().at(-1), ["start", CTID]);
});

Deno.test("template not running after its final start: ExitCode.Lifecycle", async () => {
  const { model, run } = scenario();
  model.failNext("start", { exit: 0, stderr: "" });
  const error = await setupError(performContainerSpecificSetup(run));
  assert.equal(error.exitCode, ExitCode.Lifecycle);
  assert.equal(error.phase, "start");
  assert.equal(
    error.message,
    `Container ${CTID} reports 'stopped' ${START_CONFIRM_SECONDS} s after its start`,
  );
});

Deno.test("template on a stopped container whose start meets a Proxmox lock: ExitCode.ContainerBusy, no step runs", async () => {
  const { model, run, power } = scenario({ status: "stopped" });
  model.failNext("start", { stderr: "CT is locked (backup)\n" });
  const error = await setupError(performContainerSpecificSetup(run));
  assert.equal(error.exitCode, ExitCode.ContainerBusy);
  assert.equal(error.phase, "start");
  assert.match(
    error.message,
    /^Cannot start container 920: Container 920 is locked by Proxmox \(lock: backup\): a backup/,
  );
  assert.deepEqual(model.argvs(), [["listsnapshot", CTID], ["start", CTID]]);
  assert.deepEqual(power, { stoppedByUs: false, startedByUs: false });
});

Deno.test("a start that meets pct's configuration lock timeout says so: ExitCode.ContainerBusy", async () => {
  const { model, run } = scenario({ status: "stopped" });
  model.failNext("start", {
    stderr: "can't lock file '/run/lock/lxc/pve-config-920.lock' - got timeout\n",
  });
  const error = await setupError(performContainerSpecificSetup(run));
  assert.equal(error.exitCode, ExitCode.ContainerBusy);
  assert.equal(
    error.message,
    "Cannot start container 920: another Proxmox operation on container 920 held its " +
      "configuration lock (/run/lock/lxc/pve-config-920.lock) for over 10 s. Wait for it to " +
      "finish (see the node's task list), then run this again",
  );
});

Deno.test("a template run needs a snapshot name", () => {
  const { run, model } = scenario();
  assert.throws(
    () => performContainerSpecificSetup({ ...run, snapshotName: undefined }),
    { name: "TypeError", message: "A template run needs a snapshot name" },
  );
  assert.deepEqual(model.calls(), []);
});

// --- dry runs ----------------------------------------------------------------------------------

Deno.test("template dry run on a running container: only listsnapshot and the checks", async () => {
  const { model, ctx, run, container } = scenario({ dryRun: true, files: [BASE] });
  assert.deepEqual(await performContainerSpecificSetup(run), { kind: "dry-run" });
  assert.deepEqual(model.argvs(), [
    ["listsnapshot", CTID],
    exec("test", "-e", BASE),
    exec("test", "-e", LOCALE),
  ]);
  assert.deepEqual(model.mutatingCalls(), []);
  assert.deepEqual(Object.keys(container.files), [BASE]);
  assert.deepEqual(ctx.log.entries, [
    ["info", 'Step 1/2 "Install base tools": check: already done, skipping'],
    ["info", '[dry-run] Step 2/2 "Configure locale": check: not done yet; would run:'],
    ["info", "[dry-run]   pct exec 920 -- touch /etc/phoenix/locale"],
    ["info", '[dry-run] Would verify: "base tools present"'],
    ["info", `[dry-run] Would shut down container ${CTID} (timeout ${TIMEOUT} s)`],
    ["info", `[dry-run] Would take snapshot '${SNAPSHOT}'`],
    ["info", `[dry-run] Would start container ${CTID} again`],
  ]);
});

Deno.test("template dry run on a stopped container: no pct exec, no start", async () => {
  const { model, ctx, run, container } = scenario({ dryRun: true, status: "stopped" });
  assert.deepEqual(await performContainerSpecificSetup(run), { kind: "dry-run" });
  assert.deepEqual(model.argvs(), [["listsnapshot", CTID]]);
  assert.equal(container.status, "stopped");
  assert.deepEqual(ctx.log.messages("info").slice(0, 3), [
    `[dry-run] Would start container ${CTID} (stopped now)`,
    '[dry-run] Would check, and run unless already done: "Install base tools"',
    '[dry-run] Would check, and run unless already done: "Configure locale"',
  ]);
});

Deno.test("template dry run when already complete reports already-complete", async () => {
  const { model, run } = scenario({ dryRun: true, snapshots: [SNAPSHOT] });
  assert.deepEqual(await performContainerSpecificSetup(run), {
    kind: "already-complete",
    snapshot: SNAPSHOT,
  });
  assert.deepEqual(model.argvs(), [["listsnapshot", CTID]]);
});

Deno.test("standard dry run: only the checks up to the first step to do, no snapshot talk", async () => {
  const { model, ctx, run } = scenario({ kind: "standard", dryRun: true });
  assert.deepEqual(await performContainerSpecificSetup(run), { kind: "dry-run" });
  // Step 2's check is not run: step 1 would run first, and step 2 may depend on it.
  assert.deepEqual(model.argvs(), [exec("test", "-e", BASE)]);
  assert.ok(
    ctx.log.messages("info").includes(
      '[dry-run] Step 2/2 "Configure locale": not checked: depends on step 1, which would run first',
    ),
  );
  assert.equal(ctx.log.entries.some(([, m]) => m.includes("snapshot")), false);
});

// --- standard flow -----------------------------------------------------------------------------

Deno.test("standard flow on a running container: steps and verification only", async () => {
  const { model, run, container, power } = scenario({ kind: "standard" });
  assert.deepEqual(await performContainerSpecificSetup(run), { kind: "completed" });
  assert.deepEqual(model.argvs(), FIRST_RUN_EXECS);
  assert.equal(container.status, "running");
  assert.deepEqual(snapshotNames(container), []);
  assert.deepEqual(power, { stoppedByUs: false, startedByUs: false });
});

Deno.test("standard flow on a stopped container: started first and left running", async () => {
  const { model, run, container, power } = scenario({ kind: "standard", status: "stopped" });
  assert.deepEqual(await performContainerSpecificSetup(run), { kind: "completed" });
  assert.deepEqual(model.argvs(), [["start", CTID], ["status", CTID], ...FIRST_RUN_EXECS]);
  assert.equal(container.status, "running");
  assert.equal(power.startedByUs, true);
});

Deno.test("standard flow with a failing step on a container it started: shut down again", async () => {
  const { model, run, container } = scenario({
    kind: "standard",
    status: "stopped",
    exec: failingTouch(LOCALE),
  });
  const error = await setupError(performContainerSpecificSetup(run));
  assert.equal(error.exitCode, ExitCode.Step);
  assert.deepEqual(model.mutatingCalls(), [["start", CTID], FORCE_SHUTDOWN]);
  assert.equal(container.status, "stopped");
});

Deno.test("standard flow with a failing step on a running container: left running", async () => {
  const { model, run, container } = scenario({ kind: "standard", exec: failingTouch(BASE) });
  const error = await setupError(performContainerSpecificSetup(run));
  assert.equal(error.exitCode, ExitCode.Step);
  assert.deepEqual(model.mutatingCalls(), []);
  assert.equal(container.status, "running");
});

// --- restorePowerState -------------------------------------------------------------------------

Deno.test("restorePowerState starts a container this run shut down", async () => {
  const { model, ctx } = scenario({ status: "stopped" });
  Object.assign(ctx.power, { stoppedByUs: true, startedByUs: false });
  await restorePowerState(ctx, TIMEOUT);
  // The start confirmed by pct status.
  assert.deepEqual(model.argvs(), [["start", CTID], ["status", CTID]]);
  assert.deepEqual(ctx.power, { stoppedByUs: false, startedByUs: false });
});

Deno.test("restorePowerState force-stops a container this run started", async () => {
  const { model, ctx } = scenario({ status: "running" });
  Object.assign(ctx.power, { stoppedByUs: false, startedByUs: true });
  await restorePowerState(ctx, 10);
  // It looks first (running), then shuts it down and confirms that it stopped.
  assert.deepEqual(model.argvs(), [
    ["status", CTID],
    ["shutdown", CTID, "--timeout", "10", "--forceStop", "1"],
    ["status", CTID],
  ]);
  assert.deepEqual(ctx.power, { stoppedByUs: false, startedByUs: false });
});

Deno.test("restorePowerState goes by the state it finds: a container already stopped is left so", async () => {
  const { model, ctx } = scenario({ status: "stopped" });
  Object.assign(ctx.power, { stoppedByUs: false, startedByUs: true });
  await restorePowerState(ctx, 10);
  assert.deepEqual(model.argvs(), [["status", CTID]]);
  assert.deepEqual(ctx.power, { stoppedByUs: false, startedByUs: false });
  assert.deepEqual(ctx.log.messages("info"), [
    `Container ${CTID} is stopped, as it was when this run began`,
  ]);
});

Deno.test("restorePowerState waits for an HA start request to take effect", async () => {
  const { model, ctx } = scenario({ status: "stopped" });
  Object.assign(ctx.power, { stoppedByUs: true, startedByUs: false });
  // pct start exits 0 at once (a request to the HA manager); the first look still sees it stopped.
  model.failNext("start", {
    exit: 0,
    stderr: "",
    stdout: "Requesting HA start for CT 920\n",
    effect: "apply",
  });
  model.failNext("status", { exit: 0, stderr: "", stdout: "status: stopped\n" });
  const clock = new FakeClock();
  await restorePowerState(ctx, TIMEOUT, clock);
  assert.deepEqual(model.argvs(), [["start", CTID], ["status", CTID], ["status", CTID]]);
  assert.deepEqual(clock.sleeps, [250]);
  assert.deepEqual(ctx.power, { stoppedByUs: false, startedByUs: false });
});

Deno.test("restorePowerState does nothing when the run changed nothing", async () => {
  const { model, ctx } = scenario();
  await restorePowerState(ctx, TIMEOUT);
  assert.deepEqual(model.calls(), []);
  assert.deepEqual(ctx.log.entries, []);
});

Deno.test("restorePowerState logs, never throws, when pct fails", async () => {
  const { model, ctx } = scenario({ status: "stopped" });
  model.failNext("start", { stderr: "CT is locked (rollback)\n" });
  Object.assign(ctx.power, { stoppedByUs: true, startedByUs: false });
  await restorePowerState(ctx, TIMEOUT);
  assert.equal(ctx.power.stoppedByUs, true, "still stopped by this run");
  assert.deepEqual(ctx.log.messages("error"), [
    `Could not restore container ${CTID}'s power state: pct start ${CTID} failed with exit code ` +
    `255: CT is locked (rollback); check it with 'pct status ${CTID}'`,
  ]);
});

// --- pct failures around the snapshot: always a SetupError, never a stopped template ----------

Deno.test("template whose pct status after the shutdown fails: started again, ExitCode.Lifecycle", async () => {
  const { model, run, container, power } = scenario();
  // The shutdown succeeds (the container is down), then pct cannot answer any more.
  model.state.failures.push({ command: "status", stderr: "got timeout\n" });
  const error = await setupError(performContainerSpecificSetup(run));
  assert.equal(error.exitCode, ExitCode.Lifecycle);
  assert.equal(error.phase, "shutdown");
  assert.equal(
    error.message,
    `Container ${CTID} reports 'unknown (pct status failed)' ${TIMEOUT} s after its shutdown`,
  );
  assert.equal(model.subcommands().includes("snapshot"), false);
  assert.deepEqual(model.argvs().filter((argv) => argv[0] !== "status").at(-1), ["start", CTID]);
  assert.equal(container.status, "running");
  // Its start could not be confirmed either: a signal's cleanup would still try to start it.
  assert.equal(power.stoppedByUs, true);
});

Deno.test("template whose pct listsnapshot fails: a SetupError, nothing changed", async () => {
  const { model, run } = scenario();
  model.failNext("listsnapshot", { stderr: "CT is locked (backup)\n" });
  const error = await setupError(performContainerSpecificSetup(run));
  assert.equal(error.exitCode, ExitCode.Snapshot);
  assert.match(error.message, /CT is locked \(backup\)/);
  assert.deepEqual(model.argvs(), [["listsnapshot", CTID]]);
});

Deno.test("template whose pct status after the final start fails: ExitCode.Lifecycle", async () => {
  const { model, run } = scenario();
  model.failNext("status", { exit: 0, stdout: "status: stopped\n", stderr: "" });
  model.state.failures.push({ command: "status", stderr: "got timeout\n" });
  const error = await setupError(performContainerSpecificSetup(run));
  assert.equal(error.exitCode, ExitCode.Lifecycle);
  assert.equal(error.phase, "start");
  assert.equal(
    error.message,
    `Container ${CTID} reports 'unknown (pct status failed)' ${START_CONFIRM_SECONDS} s after ` +
      "its start",
  );
});

Deno.test("template found stopped whose snapshot fails: left stopped, as it was found", async () => {
  const { model, run, container, power } = scenario({ status: "stopped" });
  model.failNext("snapshot", { stderr: "snapshot feature is not available\n" });
  const error = await setupError(performContainerSpecificSetup(run));
  assert.equal(error.exitCode, ExitCode.Snapshot);
  assert.equal(container.status, "stopped");
  assert.deepEqual(model.argvs().at(-1), ["snapshot", CTID, SNAPSHOT]);
  assert.deepEqual(power, { stoppedByUs: false, startedByUs: false });
});

// --- pending nesting ---------------------------------------------------------------------------

/** A module whose one step's check finds nesting=1 only pending until the container restarts. */
function pendingNestingModule(kind: ContainerKind): ContainerModule<undefined> {
  return defineContainer({
    ctid: CTID,
    kind,
    description: "a Docker container",
    defaultSnapshotName: kind === "template" ? SNAPSHOT : undefined,
    settings: () => undefined,
    steps: [{
      name: "Check nesting",
      check: async (ctx) => {
        const features = (await ctx.pct.config(ctx.ctid)).get("features")?.[0];
        if (features !== "nesting=1") throw new NestingPending("nesting=1 is pending");
        return true;
      },
      action: () => Promise.resolve(),
    }],
    verification: [],
  });
}

Deno.test("template with nesting=1 pending: restarted (confirmed), steps checked again, snapshotted", async () => {
  const { model, ctx, run, container, power } = scenario();
  container.pending = { features: "nesting=1" };
  const outcome = await performContainerSpecificSetup({
    ...run,
    module: pendingNestingModule("template"),
  });
  assert.deepEqual(outcome, { kind: "snapshot-created", snapshot: SNAPSHOT });
  assert.deepEqual(model.argvs().slice(0, 7), [
    ["listsnapshot", CTID],
    ["config", CTID, "--current", "1"],
    SHUTDOWN,
    ["status", CTID],
    ["start", CTID],
    ["status", CTID],
    ["config", CTID, "--current", "1"],
  ]);
  assert.equal(container.config.features, "nesting=1");
  assert.deepEqual(power, { stoppedByUs: false, startedByUs: false });
  assert.ok(
    ctx.log.messages("warn")[0].startsWith(
      `Container ${CTID} has nesting=1 only as a pending change`,
    ),
  );
});

Deno.test("standard container with nesting=1 pending: not restarted, the run says a restart is needed", async () => {
  const { model, run, container } = scenario({ kind: "standard" });
  container.pending = { features: "nesting=1" };
  const error = await setupError(
    performContainerSpecificSetup({ ...run, module: pendingNestingModule("standard") }),
  );
  assert.equal(error.exitCode, ExitCode.HostPrerequisite);
  assert.match(error.message, /nesting=1 is pending/);
  assert.deepEqual(model.mutatingCalls(), []);
  assert.equal(container.status, "running");
});
