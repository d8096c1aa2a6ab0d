/**
 * The compiled executable for template 920 against the fake pct: the pattern's contract (name,
 * arguments, container check), the template flow and every failure class, each asserting the exit
 * code, the key message, the log file and the exact pct calls.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import type { ExecRule, FailureRule } from "../fake_pct/fake_pct.ts";
import { callSummary } from "../fake_pct/calls.ts";
import container920 from "../../containers/920.ts";
import { helpText } from "../../lib/pattern/help.ts";
import { currentStamp, stampLine } from "../../lib/pattern/provenance.ts";
import { WRITE_FILE_SCRIPT } from "../../lib/steps/files.ts";
import { compiledExecutable, runExecutable } from "../support/executables.ts";
import { eventually } from "../support/assertions.ts";
import { isAlive } from "../support/processes.ts";
import { ContainerScenario, finishedFlags } from "../containers/_harness.ts";
import { LOG_LINE, Scenario } from "./_scenario.ts";

const CONFIG = `{
  // The project's own fixture: one template and one server.
  "nvidia_driver_version": "580.76.05",
  "lxc_configs": {
    "920": { "name": "BaseTemplateVLLM", "is_template": true, "clone_from_ctid": "901",
             "template_snapshot_name": "vllm-base-snapshot", "gpu_assignment": "0" },
    "950": { "name": "vllmQwen", "clone_from_ctid": "920", "vllm_model": "Qwen/Qwen2.5-Coder-7B-Instruct-AWQ",
             "vllm_tensor_parallel_size": 1, "gpu_assignment": "0", },
  },
}`;

/** The commands inside 920 of a first run, cloned from 901 (tests/containers simulate it). */
const CHECKS_AND_ACTIONS = [
  // Every check of the run, then the verification's command, run only if every check succeeds
  // (here they do not: nothing is installed).
  "batch: dpkg-query -W -f=${Status}\\n python3-venv python3-pip; test -x /opt/vllm/bin/python; " +
  "/opt/vllm/bin/pip show vllm; readlink /usr/bin/vllm; if all succeed: vllm --version",
  "exec env DEBIAN_FRONTEND=noninteractive apt-get update",
  "exec env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends " +
  "python3-venv python3-pip",
  // After an action, this step's check and the later ones again, and the verification's.
  "batch: dpkg-query -W -f=${Status}\\n python3-venv python3-pip; test -x /opt/vllm/bin/python; " +
  "/opt/vllm/bin/pip show vllm; readlink /usr/bin/vllm; if all succeed: vllm --version",
  "exec python3 -m venv /opt/vllm",
  "batch: test -x /opt/vllm/bin/python; /opt/vllm/bin/pip show vllm; readlink /usr/bin/vllm; " +
  "if all succeed: vllm --version",
  "exec /opt/vllm/bin/pip install --no-input vllm",
  "batch: /opt/vllm/bin/pip show vllm; readlink /usr/bin/vllm; if all succeed: vllm --version",
  "exec mkdir -p /usr/bin",
  "exec ln -sfn /opt/vllm/bin/vllm /usr/bin/vllm",
  // The last step's check: it succeeds, so the verification's command runs and answers it.
  "batch: readlink /usr/bin/vllm; if all succeed: vllm --version",
];

/** The stamp 920's snapshot carries: this version, 920's plan, its (empty) vllm settings. */
const STAMP = stampLine(currentStamp(container920, { vllm: {} }));

/** The pct exec that records the provenance in the container before the shutdown. */
const PROVENANCE_WRITE = `exec sh -c ${WRITE_FILE_SCRIPT} sh /etc/phoenix-setup ` +
  "/etc/phoenix-setup/provenance.json 0644";

/** A clone of the finished GPU template 901, running unless told otherwise. */
function fresh920(
  options: {
    status?: "running" | "stopped";
    exec?: ExecRule[];
    failures?: FailureRule[];
    config?: string;
  } = {},
): Promise<Scenario> {
  return ContainerScenario.of({
    ctid: "920",
    status: options.status,
    container: { name: "BaseTemplateVLLM" },
    exec: options.exec,
    failures: options.failures,
    config: options.config ?? CONFIG,
  });
}

