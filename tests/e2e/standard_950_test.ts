/**
 * The compiled executable for standard container 950 (vLLM server) against the fake pct and a
 * simulated clone of 920 (see ../containers/): first run, re-run, readiness, and config errors.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { callSummary } from "../fake_pct/calls.ts";
import { literally } from "../fake_pct/fake_pct.ts";
import { ContainerScenario } from "../containers/_harness.ts";
import { WRITE_FILE_SCRIPT } from "../../lib/steps/files.ts";

const MODEL = "Qwen/Qwen2.5-Coder-7B-Instruct-AWQ";

function config(entry: string): string {
  return `{ "lxc_configs": { "950": ${entry} } }`;
}

const GOOD = config(`{ "name": "vllmQwen", "vllm_model": "${MODEL}", "vllm_tensor_parallel_size": 2,
  "gpu_assignment": "0,1" }`);

const HEALTH = literally(
  "curl -s --max-time 10 -o /dev/null -w %{http_code} http://localhost:8000/health",
);
const MODELS = literally("curl -fsS --max-time 30 http://localhost:8000/v1/models");

function server(
  options: { config?: string; exec?: Parameters<typeof ContainerScenario.of>[0]["exec"] } = {},
): Promise<ContainerScenario> {
  return ContainerScenario.of({
    ctid: "950",
    config: options.config ?? GOOD,
    exec: options.exec,
    simulation: { servedModels: [MODEL] },
  });
}

Deno.test("950: a first run writes the unit, enables the service and waits for /health", async () => {
  await using s = await server();
  const run = await s.run();
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /Setup for container 950 completed successfully\./);
  assert.doesNotMatch(run.stdout, /container\/template/);
  const unit = (await s.fake.state()).containers["950"].files["/etc/systemd/system/vllm.service"];
  assert.match(
    unit.content,
    /^ExecStart=\/opt\/vllm\/bin\/vllm serve Qwen\/Qwen2\.5-Coder-7B-Instruct-AWQ --host 0\.0\.0\.0 --port 8000 --tensor-parallel-size 2$/m,
  );
  assert.deepEqual(
    await s.mutatingCalls(),
    [],
    "a standard container is never stopped or snapshotted; its files go in through pct exec",
  );
  const calls = await s.calls();
  assert.deepEqual(calls[0], ["status", "950", "--verbose"]);
  // The clone of 920 already has the vllm feature: every check runs in one batch, where the
  // token file's is answered "no"; then the token file goes in first, through pct exec's stdin.
  const summary = callSummary(calls);
  assert.match(summary[1], /^batch: dpkg-query .*; sha256sum \/etc\/vllm\/vllm\.env; /);
  assert.deepEqual(calls[2], [
    "exec",
    "950",
    "--",
    "bash",
    "-c",
    WRITE_FILE_SCRIPT,
    "bash",
    "/etc/vllm",
    "/etc/vllm/vllm.env",
    "0600",
  ]);
  // The last step's check after its action, with the verification: the server answers at once.
  assert.equal(
    summary.at(-1),
    "batch: systemctl is-enabled --quiet vllm.service; systemctl is-active --quiet vllm.service; " +
      "if all succeed: vllm --version; curl -s --max-time 10 -o /dev/null -w %{http_code} " +
      "http://localhost:8000/health; curl -fsS --max-time 30 http://localhost:8000/v1/models",
  );
});

Deno.test("950: a re-run changes nothing: only checks and probes", async () => {
  await using s = await server();
  assert.equal((await s.run()).code, 0);
  await s.fake.clearCalls();
  const run = await s.run();
  assert.equal(run.code, 0, run.stderr);
  assert.match(
    run.stdout,
    /Step 6\/7 "Install the systemd unit vllm\.service": check: already done, skipping/,
  );
  assert.match(
    run.stdout,
    /Step 7\/7 "Enable and start vllm\.service": check: already done, skipping/,
  );
  // Two pct calls: the status, then every check and verification in one batch.
  assert.deepEqual(callSummary(await s.calls()), [
    "status 950 --verbose",
    "batch: " + [
      "dpkg-query -W -f=${Status}\\n python3-venv python3-pip",
      "test -x /opt/vllm/bin/python",
      "/opt/vllm/bin/pip show vllm",
      "readlink /usr/bin/vllm",
      // Given no token, the token file is kept whatever it holds: only whether it exists counts.
      "sha256sum /etc/vllm/vllm.env",
      "sha256sum /etc/systemd/system/vllm.service",
      "stat -c %a /etc/systemd/system/vllm.service",
      "systemctl show --property=NeedDaemonReload --value vllm.service",
      "systemctl is-enabled --quiet vllm.service",
      "systemctl is-active --quiet vllm.service",
      "if all succeed: vllm --version",
      "curl -s --max-time 10 -o /dev/null -w %{http_code} http://localhost:8000/health",
      "curl -fsS --max-time 30 http://localhost:8000/v1/models",
    ].join("; "),
  ]);
});

Deno.test("950: readiness is polled with backoff until /health answers 200", async () => {
  // The model takes a while to load: the first probe finds nothing listening, the second a 503.
  await using s = await server({
    exec: [
      { match: HEALTH, when: "active:vllm.service", stdout: "000", exit: 7, times: 1 },
      { match: HEALTH, when: "active:vllm.service", stdout: "503", times: 1 },
    ],
  });
  const started = Date.now();
  const run = await s.run();
  assert.equal(run.code, 0, run.stderr);
  // Three attempts: the first answered by the batch of the last step's check after its action
  // (the first batch did not run it: its checks failed), then one call each (503, 200).
  assert.match(run.stdout, /attempt 1: connection refused/);
  assert.match(run.stdout, /attempt 2: HTTP 503/);
  assert.match(run.stdout, /answered in container 950 \(attempt 3\)/);
  const own = callSummary(await s.calls()).filter((line) =>
    line.startsWith("exec curl -s --max-time 10")
  );
  assert.equal(own.length, 2, own.join("\n"));
  // Pauses of 1 s then 2 s: backoff, not a fixed sleep loop and not a busy loop.
  assert.ok(Date.now() - started >= 3000);
});

Deno.test("950: /v1/models without the configured model fails verification, exit 4, and claims nothing", async () => {
  await using s = await server({
    exec: [{ match: MODELS, stdout: '{"data":[{"id":"other/model"}]}' }],
  });
  const report = join(s.dir, "report.json");
  const run = await s.run(["--report", report, "950"]);
  assert.equal(run.code, 4);
  assert.match(
    run.stderr,
    /\/v1\/models lists \["other\/model"\], not "Qwen\/Qwen2\.5-Coder-7B-Instruct-AWQ"/,
  );
  // A failed run does not say what a finished one provides, on the console or in the report.
  assert.doesNotMatch(run.stdout + run.stderr, /vLLM serves/);
  const r = JSON.parse(await Deno.readTextFile(report));
  assert.equal(r.outcome, "failed");
  assert.equal(r.produced, undefined);
});

Deno.test("950: a report file that cannot be written is exit 1, in plain words, before any pct call", async () => {
  await using s = await server();
  const report = join(s.dir, "missing", "report.json");
  const run = await s.run(["--report", report, "950"]);
  assert.equal(run.code, 1);
  assert.match(
    run.stderr,
    /\[ERROR\] .*: Cannot write the run report to ".*\/missing\/report\.json" \(--report\): its directory does not exist\. Give a file in a directory this user can write, or leave --report out\n/,
  );
  assert.match(run.stderr, /failed during checking the report file\. Exit code 1\.\n$/);
  assert.deepEqual(await s.calls(), []);
  const viaEnv = await s.run(["950"], { env: { PHOENIX_REPORT_FILE: s.dir } });
  assert.equal(viaEnv.code, 1);
  assert.match(viaEnv.stderr, /\(PHOENIX_REPORT_FILE\): it is a directory, not a file\./);
  assert.deepEqual(await s.calls(), []);
});

Deno.test("950: a batch of checks is one INFO line, its script at DEBUG only; a batch with no usable answer is said", async () => {
  await using s = await server();
  const first = await s.run();
  assert.equal(first.code, 0, first.stderr);
  // Neither the batch's script nor the file-writing one reaches the console at INFO.
  assert.doesNotMatch(first.stdout, /bash -c|mktemp|umask/);
  assert.match(
    first.stdout,
    /\[INFO\] .*: Writing \/etc\/vllm\/vllm\.env \(mode 0600\) in container 950 \(exit 0, /,
  );
  await s.fake.clearCalls();
  const rerun = await s.run();
  assert.equal(rerun.code, 0, rerun.stderr);
  assert.match(
    rerun.stdout,
    /\[INFO\] .*: 10 checks in one call in container 950, then 3 of the verification's if all pass \(exit 0, [\d.]+ m?s\)\n/,
  );
  assert.equal((await s.calls()).length, 2);

  // The container answers the batch with an error (no bash, say): said once, with why, and
  // every check and verification command then runs on its own.
  await s.fake.clearCalls();
  await s.fake.update((state) => {
    state.failures = [{ command: "exec", times: 1, exit: 127, stderr: 'Failed to exec "bash"' }];
  });
  const fallback = await s.run();
  assert.equal(fallback.code, 0, fallback.stderr);
  const warnings = fallback.stderr.split("\n").filter((line) => line.includes("[WARN]"));
  assert.deepEqual(warnings.map((line) => line.replace(/^.*\[WARN\] \S+ /, "")), [
    "Step 1/7: The batch of 10 checks in container 950 gave no usable answer (exit code 127: " +
    'Failed to exec "bash"); from now on each check runs on its own, one pct call each',
  ]);
  // pct status, the batch, then 10 checks and 3 verification commands one call each.
  assert.equal((await s.calls()).length, 15);
});

Deno.test("950: a null model is a config error naming file, CTID and field, before any pct call", async () => {
  await using s = await server({ config: config(`{ "name": "vllmQwen", "vllm_model": null }`) });
  const run = await s.run();
  assert.equal(run.code, 2);
  assert.match(run.stderr, /vllm_model/);
  assert.match(run.stderr, /950/);
  assert.ok(run.stderr.includes(s.configFile));
  assert.deepEqual(await s.calls(), []);
});

Deno.test("950: is_template true for a standard container is a config error", async () => {
  await using s = await server({
    config: config(`{ "is_template": true, "vllm_model": "${MODEL}" }`),
  });
  const run = await s.run();
  assert.equal(run.code, 2);
  assert.match(
    run.stderr,
    /is_template is true, but the executable for 950 sets up a standard container/,
  );
  assert.deepEqual(await s.calls(), []);
});
