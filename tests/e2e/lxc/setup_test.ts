/**
 * The compiled setup executables (built from the test-only modules in `./modules/` through
 * `build.ts`) against real busybox containers driven by the `pct` stand-in: exit codes, messages,
 * log lines and the containers' real state afterwards. Skipped (reported as ignored, with the
 * reason) where LXC cannot run containers.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type LxcLab, lxcSupport, lxcTest } from "./harness.ts";
import {
  assertLogged,
  callsBesidesExec,
  describe,
  executableFor,
  NODE,
  pctCalls,
  SetupBench,
  SHUTDOWN_TIMEOUT,
} from "./_setup_runs.ts";
import { APP_CONF, APP_CONF_CONTENT, SERVICE, SERVICE_CONTENT } from "./modules/801.ts";
import { PAGE, URL_INSIDE } from "./modules/802.ts";
import { MARKER } from "./modules/803.ts";
import { assertExit } from "../../support/assertions.ts";

const support = await lxcSupport();
if (!support.ok) console.warn(`lxc: setup tests ignored: ${support.reason}`);

const SNAPSHOT = "test-base-snapshot";
/** Written by the lab's busybox init on a clean halt only, removed at boot. */
const CLEAN_SHUTDOWN_MARKER = "/var/log/lab-clean-shutdown";

/** An `lxc:` test with a fresh lab and a bench of setup runs in it. */
function setupTest(name: string, fn: (bench: SetupBench, lab: LxcLab) => Promise<void>): void {
  lxcTest(support, name, async (lab) => fn(await SetupBench.create(lab), lab));
}

/** Creates container `ctid` in the lab and starts it (booted, like the orchestrator leaves it). */
async function runningContainer(
  lab: LxcLab,
  ctid: string,
  options: { initIgnoresShutdown?: boolean } = {},
): Promise<string> {
  await lab.createContainer(ctid, options);
  await lab.start(ctid);
  const boot = await lab.bootId(ctid);
  assert.ok(boot, `container ${ctid} has no init after start`);
  return boot;
}

/** Asserts the 801 template's three effects in the running container. */
async function assertTemplateInPlace(lab: LxcLab): Promise<void> {
  assert.equal(await lab.readFile("801", APP_CONF), APP_CONF_CONTENT);
  const service = await lab.attach("801", [SERVICE]);
  assert.deepEqual([service.code, service.stdout], [0, "phoenix-service is alive\n"]);
  assert.equal((await lab.attach("801", ["id", "-u", "phoenix"])).stdout, "1000\n");
}

/** Asserts that `SNAPSHOT` is 801's only snapshot and holds the template's effects. */
async function assertCleanSnapshot(lab: LxcLab): Promise<void> {
  assert.deepEqual((await lab.snapshots("801")).map((s) => s.name), [SNAPSHOT]);
  assert.equal(await lab.readSnapshotFile("801", SNAPSHOT, APP_CONF), APP_CONF_CONTENT);
  assert.equal(await lab.readSnapshotFile("801", SNAPSHOT, SERVICE), SERVICE_CONTENT);
  assert.match(await lab.readSnapshotFile("801", SNAPSHOT, "/etc/passwd"), /^phoenix:x:1000:/m);
  // Taken after init's clean halt, not from a running or killed container.
  await lab.readSnapshotFile("801", SNAPSHOT, CLEAN_SHUTDOWN_MARKER);
}

