/**
 * The compiled executable for standard container 950 (vLLM server) against the fake pct: first
 * run, re-run, readiness, and config errors.
 */

import assert from "node:assert/strict";
import type { ExecRule } from "../fake_pct/fake_pct.ts";
import { Scenario } from "./_scenario.ts";

const MODEL = "Qwen/Qwen2.5-Coder-7B-Instruct-AWQ";

function config(entry: string): string {
  return `{ "lxc_configs": { "950": ${entry} } }`;
}

const GOOD = config(`{ "name": "vllmQwen", "vllm_model": "${MODEL}", "vllm_tensor_parallel_size": 2,
  "gpu_assignment": "0,1" }`);

const HEALTH = "^curl -s -o /dev/null -w %\\{http_code\\} http://localhost:8000/health$";

/** systemd and the server, modelled by flags. */
function server(options: { slowStart?: boolean } = {}): ExecRule[] {
  return [
    { match: "^systemctl daemon-reload$" },
    { match: "^systemctl try-restart vllm\\.service$" },
    { match: "^systemctl is-enabled --quiet vllm\\.service$", when: "enabled" },
    { match: "^systemctl is-enabled --quiet vllm\\.service$", exit: 1 },
    { match: "^systemctl is-active --quiet vllm\\.service$", when: "active" },
    { match: "^systemctl is-active --quiet vllm\\.service$", exit: 3 },
    { match: "^systemctl enable --now vllm\\.service$", set: ["enabled", "active"] },
    // The model takes a while to load: the first two probes see a connection refused.
    ...(options.slowStart
      ? [
        {
          match: HEALTH,
          when: "active",
          unless: "probed-once",
          stdout: "000",
          exit: 7,
          set: ["probed-once"],
        },
        {
          match: HEALTH,
          when: "active",
          unless: "probed-twice",
          stdout: "503",
          set: ["probed-twice"],
        },
      ]
      : []),
    { match: HEALTH, when: "active", stdout: "200" },
    { match: HEALTH, stdout: "000", exit: 7 },
    {
      match: "^curl -fsS http://localhost:8000/v1/models$",
      when: "active",
      stdout: JSON.stringify({ object: "list", data: [{ id: MODEL, object: "model" }] }),
    },
  ];
}

Deno.test("950: a first run writes the unit, enables the service and waits for /health", async () => {
  await using s = await Scenario.create("950", {
    containers: { "950": { status: "running" } },
    exec: server(),
  }, GOOD);
  const run = await s.run();
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /Setup for container 950 completed\./);
  assert.doesNotMatch(run.stdout, /container\/template/);
  const unit = (await s.fake.state()).containers["950"].files["/etc/systemd/system/vllm.service"];
  assert.match(
    unit.content,
    /^ExecStart=\/opt\/vllm\/bin\/vllm serve Qwen\/Qwen2\.5-Coder-7B-Instruct-AWQ --host 0\.0\.0\.0 --port 8000 --tensor-parallel-size 2$/m,
  );
  assert.deepEqual(
    await s.mutatingCalls(),
    [],
    "a standard container is never stopped or snapshotted",
  );
  const calls = await s.calls();
  assert.deepEqual(calls.slice(0, 3), [
    ["status", "950"],
    ["exec", "950", "--", "cat", "/etc/systemd/system/vllm.service"],
    ["exec", "950", "--", "tee", "/etc/systemd/system/vllm.service"],
  ]);
  assert.deepEqual(calls.at(-1), [
    "exec",
    "950",
    "--",
    "curl",
    "-fsS",
    "http://localhost:8000/v1/models",
  ]);
});

Deno.test("950: a re-run changes nothing: only checks and probes", async () => {
  await using s = await Scenario.create("950", {
    containers: { "950": { status: "running" } },
    exec: server(),
  }, GOOD);
  assert.equal((await s.run()).code, 0);
  await s.fake.clearCalls();
  const run = await s.run();
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /Step 1\/2 "Write the vllm\.service unit": already done, skipping/);
  assert.match(run.stdout, /Step 2\/2 "Enable and start vllm\.service": already done, skipping/);
  const calls = await s.calls();
  assert.deepEqual(calls.map((c) => c.slice(3).join(" ") || c.join(" ")), [
    "status 950",
    "cat /etc/systemd/system/vllm.service",
    "systemctl is-enabled --quiet vllm.service",
    "systemctl is-active --quiet vllm.service",
    "curl -s -o /dev/null -w %{http_code} http://localhost:8000/health",
    "curl -fsS http://localhost:8000/v1/models",
  ]);
});

Deno.test("950: readiness is polled with backoff until /health answers 200", async () => {
  await using s = await Scenario.create("950", {
    containers: { "950": { status: "running" } },
    exec: server({ slowStart: true }),
  }, GOOD);
  const started = Date.now();
  const run = await s.run();
  assert.equal(run.code, 0, run.stderr);
  const probes = (await s.calls()).filter((c) => c.includes("%{http_code}"));
  assert.equal(probes.length, 3);
  // Pauses of 1 s then 2 s: backoff, not a fixed sleep loop and not a busy loop.
  assert.ok(Date.now() - started >= 3000);
});

Deno.test("950: /v1/models without the configured model fails verification, exit 4", async () => {
  await using s = await Scenario.create("950", {
    containers: { "950": { status: "running" } },
    exec: [
      {
        match: "^curl -fsS http://localhost:8000/v1/models$",
        stdout: '{"data":[{"id":"other/model"}]}',
      },
      ...server(),
    ],
  }, GOOD);
  const run = await s.run();
  assert.equal(run.code, 4);
  assert.match(
    run.stderr,
    /\/v1\/models lists \["other\/model"\], not "Qwen\/Qwen2\.5-Coder-7B-Instruct-AWQ"/,
  );
});

Deno.test("950: a null model is a config error naming file, CTID and field, before any pct call", async () => {
  await using s = await Scenario.create(
    "950",
    { containers: { "950": { status: "running" } } },
    config(
      `{ "name": "vllmQwen", "vllm_model": null }`,
    ),
  );
  const run = await s.run();
  assert.equal(run.code, 2);
  assert.match(run.stderr, /vllm_model/);
  assert.match(run.stderr, /950/);
  assert.ok(run.stderr.includes(s.configFile));
  assert.deepEqual(await s.calls(), []);
});

Deno.test("950: is_template true for a standard container is a config error", async () => {
  await using s = await Scenario.create(
    "950",
    { containers: { "950": { status: "running" } } },
    config(
      `{ "is_template": true, "vllm_model": "${MODEL}" }`,
    ),
  );
  const run = await s.run();
  assert.equal(run.code, 2);
  assert.match(
    run.stderr,
    /is_template is true, but the executable for 950 sets up a standard container/,
  );
  assert.deepEqual(await s.calls(), []);
});
