/** What the vLLM server refuses to leave out or cannot reach: unknown fields, unreachable ports. */

import assert from "node:assert/strict";
import { vllmServer } from "../../../../lib/catalog/applications/vllm_server.ts";
import { containerConfig, loadConfigFile } from "../../../../lib/config/read_config.ts";
import { ConfigError } from "../../../../lib/core/errors.ts";

async function settingsOf(entry: Record<string, unknown>) {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/phoenix_lxc_configs.json`;
    await Deno.writeTextFile(file, JSON.stringify({ lxc_configs: { "801": entry } }, null, 2));
    return vllmServer.settings(containerConfig(await loadConfigFile(file), "801"), {});
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const ENTRY = {
  features: ["vllm"],
  gpu_assignment: "0",
  ports: ["8001:8000"],
  vllm_engine_config: {
    ModelConfig: { model: "Qwen/Qwen3-4B-Thinking-2507-FP8", max_model_len: 2048 },
    ServerConfig: { port: 8000 },
  },
};

Deno.test("vllm-server takes the container side of a port mapping", async () => {
  const { healthUrl } = await settingsOf(ENTRY);
  assert.equal(healthUrl, "http://localhost:8000/health");
});

Deno.test("vllm-server refuses a field of vllm_engine_config it would drop", async () => {
  const entry = structuredClone(ENTRY);
  Object.assign(entry.vllm_engine_config, { CacheConfig: { kv_cache_dtype: "fp8" } });
  await assert.rejects(settingsOf(entry), (e) => {
    assert.ok(e instanceof ConfigError);
    assert.match(
      e.message,
      /lxc_configs\["801"\]\.vllm_engine_config\.CacheConfig\.kv_cache_dtype: the vLLM server does not know this field/,
    );
    return true;
  });
});

Deno.test("vllm-server refuses ports that do not reach its port", async () => {
  await assert.rejects(settingsOf({ ...ENTRY, ports: ["8001:8001"] }), (e) => {
    assert.ok(e instanceof ConfigError);
    assert.match(
      e.message,
      /lxc_configs\["801"\]\.ports: no mapping reaches the vLLM server's port 8000/,
    );
    return true;
  });
});

Deno.test("vllm-server refuses an entry without GPUs", async () => {
  await assert.rejects(settingsOf({ ...ENTRY, gpu_assignment: "none" }), (e) => {
    assert.ok(e instanceof ConfigError);
    assert.match(e.message, /gpu_assignment: found "none": the vLLM server of container 801 needs/);
    return true;
  });
});
