import assert from "node:assert/strict";
import { ContainerEntrySchema, LxcConfigFileSchema } from "../../../lib/config/schema.ts";

function accepts(entry: unknown): boolean {
  return ContainerEntrySchema.safeParse(entry).success;
}

Deno.test("ContainerEntrySchema accepts an entry with no fields at all", () => {
  assert.ok(accepts({}));
});

Deno.test("ContainerEntrySchema accepts features as a flag string, an empty string or a list", () => {
  assert.ok(accepts({ features: "nesting=1,keyctl=1" }));
  assert.ok(accepts({ features: "" }));
  assert.ok(accepts({ features: ["docker", "vllm"] }));
  assert.ok(!accepts({ features: 1 }));
});

Deno.test("ContainerEntrySchema accepts gpu_assignment none, one index or several", () => {
  for (const assignment of ["none", "0", "0,1", "0, 1"]) {
    assert.ok(accepts({ gpu_assignment: assignment }), assignment);
  }
  for (const assignment of ["", "all", "0;1", "gpu0"]) {
    assert.ok(!accepts({ gpu_assignment: assignment }), assignment);
  }
});

Deno.test("ContainerEntrySchema takes only snapshot names pct accepts", () => {
  assert.ok(accepts({ template_snapshot_name: "vllm-base-snapshot" }));
  assert.ok(accepts({ template_snapshot_name: "final_form2" }));
  for (const name of ["current", "vzdump", "1st", "a", "with.dot", "x".repeat(41)]) {
    assert.ok(!accepts({ template_snapshot_name: name }), name);
  }
});

Deno.test("ContainerEntrySchema takes CTIDs as strings of digits in both clone fields", () => {
  assert.ok(accepts({ clone_from_ctid: "900", clone_from_template_ctid: "901" }));
  assert.ok(!accepts({ clone_from_ctid: 900 }));
  assert.ok(!accepts({ clone_from_template_ctid: "09" }));
});

Deno.test("ContainerEntrySchema takes a model name or null, never one with white space", () => {
  assert.ok(accepts({ vllm_model: "Qwen/Qwen2.5-Coder-7B-Instruct-AWQ" }));
  assert.ok(accepts({ vllm_model: null }));
  assert.ok(!accepts({ vllm_model: "" }));
  assert.ok(!accepts({ vllm_model: "Qwen/Qwen2.5 --trust-remote-code" }));
});

Deno.test("ContainerEntrySchema bounds the vLLM numbers", () => {
  assert.ok(accepts({ vllm_tensor_parallel_size: 8, vllm_gpu_memory_utilization: 1 }));
  assert.ok(!accepts({ vllm_tensor_parallel_size: 0 }));
  assert.ok(!accepts({ vllm_tensor_parallel_size: 1.5 }));
  assert.ok(!accepts({ vllm_gpu_memory_utilization: 0 }));
  assert.ok(!accepts({ vllm_gpu_memory_utilization: 1.2 }));
});

Deno.test("ContainerEntrySchema keeps fields it does not know, at every level", () => {
  const entry = {
    future: 1,
    network_config: { name: "eth0", ip: "dhcp", mtu: 9000 },
    vllm_engine_config: { ModelConfig: { model: "a/b", seed: 1 }, LoRAConfig: {} },
  };
  assert.deepEqual(ContainerEntrySchema.parse(entry), entry);
});

Deno.test("LxcConfigFileSchema requires lxc_configs keyed by CTID", () => {
  assert.ok(LxcConfigFileSchema.safeParse({ lxc_configs: { "950": {} } }).success);
  assert.ok(!LxcConfigFileSchema.safeParse({}).success);
  assert.ok(!LxcConfigFileSchema.safeParse({ lxc_configs: { "web": {} } }).success);
});
