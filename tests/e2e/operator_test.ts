/**
 * What the operator sees while a run happens and after it (issue 11), against the compiled
 * executables and the fake pct: a long command's output in the log as it arrives and its
 * heartbeat on the console, checks that read as checks, the narrated wait for /health, the
 * closing summary, the run report for every ending, `--help`, and our own messages for unknown
 * options and a misnamed executable.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { literally } from "../fake_pct/fake_pct.ts";
import { ContainerScenario } from "../containers/_harness.ts";
import { compiledExecutable } from "../support/executables.ts";
import { validReport } from "../support/run_reports.ts";
import { assertExit } from "../support/assertions.ts";

const PIP_INSTALL = "^/opt/vllm/bin/pip install --no-input vllm$";
const MODEL = "Qwen/Qwen2.5-Coder-7B-Instruct-AWQ";

/** The lines of `text` that carry `level`, without their timestamp. */
function levelLines(text: string, level: string): string[] {
  return text.split("\n").filter((l) => l.includes(`[${level}] `)).map((l) =>
    l.replace(/^\S+ \S+ /, "")
  );
}

Deno.test("920: a long pip install is followed live: output in the log, heartbeats on the console", async () => {
  await using s = await ContainerScenario.of({
    ctid: "920",
    exec: [{
      match: PIP_INSTALL,
      when: "venv",
      set: ["pip:vllm"],
      progress: "Collecting vllm\nCollecting torch HF_TOKEN=hf_LeakedInOutput12345\n",
      delayMs: 2600,
    }],
    env: { PHOENIX_HEARTBEAT_INTERVAL: "1", HF_TOKEN: "hf_LeakedInOutput12345" },
  });
  const report = join(s.dir, "report.json");
  const run = await s.run(["920"], { env: { PHOENIX_REPORT_FILE: report } });
  assertExit(run, 0);

  // The console: a heartbeat a second, quoting the last line pip printed, the secret masked.
  const beats = levelLines(run.stdout, "INFO").filter((l) => l.includes("Still running"));
  assert.ok(beats.length >= 2, run.stdout);
  for (const beat of beats) {
    assert.match(
      beat,
      /^\[INFO\] phoenix_hypervisor_setup_920\.sh: Step 3\/4: Still running: \/opt\/vllm\/bin\/pip install --no-input vllm in container 920 \([\d.]+ s; last output: "Collecting torch HF_TOKEN=\*\*\*"\)$/,
    );
  }
  // Command output is not on the console without PHOENIX_DEBUG, and no secret is anywhere.
  assert.doesNotMatch(run.stdout, /\| Collecting/);
  assert.doesNotMatch(run.stdout + run.stderr, /hf_LeakedInOutput12345/);

  // The log file: each output line, with its step, before the command's own line.
  const log = await s.logLines();
  const collecting = log.findIndex((l) =>
    / \[DEBUG\] phoenix_hypervisor_setup_920\.sh: Step 3\/4 \| Collecting vllm$/.test(l)
  );
  const ended = log.findIndex((l) =>
    /pct exec 920 -- \/opt\/vllm\/bin\/pip install --no-input vllm \(exit 0, [\d.]+ s\)$/.test(l)
  );
  assert.ok(collecting >= 0 && ended > collecting, log.join("\n"));
  assert.ok(log.some((l) => l.endsWith("Step 3/4 | Collecting torch HF_TOKEN=***")));
  assert.ok(log.every((l) => !l.includes("hf_LeakedInOutput12345")));

  // Checks read as checks: their "no" is the reason a step runs, never a failed command.
  const info = levelLines(run.stdout, "INFO").join("\n");
  assert.match(
    info,
    /Step 1\/4 "Install Python 3 with venv and pip": check: not done yet \(dpkg-query: no packages found matching python3-venv\); running/,
  );
  assert.match(
    info,
    /Step 3\/4 "Install vllm into \/opt\/vllm": check: not done yet \(WARNING: Package\(s\) not found: vllm\); running/,
  );
  assert.doesNotMatch(info, /dpkg-query .*\(exit 1/);
  assert.doesNotMatch(info, /stderr: dpkg-query/);
  assert.match(info, /Step 3\/4 "Install vllm into \/opt\/vllm": done in [\d.]+ s/);

  // The summary, then the closing message: one form, the kind named.
  const calls = await s.calls();
  const last = levelLines(run.stdout, "INFO").slice(-2);
  assert.match(
    last[0],
    new RegExp(
      `Summary: 4 steps \\(4 run, 0 already done, 0 failed\\); 1 verification passed; ` +
        `${calls.length} pct calls; [\\d.]+ s in total\\.$`,
    ),
  );
  assert.match(
    last[1],
    /: Setup for template 920 completed successfully\. Snapshot 'vllm-base-snapshot' created\.$/,
  );

  // The report: valid, and the same story.
  const r = await validReport(report);
  assert.equal(r.ctid, "920");
  assert.equal(r.kind, "template");
  assert.equal(r.exitCode, 0);
  assert.equal(r.outcome, "snapshot-created");
  assert.equal(r.snapshot, "vllm-base-snapshot");
  assert.equal(r.error, undefined);
  assert.deepEqual(r.steps.map((step) => step.status), ["ran", "ran", "ran", "ran"]);
  assert.ok(r.steps[2].durationMs >= 2600, `${r.steps[2].durationMs}`);
  assert.deepEqual(r.pctCalls.map((c) => c.argv.slice(1)), calls);
  const pip = r.pctCalls.find((c) => c.argv.includes("install") && c.argv.includes("vllm"))!;
  assert.equal(pip.exitCode, 0);
  assert.equal(pip.check, false);
  assert.ok(pip.durationMs >= 2600);
  // The checks' calls (batches of them, whose "no" answers the log quotes) are marked as such.
  assert.ok(r.pctCalls.filter((c) => c.check).length >= 3);
  assert.ok(Date.parse(r.endedAt) - Date.parse(r.startedAt) >= 2600);
  assert.doesNotMatch(await Deno.readTextFile(report), /hf_LeakedInOutput12345/);
  // Written atomically: nothing but the report is left in its directory.
  assert.deepEqual(
    [...Deno.readDirSync(s.dir)].map((e) => e.name).filter((n) => n.includes("report")),
    ["report.json"],
  );
});

Deno.test("950: the wait for /health says each answer, the time of the deadline and the next try", async () => {
  const health = literally(
    "curl -s --max-time 10 -o /dev/null -w %{http_code} http://localhost:8000/health",
  );
  await using s = await ContainerScenario.of({
    ctid: "950",
    config: `{ "lxc_configs": { "950": { "name": "vllmQwen", "vllm_model": "${MODEL}",
      "vllm_tensor_parallel_size": 1, "gpu_assignment": "0" } } }`,
    // Once vLLM runs (the first batch of checks, before anything changed, asks too).
    exec: [
      { match: health, when: "active:vllm.service", exit: 7, stdout: "000", times: 1 },
      { match: health, when: "active:vllm.service", stdout: "503", times: 1 },
    ],
    simulation: { servedModels: [MODEL] },
  });
  const report = join(s.dir, "report.json");
  const run = await s.run(["--report", report, "950"]);
  assertExit(run, 0);
  const what = "http://localhost:8000/health to answer 200 in container 950";
  const waits = levelLines(run.stdout, "INFO").filter((l) => l.includes("Waiting for"));
  assert.equal(waits.length, 2, run.stdout);
  assert.match(
    waits[0],
    new RegExp(
      `Waiting for ${what.replaceAll(".", "\\.")}: attempt 1: ` +
        "connection refused; [\\d.]+ m?s of 30 min; next try in 1\\.0 s$",
    ),
  );
  assert.match(waits[1], /attempt 2: HTTP 503; [\d.]+ m?s of 30 min; next try in 2\.0 s$/);
  // Each poll is a check's command: DEBUG, not a line of its own on the console.
  assert.doesNotMatch(run.stdout, /curl -s .*\(exit 7/);
  assert.match(
    run.stdout,
    /Setup for container 950 completed successfully\. vLLM serves "Qwen\/Qwen2\.5-Coder-7B-Instruct-AWQ" at http:\/\/localhost:8000\/v1 \(inside the container\)\./,
  );
  const r = await validReport(report);
  assert.equal(r.kind, "standard");
  assert.equal(r.outcome, "completed");
  assert.match(r.produced!, /vLLM serves "Qwen\/Qwen2\.5-Coder-7B-Instruct-AWQ"/);
  // The vllm feature's `vllm --version`, then /health, then /v1/models.
  assert.deepEqual(r.verifications.map((v) => v.status), ["passed", "passed", "passed"]);
  assert.ok(r.verifications[1].durationMs >= 3000);
});

Deno.test("a re-run's summary counts the steps already done", async () => {
  await using s = await ContainerScenario.of({ ctid: "920" });
  assertExit(await s.run(), 0);
  const run = await s.run();
  assertExit(run, 0);
  assert.match(
    run.stdout,
    /Summary: 0 steps \(0 run, 0 already done, 0 failed\); no verification run; 2 pct calls; [\d.]+ m?s in total\./,
  );
  assert.match(
    run.stdout,
    /Setup for template 920 already complete: snapshot 'vllm-base-snapshot' exists\. Nothing to do\./,
  );
});

Deno.test("the run report validates and names the phase for every failure class", async (t) => {
  const cases: {
    name: string;
    code: number;
    phase: RegExp;
    options?: Parameters<typeof ContainerScenario.of>[0];
    args?: string[];
  }[] = [
    { name: "usage", code: 1, phase: /^argument parsing$/, args: ["--force", "920"] },
    {
      name: "configuration",
      code: 2,
      phase: /^configuration$/,
      options: { ctid: "920", config: `{ "lxc_configs": { "920": { "is_template": "yes" } } }` },
    },
    {
      name: "a step",
      code: 3,
      phase: /^step "Install Python 3 with venv and pip"$/,
      options: {
        ctid: "920",
        exec: [{ match: "apt-get install", exit: 100, stderr: "E: Unable to locate package\n" }],
      },
    },
    {
      name: "the verification",
      code: 4,
      phase: /^verification "vllm --version runs"$/,
      options: { ctid: "920", exec: [{ match: "^vllm --version$", exit: 1, stderr: "boom\n" }] },
    },
    {
      name: "the shutdown",
      code: 5,
      phase: /^shutdown$/,
      options: {
        ctid: "920",
        failures: [{ command: "shutdown", stderr: "container did not stop" }],
      },
    },
    {
      name: "the snapshot",
      code: 6,
      phase: /^snapshot$/,
      options: {
        ctid: "920",
        failures: [{ command: "snapshot", stderr: "snapshot feature is not available" }],
      },
    },
  ];
  for (const c of cases) {
    await t.step(`${c.name}: exit ${c.code}`, async () => {
      await using s = await ContainerScenario.of(c.options ?? { ctid: "920" });
      const report = join(s.dir, "report.json");
      const run = await s.run(c.args ?? ["920"], { env: { PHOENIX_REPORT_FILE: report } });
      assertExit(run, c.code);
      const r = await validReport(report);
      assert.equal(r.exitCode, c.code);
      assert.equal(r.outcome, "failed");
      assert.match(r.error!.phase, c.phase);
      assert.ok(r.error!.message.length > 0);
      assert.equal(r.pctCalls.length, (await s.calls()).length);
      if (c.code === 3) {
        // The step that failed, and only it; the ones after it never ran.
        assert.deepEqual(r.steps.map((step) => step.status), [
          "failed",
          "not-run",
          "not-run",
          "not-run",
        ]);
        assert.match(run.stdout, /Summary: 4 steps \(0 run, 0 already done, 1 failed, 3 not run\)/);
      }
      assert.match(run.stdout, /Summary: \d+ steps? \(\d+ run, \d+ already done, \d+ failed/);
    });
  }
});

Deno.test("SIGTERM: the run report says stopped, with exit 143 and the phase", async () => {
  await using s = await ContainerScenario.of({
    ctid: "920",
    exec: [{ match: PIP_INSTALL, set: ["pip:vllm"], delayMs: 120_000 }],
  });
  const report = join(s.dir, "report.json");
  const child = await s.spawn(["920"], { env: { PHOENIX_REPORT_FILE: report } });
  await s.waitForPct((argv) => argv.includes("install") && argv.includes("vllm"));
  child.kill("SIGTERM");
  const output = await child.output();
  assert.equal(output.code, 143);
  const r = await validReport(report);
  assert.equal(r.exitCode, 143);
  assert.equal(r.outcome, "stopped");
  assert.equal(r.error!.phase, "an interruption (SIGTERM)");
  assert.match(r.error!.message, /Received SIGTERM/);
  assert.deepEqual(r.steps.slice(2).map(({ name, status }) => [name, status]), [
    ["Install vllm into /opt/vllm", "failed"],
    ["Put vllm on the PATH", "not-run"],
  ]);
  const pip = r.pctCalls.find((c) => c.argv.includes("install") && c.argv.includes("vllm"));
  assert.ok(pip && pip.exitCode !== 0, JSON.stringify(r.pctCalls));
});

Deno.test("--help is complete on the host: steps, snapshot, environment, exit codes", async () => {
  await using s = await ContainerScenario.of({ ctid: "920" });
  const help = await s.run(["--help"]);
  assertExit(help, 0);
  const text = help.stdout;
  assert.match(
    text,
    /^Usage: phoenix_hypervisor_setup_920\.sh \[--dry-run \| --check\] \[--refresh\] \[--report <file>\] 920$/m,
  );
  assert.match(text, /This executable sets up template 920: /);
  assert.match(text, /^ {2}3\. Install vllm into \/opt\/vllm$/m);
  assert.match(text, /^ {2}- vllm --version runs$/m);
  assert.match(text, /snapshot 'vllm-base-snapshot'/);
  for (
    const [name, fallback] of [
      ["LXC_CONFIG_FILE", "/usr/local/phoenix_hypervisor/etc/phoenix_lxc_configs.json"],
      ["MAIN_LOG_FILE", "/var/log/phoenix_hypervisor.log"],
      ["PHOENIX_DEBUG", "false"],
      ["PHOENIX_SHUTDOWN_TIMEOUT", "60"],
      ["PHOENIX_LOCK_DIR", "/run/lock/phoenix_hypervisor"],
      ["PHOENIX_HOST_ROOT", "/"],
      ["PHOENIX_READY_TIMEOUT", "per probe"],
      ["PHOENIX_RUN_TIMEOUT", "14400"],
      ["PHOENIX_HEARTBEAT_INTERVAL", "10"],
      ["PHOENIX_REPORT_FILE", "unset"],
      ["PHOENIX_DRY_RUN, DRY_RUN", "unset"],
      ["HF_TOKEN, HF_TOKEN_FILE", "unset"],
    ]
  ) {
    assert.match(text, new RegExp(`^  ${name} +${fallback.replaceAll(".", "\\.")} `, "m"), name);
  }
  for (const code of ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "70", "130 / 143"]) {
    assert.match(text, new RegExp(`^  ${code} +\\S`, "m"), `exit code ${code}`);
  }
  assert.doesNotMatch(text, /see the README/);
  assert.deepEqual(await s.calls(), []);
});

Deno.test("an unknown option gets our own words, and a misnamed link names itself", async (t) => {
  await using s = await ContainerScenario.of({ ctid: "920" });
  await t.step("unknown option", async () => {
    const run = await s.run(["--verbose", "920"]);
    assertExit(run, 1);
    assert.match(
      run.stderr,
      /Unknown option "--verbose"; the options are --help, --version, --dry-run, --check, --refresh, --report <file>/,
    );
    assert.doesNotMatch(run.stderr, /positional argument/);
  });
  await t.step("the 920 executable linked as ..._950.sh", async () => {
    const dir = join(s.dir, "bin");
    await Deno.mkdir(dir);
    const link = join(dir, "phoenix_hypervisor_setup_950.sh");
    await Deno.symlink(await compiledExecutable("920"), link);
    const run = await s.run(["950"], { path: link });
    assertExit(run, 1);
    assert.match(
      run.stderr,
      /this file is the 920 executable, linked as ".*\/bin\/phoenix_hypervisor_setup_950\.sh"; it sets up container 920 only/,
    );
    assert.doesNotMatch(run.stderr, /run phoenix_hypervisor_setup_950\.sh/);
  });
  assert.deepEqual(await s.calls(), []);
});