Deno.test("920: a first run installs vLLM, shuts down, snapshots and starts the template again", async () => {
  await using s = await fresh920();
  const run = await s.run();
  assert.equal(run.code, 0, run.stderr);
  assert.match(
    run.stdout,
    /Setup for template 920 completed successfully\. Snapshot 'vllm-base-snapshot' created\./,
  );
  assert.deepEqual(callSummary(await s.calls()), [
    "status 920 --verbose",
    "listsnapshot 920",
    ...CHECKS_AND_ACTIONS,
    PROVENANCE_WRITE,
    "shutdown 920 --timeout 60",
    "status 920",
    `snapshot 920 vllm-base-snapshot --description ${STAMP}`,
    "start 920",
    "status 920",
  ]);
  const state = await s.fake.state();
  assert.equal(state.containers["920"].status, "running");
  assert.deepEqual(state.containers["920"].snapshots.map((x) => x.name), ["vllm-base-snapshot"]);
  // The snapshot holds the finished state, not a state before the last step.
  assert.deepEqual(state.containers["920"].snapshots[0].flags?.sort(), finishedFlags("920"));

  const lines = await s.logLines();
  for (const line of lines) assert.match(line, LOG_LINE);
  assert.ok(lines.every((line) => line.includes(" phoenix_hypervisor_setup_920.sh: ")));
  assert.ok(
    lines.some((l) =>
      /\[INFO\] .*: pct snapshot 920 vllm-base-snapshot --description "phoenix-setup [^"]+" \(exit 0, [\d.]+ m?s\)$/
        .test(l)
    ),
  );
  assert.ok(
    lines.some((l) =>
      /\[INFO\] .*: Step 3\/4 "Install vllm into \/opt\/vllm": check: not done yet \(WARNING: Package\(s\) not found: vllm\); running$/
        .test(l)
    ),
  );
  assert.match(
    lines.at(-1)!,
    /\[INFO\] .*: Setup for template 920 completed successfully/,
  );
  // Without PHOENIX_DEBUG=true the file's only DEBUG lines are what the commands printed.
  const debug = lines.filter((l) => l.includes("[DEBUG]"));
  assert.ok(debug.length > 0);
  for (const line of debug) assert.match(line, /: (Step \d\/4|Verification 1\/1|.*) (stderr)?\| /);
  assert.ok(!debug.some((l) => l.includes("Running: ")), "no command announcements");
  assert.ok(!run.stdout.includes("[DEBUG]"), "no DEBUG line on the console");
});

Deno.test("920: a re-run of a finished template changes nothing and makes two pct calls", async () => {
  await using s = await fresh920();
  assert.equal((await s.run()).code, 0);
  await s.fake.clearCalls();
  const before = await s.fake.state();
  const run = await s.run();
  assert.equal(run.code, 0, run.stderr);
  assert.match(
    run.stdout,
    /Setup for template 920 already complete: snapshot 'vllm-base-snapshot' exists/,
  );
  assert.deepEqual(await s.calls(), [["status", "920", "--verbose"], ["listsnapshot", "920"]]);
  assert.deepEqual((await s.fake.state()).containers, before.containers);
});

Deno.test("920: a snapshot whose name only contains the wanted one does not count", async () => {
  await using s = await ContainerScenario.of({
    ctid: "920",
    clonedFrom: "920",
    container: { snapshots: [{ name: "old-vllm-base-snapshot" }] },
    config: CONFIG,
  });
  const run = await s.run();
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(
    (await s.fake.state()).containers["920"].snapshots.map((x) => x.name),
    ["old-vllm-base-snapshot", "vllm-base-snapshot"],
  );
});

Deno.test("920: a stopped template is started, set up, snapshotted and left running", async () => {
  await using s = await fresh920({ status: "stopped" });
  const run = await s.run();
  assert.equal(run.code, 0, run.stderr);
  const calls = await s.calls();
  assert.deepEqual(calls.slice(0, 3), [["status", "920", "--verbose"], ["listsnapshot", "920"], [
    "start",
    "920",
  ]]);
  assert.equal((await s.fake.state()).containers["920"].status, "running");
  assert.match(run.stdout, /Container 920 is stopped; starting it/);
});