/** The files in the lock directory: none once every run has ended. */
async function lockFiles(bench: SetupBench): Promise<string[]> {
  const names = [];
  try {
    for await (const entry of Deno.readDir(bench.lockDir)) names.push(entry.name);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return names;
}

/** The template flow's container-level calls when the container was found running. */
const TEMPLATE_CALLS = [
  "pct status 801 --verbose",
  "pct listsnapshot 801",
  `pct shutdown 801 --timeout ${SHUTDOWN_TIMEOUT}`,
  "pct status 801",
  `pct snapshot 801 ${SNAPSHOT} --description "<stamp>"`,
  "pct start 801",
  "pct status 801",
];

if (support.ok) {
  // Build the four executables before the first test's clock starts, two at a time.
  await Promise.all([executableFor("801"), executableFor("802")]);
  await Promise.all([executableFor("803"), executableFor("804")]);
}

setupTest("a first template run sets it up, snapshots it clean and starts it again", async (
  bench,
  lab,
) => {
  await runningContainer(lab, "801");
  const run = await bench.run("801");
  assertExit(run, 0);
  const closing = `Setup for template 801 completed successfully. ` +
    `Snapshot '${SNAPSHOT}' created.`;
  assert.ok(run.stdout.includes(closing), describe(run));
  assert.equal(run.stderr, "");
  assertLogged(run, "INFO", closing);
  assertLogged(run, "INFO", 'Step 1/3 "Create user phoenix": done');
  assertLogged(run, "INFO", `Verification "the user, the config file and the service script`);
  assertLogged(run, "INFO", `Snapshot '${SNAPSHOT}' of container 801 created`);
  assert.deepEqual(callsBesidesExec(run), TEMPLATE_CALLS);
  const calls = pctCalls(run);
  // Every step ran before the shutdown, so the snapshot holds all of them.
  assert.ok(
    calls.indexOf(TEMPLATE_CALLS[2]) > calls.findLastIndex((c) => c.startsWith("pct exec ")),
  );

  await assertCleanSnapshot(lab);
  assert.equal(await lab.status("801"), "running");
  await lab.waitForBoot("801");
  await assertTemplateInPlace(lab);
  assert.deepEqual(await lockFiles(bench), []);
});

setupTest("a re-run of a finished template changes nothing and never stops it", async (
  bench,
  lab,
) => {
  await runningContainer(lab, "801");
  assertExit(await bench.run("801"), 0);
  await lab.waitForBoot("801");
  const boot = await lab.bootId("801");
  const before = await lab.snapshots("801");

  const again = await bench.run("801");
  assertExit(again, 0);
  assert.match(
    again.stdout,
    /Setup for template 801 already complete: snapshot 'test-base-snapshot' exists\. Nothing to do\.\n$/,
  );
  assert.equal(again.stderr, "");
  assert.deepEqual(pctCalls(again), ["pct status 801 --verbose", "pct listsnapshot 801"]);
  assert.deepEqual(await lab.snapshots("801"), before, "no new snapshot");
  assert.equal(await lab.bootId("801"), boot, "the same init: never stopped or restarted");
});

setupTest(
  "a template that Proxmox holds locked (backup) is refused before the first change",
  async (
    bench,
    lab,
  ) => {
    const boot = await runningContainer(lab, "801");
    await lab.setLock("801", "backup");
    const run = await bench.run("801");
    assertExit(run, 13);
    assertLogged(
      run,
      "ERROR",
      "Container 801 is locked by Proxmox (lock: backup): a backup (vzdump) of it is running",
    );
    assert.deepEqual(pctCalls(run), ["pct status 801 --verbose", "pct listsnapshot 801"]);
    assert.deepEqual(await lab.snapshots("801"), []);
    assert.equal(await lab.bootId("801"), boot, "never stopped");
  },
);

setupTest("a half-made snapshot (its commit never happened) is repaired and taken anew", async (
  bench,
  lab,
) => {
  await runningContainer(lab, "801");
  assertExit(await bench.run("801"), 0);
  // The template's snapshot as a `pct snapshot` killed between prepare and commit leaves it, an
  // hour ago; the container stopped, as the run had shut it down for the snapshot.
  const stop = await lab.pct(["stop", "801"]);
  assert.equal(stop.code, 0, stop.stderr);
  const hourAgo = new Date(Date.now() - 3_600_000);
  const two = (n: number) => String(n).padStart(2, "0");
  await lab.halfMakeSnapshot(
    "801",
    SNAPSHOT,
    `${hourAgo.getFullYear()}-${two(hourAgo.getMonth() + 1)}-${two(hourAgo.getDate())} ` +
      `${two(hourAgo.getHours())}:${two(hourAgo.getMinutes())}:${two(hourAgo.getSeconds())}`,
  );
  const config = await lab.pct(["config", "801", "--snapshot", SNAPSHOT]);
  assert.match(config.stdout, /^snapstate: prepare$/m, config.stderr);

  const run = await bench.run("801");
  assertExit(run, 0);
  assertLogged(run, "WARN", `Found the snapshot '${SNAPSHOT}' of container 801 is half-made`);
  assert.deepEqual(callsBesidesExec(run).slice(0, 7), [
    "pct status 801 --verbose",
    "pct listsnapshot 801",
    `pct config 801 --snapshot ${SNAPSHOT}`,
    "pct unlock 801",
    `pct delsnapshot 801 ${SNAPSHOT} --force 1`,
    "pct start 801",
    "pct status 801",
  ]);
  const snapshots = await lab.snapshots("801");
  assert.deepEqual(snapshots.map((x) => x.name), [SNAPSHOT]);
  const after = await lab.pct(["config", "801", "--snapshot", SNAPSHOT]);
  assert.doesNotMatch(after.stdout, /snapstate/);
  assert.doesNotMatch((await lab.pct(["config", "801"])).stdout, /^lock:/m);
  assert.equal(await lab.status("801"), "running");
});

setupTest("a template found stopped is started, set up, snapshotted and left running", async (
  bench,
  lab,
) => {
  await lab.createContainer("801");
  const run = await bench.run("801");
  assertExit(run, 0);
  assertLogged(run, "INFO", "Container 801 is stopped; starting it");
  assert.deepEqual(callsBesidesExec(run), [
    "pct status 801 --verbose",
    "pct listsnapshot 801",
    "pct start 801",
    "pct status 801",
    ...TEMPLATE_CALLS.slice(2),
  ]);
  assert.ok(run.stdout.includes(`Snapshot '${SNAPSHOT}' created.`), describe(run));
  await assertCleanSnapshot(lab);
  assert.equal(await lab.status("801"), "running");
  await lab.waitForBoot("801");
  await assertTemplateInPlace(lab);
});

setupTest("a missing container is reported with pct's words, and nothing is created", async (
  bench,
  lab,
) => {
  const run = await bench.run("801");
  assertExit(run, 1);
  const said = `Configuration file 'nodes/${NODE}/lxc/801.conf' does not exist`;
  assert.ok(run.stderr.includes(said), describe(run));
  assertLogged(
    run,
    "ERROR",
    `Container 801 does not exist or pct cannot reach it: pct said: ${said}`,
  );
  assertLogged(run, "FATAL", "Setup for template 801 failed during container check.");
  assert.deepEqual(pctCalls(run), ["pct status 801 --verbose"]);
  assert.equal((await lab.pct(["list"])).stdout, "", "no container");
  assert.equal(await lab.status("801"), "missing");
  assert.deepEqual(await lockFiles(bench), []);
});

setupTest("a failing step stops the run: exit 3, no snapshot, container still running", async (
  bench,
  lab,
) => {
  const boot = await runningContainer(lab, "803");
  const run = await bench.run("803");
  assertExit(run, 3);
  assert.match(
    run.stderr,
    /\[ERROR\] phoenix_hypervisor_setup_803\.sh: Step 2\/2 "Run a command that fails" failed: .*exit code 3: disk full$/m,
  );
  assert.match(
    run.stderr,
    /\[FATAL\] .*Setup for template 803 failed during step "Run a command that fails"\. Exit code 3\.$/m,
  );
  assertLogged(run, "INFO", 'Step 1/2 "Write a marker": done');
  assert.deepEqual(callsBesidesExec(run), ["pct status 803 --verbose", "pct listsnapshot 803"]);
  assert.deepEqual(await lab.snapshots("803"), []);
  assert.equal(await lab.status("803"), "running");
  assert.equal(await lab.bootId("803"), boot, "never stopped");
  assert.equal((await lab.attach("803", ["test", "-f", MARKER])).code, 0, "first step's marker");
});

setupTest("a failing verification: exit 4, no snapshot, container still running", async (
  bench,
  lab,
) => {
  const boot = await runningContainer(lab, "804");
  const run = await bench.run("804");
  assertExit(run, 4);
  assert.match(
    run.stderr,
    /\[ERROR\] .*Verification "a file that no step creates exists" failed: .*test -f \/etc\/does-not-exist failed with exit code 1/,
  );
  assertLogged(
    run,
    "FATAL",
    'Setup for template 804 failed during verification "a file that no step creates exists". Exit code 4.',
  );
  assert.deepEqual(callsBesidesExec(run), ["pct status 804 --verbose", "pct listsnapshot 804"]);
  assert.deepEqual(await lab.snapshots("804"), []);
  assert.equal(await lab.status("804"), "running");
  assert.equal(await lab.bootId("804"), boot, "never stopped");
});

setupTest("a shutdown that does not finish in time: exit 5 within bounds, left running", async (
  bench,
  lab,
) => {
  const boot = await runningContainer(lab, "801", { initIgnoresShutdown: true });
  const run = await bench.run("801", { shutdownTimeout: 2, killAfterMs: 60_000 });
  assertExit(run, 5);
  assert.ok(run.durationMs >= 2_000 && run.durationMs < 30_000, `took ${run.durationMs} ms`);
  assert.match(
    run.stderr,
    /\[ERROR\] .*Container 801 did not shut down within 2 s \(it reports 'running' 2 s later; the clean shutdown pct asked for may still happen: check 'pct status 801' before anything else\): pct shutdown 801 --timeout 2 failed with exit code 255: container did not stop$/m,
  );
  assertLogged(
    run,
    "FATAL",
    "Setup for template 801 failed during shutdown. Exit code 5.",
  );
  // After pct gave up, pct status until the grace (as long again) ran out.
  const calls = callsBesidesExec(run);
  assert.deepEqual(calls.slice(0, 4), [
    "pct status 801 --verbose",
    "pct listsnapshot 801",
    "pct shutdown 801 --timeout 2",
    "pct status 801",
  ]);
  assert.ok(calls.slice(3).every((call) => call === "pct status 801"), describe(run));
  assert.deepEqual(await lab.snapshots("801"), []);
  assert.equal(await lab.status("801"), "running");
  assert.equal(await lab.bootId("801"), boot, "not stopped half-way, not restarted");
  await assertTemplateInPlace(lab);
});

setupTest("a timed-out shutdown of a template found stopped leaves it stopped again", async (
  bench,
  lab,
) => {
  await lab.createContainer("801", { initIgnoresShutdown: true });
  const run = await bench.run("801", { shutdownTimeout: 2, killAfterMs: 60_000 });
  assertExit(run, 5);
  assert.ok(run.durationMs < 30_000, `took ${run.durationMs} ms`);
  assertLogged(
    run,
    "WARN",
    "Shutting container 801 down again, as it was stopped when this run began",
  );
  // Restoring looks first, then confirms the stop.
  assert.deepEqual(callsBesidesExec(run).slice(-3), [
    "pct status 801",
    "pct shutdown 801 --timeout 2 --forceStop 1",
    "pct status 801",
  ]);
  assert.deepEqual(await lab.snapshots("801"), []);
  assert.equal(await lab.status("801"), "stopped");
});

setupTest("a standard container becomes ready when the probe sees httpd; a re-run keeps it", async (
  bench,
  lab,
) => {
  await runningContainer(lab, "802");
  const run = await bench.run("802");
  assertExit(run, 0);
  assert.match(run.stdout, /\[INFO\] .*: Setup for container 802 completed successfully\.\n$/);
  assertLogged(run, "INFO", `Verification "GET ${URL_INSIDE} serves the page": passed`);
  assert.ok(pctCalls(run).includes(`pct exec 802 -- wget -q -O - ${URL_INSIDE}`), describe(run));
  assert.deepEqual(callsBesidesExec(run), ["pct status 802 --verbose"]);
  const page = await lab.attach("802", ["wget", "-q", "-O", "-", URL_INSIDE]);
  assert.deepEqual([page.code, page.stdout], [0, PAGE]);
  const httpd = (await lab.attach("802", ["pidof", "httpd"])).stdout.trim();
  assert.match(httpd, /^\d+$/, "one httpd");

  const again = await bench.run("802");
  assertExit(again, 0);
  assertLogged(again, "INFO", 'Step 2/2 "Start httpd": check: already done, skipping');
  assert.ok(!pctCalls(again).some((c) => c.startsWith("pct exec 802 -- httpd")), describe(again));
  assert.equal((await lab.attach("802", ["pidof", "httpd"])).stdout.trim(), httpd, "same httpd");
  assert.deepEqual(await lab.snapshots("802"), [], "a standard container gets no snapshot");
});

setupTest("--dry-run says what it would do and changes nothing", async (bench, lab) => {
  const boot = await runningContainer(lab, "801");
  const run = await bench.run("801", { args: ["--dry-run", "801"] });
  assertExit(run, 0);
  assert.equal(run.stderr, "");
  for (
    const text of [
      '[dry-run] Step 1/3 "Create user phoenix": check: not done yet',
      "[dry-run]   pct exec 801 -- tee -a /etc/group\n",
      "[dry-run]   pct exec 801 -- tee -a /etc/passwd\n",
      `[dry-run] Step 2/3 "Write ${APP_CONF}": not checked: depends on step 1, which would run first`,
      `[dry-run] Would shut down container 801 (timeout ${SHUTDOWN_TIMEOUT} s)`,
      `[dry-run] Would take snapshot '${SNAPSHOT}'`,
      "Dry run for template 801 finished: nothing was changed.",
    ]
  ) {
    assert.ok(run.stdout.includes(text), `${JSON.stringify(text)} missing\n${describe(run)}`);
  }
  assert.deepEqual(callsBesidesExec(run), ["pct status 801 --verbose", "pct listsnapshot 801"]);
  const inside = pctCalls(run).filter((c) => c.startsWith("pct exec ")).map((c) => c.slice(16));
  // Only the first step's check: the steps after one that would run depend on it.
  assert.deepEqual(inside, ["id phoenix"], "checks only");
  assert.deepEqual(await lab.snapshots("801"), []);
  assert.equal(await lab.bootId("801"), boot, "still running, same boot");
  await assert.rejects(lab.readFile("801", APP_CONF), Deno.errors.NotFound);
  await assert.rejects(lab.readFile("801", SERVICE), Deno.errors.NotFound);
  assert.notEqual((await lab.attach("801", ["id", "phoenix"])).code, 0, "no user");
  assert.deepEqual(await lockFiles(bench), [], "a dry run takes no lock");
});

setupTest("two runs at the same time: one sets up, the other exits 7 and touches nothing", async (
  bench,
  lab,
) => {
  await runningContainer(lab, "801");
  const logFile = bench.newLogFile();
  const first = await bench.start("801", { logFile });
  const second = await bench.start("801", { logFile });
  const runs = await Promise.all([first.done, second.done]);
  const winner = runs.find((r) => r.code === 0);
  const loser = runs.find((r) => r.code !== 0);
  assert.ok(winner && loser, runs.map(describe).join("\n"));
  assertExit(loser, 7);
  const inProgress = /Another setup run for container 801 is in progress \(pid (\d+), lock /;
  assert.equal(inProgress.exec(loser.stderr)?.[1], String(winner.pid), describe(loser));
  assert.match(
    loser.stderr,
    /Setup for template 801 failed during locking\. Exit code 7\.$/m,
  );
  // No command line logged (`pct status 801 (exit 0, ...)`), and the summary counts none.
  assert.doesNotMatch(loser.stdout, /\bpct [a-z]+ 801\b/, "the second run made no pct call");
  assert.match(loser.stdout, /; 0 pct calls;/);
  assert.ok(winner.stdout.includes(`Snapshot '${SNAPSHOT}' created.`), describe(winner));
  // Both wrote whole lines to the shared log (parseLog checked every one).
  assert.equal(
    winner.log.filter((e) => e.message.startsWith("phoenix-setup ")).length,
    2,
    "both runs logged",
  );

  await assertCleanSnapshot(lab);
  assert.equal(await lab.status("801"), "running");
  await lab.waitForBoot("801");
  await assertTemplateInPlace(lab);
  assert.deepEqual(await lockFiles(bench), []);
});
