/**
 * The compiled executable of 950 (vLLM server) against the fake pct and a simulated clone of
 * 920: first run, re-run, dry run, each verification failing, the Hugging Face token, the two
 * generations of vLLM settings, and the configs it must refuse.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  configText,
  ContainerScenario,
  type ContainerScenarioOptions,
  containerTests,
  HIERARCHY,
} from "./_harness.ts";
import { assertExit } from "../support/assertions.ts";

const MODEL = "Qwen/Qwen2.5-Coder-7B-Instruct-AWQ";
const UNIT = "/etc/systemd/system/vllm.service";
const ENV_FILE = "/etc/vllm/vllm.env";
const SERVING = { simulation: { servedModels: [MODEL] } };
const HEALTH =
  "^curl -s --max-time 10 -o /dev/null -w %\\{http_code\\} http://localhost:8000/health$";

containerTests({
  ctid: "950",
  pctCalls: { firstRun: 12, rerun: 2, dryRun: 2 },
  fresh: SERVING,
  verificationFailures: [
    {
      verification: "GET /health answers 200",
      exec: [{ match: HEALTH, stdout: "503" }],
      env: { PHOENIX_READY_TIMEOUT: "1" },
      message:
        /Timed out after 1.0 s waiting for http:\/\/localhost:8000\/health to answer 200 in container 950 \(\d+ attempts?; last: HTTP 503\)/,
    },
    {
      verification: "/v1/models lists the served model",
      exec: [{
        match: "^curl -fsS --max-time 30 http://localhost:8000/v1/models$",
        stdout: '{"object":"list","data":[{"id":"other/model"}]}',
      }],
      message:
        /http:\/\/localhost:8000\/v1\/models lists \["other\/model"\], not "Qwen\/Qwen2\.5-Coder-7B-Instruct-AWQ"/,
    },
  ],
  afterFirstRun: async (s) => {
    const files = (await s.fake.state()).containers["950"].files;
    assert.equal(
      files[UNIT].content,
      [
        "[Unit]",
        `Description=vLLM OpenAI-compatible server for ${MODEL}`,
        "After=network-online.target",
        "Wants=network-online.target",
        "",
        "[Service]",
        `EnvironmentFile=${ENV_FILE}`,
        `ExecStart=/opt/vllm/bin/vllm serve ${MODEL} --host 0.0.0.0 --port 8000 ` +
        "--tensor-parallel-size 2",
        "Restart=on-failure",
        "RestartSec=10",
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
      ].join("\n"),
    );
    assert.equal(files[UNIT].mode, "0644");
    assert.deepEqual(files[ENV_FILE], {
      content: "# No Hugging Face token was given (HF_TOKEN or HF_TOKEN_FILE of the setup run).\n",
      mode: "0600",
    });
  },
});

function server(options: Partial<ContainerScenarioOptions> = {}): Promise<ContainerScenario> {
  return ContainerScenario.of({ ctid: "950", ...SERVING, ...options });
}

Deno.test("950: the Hugging Face token reaches the service through a root-only file, and nowhere else", async (t) => {
  const token = "hf_AbCdEfGhIjKlMnOpQrStUvWxYz0123";
  const other = "hf_ZyXwVuTsRqPoNmLkJiHgFeDcBa9876";
  await using s = await server();
  const tokenFile = join(s.dir, "hf_token");
  await Deno.writeTextFile(tokenFile, `${other}\n`, { mode: 0o600 });

  await t.step("HF_TOKEN: written with mode 0600, masked everywhere", async () => {
    const run = await s.run(["950"], { env: { HF_TOKEN: token, PHOENIX_DEBUG: "true" } });
    assertExit(run, 0);
    const file = (await s.fake.state()).containers["950"].files[ENV_FILE];
    assert.equal(
      file.content.split("\n").filter((line) => !line.startsWith("#")).join(""),
      `HF_TOKEN=${token}`,
    );
    assert.equal(file.mode, "0600");
    const seen = run.stdout + run.stderr + (await s.logLines()).join("\n") +
      JSON.stringify(await s.calls());
    assert.ok(!seen.includes(token), "the token appears in no output, log line or pct call");
  });

  await t.step("the same token again: nothing changes", async () => {
    await s.fake.clearCalls();
    assertExit(await s.run(["950"], { env: { HF_TOKEN: token } }), 0);
    await s.assertNothingChanged();
  });

  await t.step("HF_TOKEN_FILE with another token: the file changes and vLLM restarts", async () => {
    await s.fake.clearCalls();
    const run = await s.run(["950"], { env: { HF_TOKEN_FILE: tokenFile } });
    assertExit(run, 0);
    const file = (await s.fake.state()).containers["950"].files[ENV_FILE];
    assert.match(file.content, new RegExp(`^HF_TOKEN=${other}$`, "m"));
    const lines = await s.callLines();
    assert.deepEqual(lines.filter((line) => line.includes("<write file>")), [
      `pct exec 950 -- bash -c <write file> bash /etc/vllm ${ENV_FILE} 0600`,
    ]);
    assert.ok(lines.includes("pct exec 950 -- systemctl restart vllm.service"));
    const seen = run.stdout + run.stderr + (await s.logLines()).join("\n") + lines.join("\n");
    assert.ok(!seen.includes(other), "a token from a file is masked too");
  });

  await t.step("no token given: the container's token stays and nothing restarts", async () => {
    await s.fake.clearCalls();
    const run = await s.run(["950"]);
    assertExit(run, 0);
    await s.assertNothingChanged();
    const lines = await s.callLines();
    assert.ok(!lines.some((line) => line.includes("systemctl restart")), lines.join("\n"));
    assert.equal(lines.length, 2, "pct status and one batch of checks");
    const file = (await s.fake.state()).containers["950"].files[ENV_FILE];
    assert.match(file.content, new RegExp(`^HF_TOKEN=${other}$`, "m"));
    const said = run.stdout.split("\n").filter((line) => line.includes(ENV_FILE));
    assert.equal(said.length, 2, said.join("\n"));
    assert.match(
      said[0],
      /\[INFO\] .*: \/etc\/vllm\/vllm\.env in container 950 is left as it is: no HF_TOKEN or HF_TOKEN_FILE was given, so the Hugging Face token it holds stays and vllm\.service is not restarted \(PHOENIX_HF_REMOVE=true removes the token\)$/,
    );
    assert.match(said[1], /Step 5\/7 .*: check: already done, skipping$/);
  });

  await t.step(
    "PHOENIX_HF_REMOVE=true: the token goes, vLLM restarts, the log says so",
    async () => {
      await s.fake.clearCalls();
      const run = await s.run(["950"], { env: { PHOENIX_HF_REMOVE: "true" } });
      assertExit(run, 0);
      const file = (await s.fake.state()).containers["950"].files[ENV_FILE];
      assert.equal(
        file.content,
        "# No Hugging Face token was given (HF_TOKEN or HF_TOKEN_FILE of the setup run).\n",
      );
      assert.equal(file.mode, "0600");
      assert.match(
        run.stdout,
        /\[INFO\] .*: Removed the Hugging Face token from \/etc\/vllm\/vllm\.env in container 950, as PHOENIX_HF_REMOVE asks\n/,
      );
      assert.ok((await s.callLines()).includes("pct exec 950 -- systemctl restart vllm.service"));
    },
  );

  await t.step("PHOENIX_HF_REMOVE=true again, or no token: nothing changes", async () => {
    for (const env of [{ PHOENIX_HF_REMOVE: "yes" }, {}] as Record<string, string>[]) {
      await s.fake.clearCalls();
      const run = await s.run(["950"], { env });
      assertExit(run, 0);
      await s.assertNothingChanged();
      assert.doesNotMatch(run.stdout, /left as it is|Removed the Hugging Face token/);
    }
  });

  await t.step(
    "PHOENIX_HF_REMOVE with HF_TOKEN, or not yes/no: exit 2 before any pct call",
    async () => {
      for (
        const [env, message] of [
          [
            { PHOENIX_HF_REMOVE: "1", HF_TOKEN: token },
            /PHOENIX_HF_REMOVE asks to remove the Hugging Face token, but HF_TOKEN or HF_TOKEN_FILE gives one: set only one of them/,
          ],
          [
            { PHOENIX_HF_REMOVE: "please" },
            /Cannot tell whether to remove the Hugging Face token from the container, as PHOENIX_HF_REMOVE="please" is not a yes\/no value/,
          ],
        ] as const
      ) {
        await s.fake.clearCalls();
        const run = await s.run(["950"], { env });
        assertExit(run, 2);
        assert.match(run.stderr, message);
        assert.deepEqual(await s.calls(), []);
      }
    },
  );

  await t.step("HF_TOKEN and HF_TOKEN_FILE together: exit 2 before anything changes", async () => {
    await s.fake.clearCalls();
    const run = await s.run(["950"], { env: { HF_TOKEN: token, HF_TOKEN_FILE: tokenFile } });
    assertExit(run, 2);
    assert.match(run.stderr, /Both HF_TOKEN and HF_TOKEN_FILE are set/);
    assert.deepEqual(await s.calls(), [], "read with the config, before any pct call");
  });

  await t.step("an unreadable HF_TOKEN_FILE: exit 2 before anything changes", async () => {
    await s.fake.clearCalls();
    const run = await s.run(["950"], { env: { HF_TOKEN_FILE: join(s.dir, "missing") } });
    assertExit(run, 2);
    assert.match(
      run.stderr,
      /Cannot read the Hugging Face token from the file named by HF_TOKEN_FILE: no such file or directory\n/,
    );
    assert.deepEqual(await s.calls(), [], "read with the config, before any pct call");
  });
});

Deno.test("950: vllm_engine_config gives the model, parallelism, port and served name", async () => {
  const engine = {
    ModelConfig: {
      model: "Qwen/Qwen2.5-7B-Instruct-AWQ",
      trust_remote_code: true,
      dtype: "auto",
      max_model_len: 4096,
    },
    CacheConfig: { quantization: "awq_marlin", gpu_memory_utilization: 0.5 },
    ParallelConfig: { tensor_parallel_size: 2 },
    ServerConfig: { host: "0.0.0.0", port: 8001, served_model_name: "qwen2.5-7b-awq" },
  };
  await using s = await server({
    config: configText({
      "950": {
        name: "vllm",
        clone_from_ctid: "920",
        gpu_assignment: "0,1",
        vllm_engine_config: engine,
      },
    }),
    simulation: { servedModels: ["qwen2.5-7b-awq"] },
  });
  assertExit(await s.run(), 0);
  const unit = (await s.fake.state()).containers["950"].files[UNIT].content;
  assert.match(
    unit,
    /^ExecStart=\/opt\/vllm\/bin\/vllm serve Qwen\/Qwen2\.5-7B-Instruct-AWQ --host 0\.0\.0\.0 --port 8001 --tensor-parallel-size 2 --gpu-memory-utilization 0\.5 --max-model-len 4096 --served-model-name qwen2\.5-7b-awq --quantization awq_marlin --dtype auto --trust-remote-code$/m,
  );
  const execs = (await s.execs()).map((argv) => argv.join(" "));
  assert.ok(execs.some((line) => line.endsWith("http://localhost:8001/health")));
  assert.ok(execs.some((line) => line.endsWith("http://localhost:8001/v1/models")));
});

Deno.test("950: configs without a model vLLM can serve are config errors, before any pct call", async (t) => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    [
      "vllm_model null",
      { ...HIERARCHY["950"], vllm_model: null },
      /lxc_configs\["950"\]\.vllm_model: container 950 has no model to serve \(vllm_model is null\)/,
    ],
    [
      "no model at all",
      { name: "vllmQwen3Coder", gpu_assignment: "0,1" },
      /lxc_configs\["950"\]: missing field vllm_model: container 950 needs the model vLLM should serve/,
    ],
    [
      "an MLX model",
      {
        ...HIERARCHY["950"],
        vllm_model: "lmstudio-community/Qwen3-Coder-30B-A3B-Instruct-MLX-5bit",
      },
      /lxc_configs\["950"\]\.vllm_model: "lmstudio-community\/Qwen3-Coder-30B-A3B-Instruct-MLX-5bit" is an MLX model \(for Apple silicon\), which vLLM cannot serve/,
    ],
    [
      "more GPUs than assigned",
      { ...HIERARCHY["950"], gpu_assignment: "0" },
      /lxc_configs\["950"\]\.vllm_tensor_parallel_size: a tensor parallel size of 2 needs 2 GPUs/,
    ],
    [
      "a model name systemd would expand",
      { ...HIERARCHY["950"], vllm_model: "/models/100%-fine" },
      /lxc_configs\["950"\]\.vllm_model: "\/models\/100%-fine" cannot go into the service's command line/,
    ],
  ];
  for (const [name, entry, message] of cases) {
    await t.step(name, async () => {
      await using s = await server({ config: configText({ "950": entry }) });
      const run = await s.run();
      assertExit(run, 2);
      assert.match(run.stderr, message);
      assert.ok(run.stderr.includes(s.configFile));
      assert.deepEqual(await s.calls(), []);
    });
  }
});