Deno.test("920: --dry-run runs only checks, prints the plan (the commands) and changes nothing", async () => {
  await using s = await fresh920();
  const run = await s.run(["--dry-run", "920"]);
  assert.equal(run.code, 0, run.stderr);
  for (
    const expected of [
      /\[dry-run\] Step 1\/4 "Install Python 3 with venv and pip": check: not done yet \(dpkg-query: no packages found matching python3-venv\); would run:\n.*\[dry-run\] {3}pct exec 920 -- env DEBIAN_FRONTEND=noninteractive apt-get update\n.*\[dry-run\] {3}pct exec 920 -- env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-venv python3-pip\n/,
      /\[dry-run\] Step 2\/4 "Create the Python virtual environment \/opt\/vllm": not checked: depends on step 1, which would run first/,
      /Summary: 4 steps \(0 run, 0 already done, 0 failed, 1 to do, 3 unchecked\)/,
      /\[dry-run\] Would verify: "vllm --version runs"/,
      /\[dry-run\] Would shut down container 920 \(timeout 60 s\)/,
      /\[dry-run\] Would take snapshot 'vllm-base-snapshot'/,
      /Dry run for template 920 finished: nothing was changed\./,
    ]
  ) assert.match(run.stdout, expected);
  assert.deepEqual(await s.mutatingCalls(), []);
  // One batch: every step's check (only the first one's answer is used: step 1 would run).
  assert.deepEqual(callSummary(await s.calls()), [
    "status 920 --verbose",
    "listsnapshot 920",
    "batch: dpkg-query -W -f=${Status}\\n python3-venv python3-pip; test -x /opt/vllm/bin/python; " +
    "/opt/vllm/bin/pip show vllm; readlink /usr/bin/vllm",
  ]);
  assert.deepEqual(
    [...(await s.fake.state()).containers["920"].flags].sort(),
    finishedFlags("901"),
  );
});

Deno.test("920: --dry-run of a stopped template does not start it", async () => {
  await using s = await fresh920({ status: "stopped" });
  const run = await s.run(["--dry-run", "920"]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /Would start container 920 \(stopped now\)/);
  assert.deepEqual(await s.calls(), [["status", "920", "--verbose"], ["listsnapshot", "920"]]);
});

Deno.test("920: a failing step stops the run: no shutdown, no snapshot, exit 3", async () => {
  await using s = await fresh920({
    exec: [{
      match: "apt-get install",
      exit: 100,
      stderr: "E: Unable to locate package python3-venv\n",
    }],
  });
  const run = await s.run();
  assert.equal(run.code, 3);
  assert.match(run.stderr, /E: Unable to locate package python3-venv/);
  assert.match(
    run.stderr,
    /Setup for template 920 failed during step "Install Python 3 with venv and pip"\. Exit code 3\./,
  );
  assert.deepEqual(await s.mutatingCalls(), []);
  assert.equal((await s.fake.state()).containers["920"].status, "running");
  const lines = await s.logLines();
  assert.match(
    lines.at(-1)!,
    /\[FATAL\] phoenix_hypervisor_setup_920\.sh: Setup for template 920 failed during step/,
  );
});

Deno.test("920: a failing verification takes no snapshot, exit 4", async () => {
  await using s = await fresh920({
    exec: [{ match: "^vllm --version$", exit: 1, stderr: "ImportError: libcudart.so.12\n" }],
  });
  const run = await s.run();
  assert.equal(run.code, 4);
  assert.match(
    run.stderr,
    /Verification "vllm --version runs" failed: .*ImportError: libcudart\.so\.12/,
  );
  assert.match(run.stderr, /failed during verification "vllm --version runs"/);
  assert.deepEqual(await s.mutatingCalls(), []);
});

Deno.test("920: a shutdown that does not finish leaves the template running, exit 5", async () => {
  await using s = await fresh920({
    failures: [{ command: "shutdown", stderr: "container did not stop" }],
  });
  // A short timeout: after pct gives up, the run looks again for as long (the shutdown pct
  // asked for is never withdrawn), here 2 s.
  const run = await s.run(["920"], { env: { PHOENIX_SHUTDOWN_TIMEOUT: "2" } });
  assert.equal(run.code, 5);
  assert.match(
    run.stderr,
    /Container 920 did not shut down within 2 s \(it reports 'running' 2 s later; the clean shutdown pct asked for may still happen: check 'pct status 920' before anything else\): .*container did not stop/,
  );
  assert.match(run.stderr, /failed during shutdown\. Exit code 5\./);
  const mutating = await s.mutatingCalls();
  assert.deepEqual(mutating, [["shutdown", "920", "--timeout", "2"]]);
  assert.equal((await s.fake.state()).containers["920"].status, "running");
});

Deno.test("920: a failing snapshot starts the template again, exit 6", async () => {
  await using s = await fresh920({
    failures: [{ command: "snapshot", stderr: "snapshot feature is not available" }],
  });
  const run = await s.run();
  assert.equal(run.code, 6);
  assert.match(
    run.stderr,
    /Cannot take snapshot 'vllm-base-snapshot' of 920: .*snapshot feature is not available/,
  );
  assert.deepEqual(await s.mutatingCalls(), [
    ["shutdown", "920", "--timeout", "60"],
    ["snapshot", "920", "vllm-base-snapshot", "--description", STAMP],
    ["start", "920"],
  ]);
  const state = await s.fake.state();
  assert.equal(state.containers["920"].status, "running");
  assert.deepEqual(state.containers["920"].snapshots, []);
});

Deno.test("920: a start failure after the snapshot is reported, exit 5", async () => {
  await using s = await fresh920({
    failures: [{ command: "start", stderr: "startup for container '920' failed" }],
  });
  const run = await s.run();
  assert.equal(run.code, 5);
  assert.match(run.stderr, /Snapshot taken, but container 920 did not start again/);
});

Deno.test("920: a missing container fails with pct's own words and no other pct call, exit 1", async () => {
  await using s = await Scenario.create("920", { containers: {} }, CONFIG);
  const run = await s.run();
  assert.equal(run.code, 1);
  assert.match(
    run.stderr,
    /Container 920 does not exist .*Configuration file 'nodes\/pve\/lxc\/920\.conf' does not exist/,
  );
  assert.deepEqual(await s.calls(), [["status", "920", "--verbose"]]);
  assert.match(
    (await s.logLines()).at(-1)!,
    /\[FATAL\] .*failed during container check\. Exit code 1\./,
  );
});

Deno.test("920: argument errors exit 1 with usage and make no pct call", async (t) => {
  await using s = await fresh920();
  const cases: [string, string[], RegExp][] = [
    ["no argument", [], /Expected exactly one argument, the CTID; found none/],
    [
      "two arguments",
      ["920", "920"],
      /Expected exactly one argument, the CTID; found 2: "920" "920"/,
    ],
    ["the orchestrator's old five arguments", ["920", "a", "b", "c", "d"], /found 5/],
    ["an unknown option", ["--force", "920"], /Unknown option "--force"; the options are /],
    ["letters", ["92a"], /Cannot use CTID "92a": expected digits only/],
    ["a leading zero", ["0920"], /Cannot use CTID "0920": a CTID has no leading zero/],
    ["too short", ["92"], /Cannot use CTID "92": expected a number from 100 to 999999999/],
    ["too long", ["1234567890"], /Cannot use CTID "1234567890"/],
    [
      "another CTID",
      ["950"],
      /sets up container 920 only, but was asked for 950; run phoenix_hypervisor_setup_950\.sh/,
    ],
  ];
  for (const [name, args, message] of cases) {
    await t.step(name, async () => {
      const run = await s.run(args);
      assert.equal(run.code, 1, `${name}: ${run.stderr}`);
      assert.match(run.stderr, message);
      assert.deepEqual(await s.calls(), []);
    });
  }
  await t.step("usage is printed for argument-count errors", async () => {
    assert.match(
      (await s.run([])).stderr,
      /Usage: phoenix_hypervisor_setup_920\.sh \[--dry-run \| --check\] \[--refresh\] \[--report <file>\] 920/,
    );
  });
});

Deno.test("920: --help and --version exit 0 without any pct call or log line", async () => {
  await using s = await fresh920();
  const help = await s.run(["--help"]);
  assert.equal(help.code, 0);
  // Computed when the executable was built, from the same function `main` uses.
  assert.equal(help.stdout, `${helpText(container920)}\n`);
  const version = await s.run(["--version"]);
  assert.equal(version.code, 0);
  assert.match(
    version.stdout,
    /^phoenix_hypervisor_setup_920\.sh \(phoenix-setup \d+\.\d+\.\d+\) for container 920$/m,
  );
  assert.deepEqual(await s.calls(), []);
  assert.deepEqual(await s.logLines(), []);
});

Deno.test("920: the executable refuses to run under another name", async (t) => {
  await using s = await fresh920();
  const original = await compiledExecutable("920");
  const dir = join(s.dir, "bin");
  await Deno.mkdir(dir);
  await t.step("a renamed copy refuses, whatever CTID it is given", async () => {
    const copy = join(dir, "phoenix_hypervisor_setup_921.sh");
    await Deno.copyFile(original, copy);
    await Deno.chmod(copy, 0o755);
    for (const ctid of ["921", "920"]) {
      const run = await s.run([ctid], { path: copy });
      assert.equal(run.code, 1);
      assert.match(
        run.stderr,
        ctid === "921"
          ? /this file is the 920 executable, installed as ".*phoenix_hypervisor_setup_921\.sh"; it sets up container 920 only/
          : /this file is the 920 executable, installed as ".*phoenix_hypervisor_setup_921\.sh"/,
      );
    }
  });
  await t.step("a symlink under another CTID's name refuses", async () => {
    const link = join(dir, "phoenix_hypervisor_setup_950.sh");
    await Deno.symlink(original, link);
    const run = await s.run(["920"], { path: link });
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      /this file is the 920 executable, linked as ".*phoenix_hypervisor_setup_950\.sh"/,
    );
  });
  await t.step("a right-named symlink to a wrongly named file refuses", async () => {
    const other = join(dir, "setup-copy");
    await Deno.copyFile(original, other);
    await Deno.chmod(other, 0o755);
    const link = join(dir, "phoenix_hypervisor_setup_920.sh");
    await Deno.symlink(other, link);
    const run = await s.run(["920"], { path: link });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /whose real file is ".*setup-copy"/);
  });
  await t.step("a right-named symlink to the right file runs", async () => {
    const linkDir = join(s.dir, "links");
    await Deno.mkdir(linkDir);
    const link = join(linkDir, "phoenix_hypervisor_setup_920.sh");
    await Deno.symlink(original, link);
    const run = await s.run(["--dry-run", "920"], { path: link });
    assert.equal(run.code, 0, run.stderr);
  });
  assert.deepEqual(
    (await s.calls()).filter((c) =>
      c[0] !== "status" && c[0] !== "listsnapshot" && c[0] !== "exec"
    ),
    [],
  );
});

Deno.test("920: config errors exit 2 before any pct call, naming file, line:column, CTID and field", async (t) => {
  const cases: [string, string, RegExp][] = [
    [
      "a syntax error",
      `{ "lxc_configs": { "920": { "name": "x" "is_template": true } } }`,
      /phoenix_lxc_configs\.json:1:\d+: /,
    ],
    ["a missing entry", `{ "lxc_configs": { "950": { "name": "x" } } }`, /920/],
    [
      "is_template false for a template",
      `{ "lxc_configs": { "920": { "is_template": false } } }`,
      /is_template is false, but the executable for 920 sets up a template/,
    ],
    [
      "a wrong field type",
      `{ "lxc_configs": { "920": {\n "template_snapshot_name": 5 } } }`,
      /:2:\d+: .*lxc_configs\["920"\]\.template_snapshot_name/,
    ],
    [
      "a snapshot name pct rejects",
      `{ "lxc_configs": { "920": { "template_snapshot_name": "has space" } } }`,
      /template_snapshot_name/,
    ],
  ];
  for (const [name, config, message] of cases) {
    await t.step(name, async () => {
      await using s = await fresh920({ config });
      const run = await s.run();
      assert.equal(run.code, 2, `${name}: ${run.stdout}${run.stderr}`);
      assert.match(run.stderr, message);
      assert.match(run.stderr, new RegExp(s.configFile.replaceAll("/", "\\/")));
      assert.match(run.stderr, /failed during configuration\. Exit code 2\./);
      assert.deepEqual(await s.calls(), []);
    });
  }
  await t.step("an unreadable config file", async () => {
    await using s = await fresh920();
    const run = await s.run(["920"], { env: { LXC_CONFIG_FILE: join(s.dir, "nope.json") } });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /nope\.json/);
    assert.deepEqual(await s.calls(), []);
  });
});

Deno.test("920: an entry without template_snapshot_name uses the module's default", async () => {
  await using s = await fresh920({
    config: `{ "lxc_configs": { "920": { "is_template": true } } }`,
  });
  const run = await s.run();
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual((await s.fake.state()).containers["920"].snapshots.map((x) => x.name), [
    "vllm-base-snapshot",
  ]);
});

Deno.test("920: a second run while the first holds the lock exits 7 at once", async () => {
  // The first run is slowed down inside its first step; the second starts meanwhile.
  await using s = await fresh920({
    exec: [{ match: "^python3 -m venv /opt/vllm$", set: ["venv"], delayMs: 2500 }],
  });
  const first = s.run();
  await eventually(
    async () => (await s.calls()).some((c) => c.includes("venv")),
    "the first run never reached its venv step",
  );
  const second = await s.run();
  assert.equal(second.code, 7);
  assert.match(second.stderr, /Another setup run for container 920 is in progress \(pid \d+/);
  const firstRun = await first;
  assert.equal(firstRun.code, 0, firstRun.stderr);
  assert.equal((await s.mutatingCalls()).filter((c) => c[0] === "snapshot").length, 1);
});

Deno.test("920: SIGTERM after the shutdown starts the template again and exits 143", async () => {
  await using s = await fresh920({
    failures: [{ command: "snapshot", stderr: "interrupted", delayMs: 8000 }],
  });
  const child = await s.spawn();
  const snapshot = await s.waitForPct((argv) => argv[0] === "snapshot");
  child.kill("SIGTERM");
  const output = await child.output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 143, stderr);
  assert.match(stderr, /Received SIGTERM; stopping the setup of container 920/);
  assert.match(stderr, /failed during an interruption \(SIGTERM\)\. Exit code 143\./);
  assert.equal(await isAlive(snapshot.pid), false, "the pct snapshot outlived the run");
  // Started again, and the start confirmed.
  assert.deepEqual((await s.calls()).slice(-2), [["start", "920"], ["status", "920"]]);
  assert.equal((await s.fake.state()).containers["920"].status, "running");
  await assert.rejects(Deno.stat(s.lockFile));
});

Deno.test("920: secrets from the environment never reach the console or the log file", async () => {
  const token = "hf_SuperSecretToken0123456789";
  await using s = await fresh920({
    exec: [{ match: "^vllm --version$", exit: 1, stderr: `401 Unauthorized for token ${token}\n` }],
  });
  const run = await s.run(["920"], { env: { HF_TOKEN: token, PHOENIX_DEBUG: "true" } });
  assert.equal(run.code, 4);
  const everything = run.stdout + run.stderr + (await s.logLines()).join("\n");
  assert.ok(!everything.includes(token), "the token leaked");
  assert.match(everything, /401 Unauthorized for token \*\*\*/);
  assert.ok(
    (await s.logLines()).some((l) => l.includes("[DEBUG]")),
    "PHOENIX_DEBUG=true writes DEBUG lines",
  );
});

Deno.test("920: an unwritable log file is reported and the setup goes on", async () => {
  await using s = await fresh920();
  const run = await s.run(["920"], { env: { MAIN_LOG_FILE: "/proc/phoenix/cannot.log" } });
  assert.equal(run.code, 0, run.stderr);
  assert.match(
    run.stderr,
    /Cannot append to log file "\/proc\/phoenix\/cannot\.log".*set MAIN_LOG_FILE/,
  );
});

Deno.test("920: the compiled executable works without the test's environment", async () => {
  // Only what the orchestrator exports: no DENO_* variables, no HOME.
  await using s = await fresh920();
  const run = await runExecutable(await compiledExecutable("920"), ["--dry-run", "920"], s.env());
  assert.equal(run.code, 0, run.stderr);
});
