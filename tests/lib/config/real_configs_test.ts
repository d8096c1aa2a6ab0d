/**
 * Checks the reader against real `phoenix_lxc_configs.json` files from the Phoenix Hypervisor's
 * history, kept next to the repository in `../shared/real-configs` (never copied into it). Without
 * that folder every test here is registered as ignored, with a name saying why.
 */

import assert from "node:assert/strict";
import {
  cloneSourceOf,
  containerConfig,
  featuresOf,
  gpuIndicesOf,
  isTemplate,
  loadConfigFile,
  type LoadedConfig,
  snapshotNameOf,
  vllmSettingsOf,
} from "../../../lib/config/read_config.ts";
import { LxcConfigFileSchema } from "../../../lib/config/schema.ts";
import { ConfigError } from "../../../lib/core/errors.ts";
import { throwsWith } from "../../support/assertions.ts";
import {
  GENERATIONS,
  presentGenerations,
  REAL_CONFIGS_ABSENT,
  REAL_CONFIGS_AVAILABLE,
  realConfigPath,
} from "../../support/real_configs.ts";

/** Registers a test that needs the real configs; ignored, saying why, when they are absent. */
function realTest(name: string, fn: () => void | Promise<void>): void {
  Deno.test({
    name: REAL_CONFIGS_AVAILABLE ? name : `${name} ${REAL_CONFIGS_ABSENT}`,
    ignore: !REAL_CONFIGS_AVAILABLE,
    fn,
  });
}

/** The message of the ConfigError `fn` throws. */
function configErrorOf(fn: () => unknown): string {
  return throwsWith(fn, ConfigError).message;
}

function entryOf(loaded: LoadedConfig, ctid: string) {
  return containerConfig(loaded, ctid).entry;
}

realTest("real configs: ../shared/real-configs holds the seven known generations", () => {
  const found = presentGenerations()
    .filter((generation) => generation !== undefined);
  assert.deepEqual(found.sort(), [...GENERATIONS].sort());
});

for (const generation of GENERATIONS) {
  realTest(`real config ${generation}: loads, and every entry validates`, async () => {
    const loaded = await loadConfigFile(realConfigPath(generation));
    const ctids = Object.keys(loaded.data.lxc_configs);
    assert.ok(ctids.length >= 4);
    for (const ctid of ctids) containerConfig(loaded, ctid);
    assert.ok(LxcConfigFileSchema.safeParse(loaded.data).success);
  });
}

realTest("real config ff11a70: flag-string features, one index per GPU, a null model", async () => {
  const loaded = await loadConfigFile(realConfigPath("ff11a70_earliest_root"));
  assert.equal(loaded.data.nvidia_driver_version, "580.76.05");
  assert.equal(loaded.data.nvidia_runfile_url, undefined);
  const first = entryOf(loaded, "900");
  assert.deepEqual(featuresOf(first), ["nesting=1", "keyctl=1"]);
  assert.deepEqual(gpuIndicesOf(first), [0]);
  assert.equal(isTemplate(first), undefined);
  assert.equal(cloneSourceOf(first), undefined);
  assert.deepEqual(vllmSettingsOf(containerConfig(loaded, "902")), {
    model: "/models/Qwen/Qwen2.5-Coder-7B-Instruct",
    tensorParallelSize: 2,
  });
  assert.deepEqual(gpuIndicesOf(entryOf(loaded, "999")), []);
  assert.match(
    configErrorOf(() => vllmSettingsOf(containerConfig(loaded, "999"))),
    /ff11a70_earliest_root\.json:91:27: lxc_configs\["999"\]\.vllm_model: container 999 has no model to serve \(vllm_model is null\)/,
  );
});

realTest(
  "real config 185f0ab: empty features, is_template and clone_from_template_ctid",
  async () => {
    const loaded = await loadConfigFile(realConfigPath("185f0ab_first_is_template"));
    const base = entryOf(loaded, "900");
    assert.equal(base.features, "");
    assert.deepEqual(featuresOf(base), []);
    assert.equal(isTemplate(base), true);
    assert.equal(snapshotNameOf(base, "unused"), "base-snapshot");
    const vllmBase = entryOf(loaded, "920");
    assert.equal(cloneSourceOf(vllmBase), "903");
    assert.equal(snapshotNameOf(vllmBase, "unused"), "vllm-base-snapshot");
    assert.equal(snapshotNameOf(entryOf(loaded, "903"), "unused"), "docker-gpu-snapshot");
    assert.equal(isTemplate(entryOf(loaded, "950")), undefined);
    assert.deepEqual(vllmSettingsOf(containerConfig(loaded, "950")), {
      model: "lmstudio-community/Qwen3-Coder-30B-A3B-Instruct-MLX-5bit",
      tensorParallelSize: 2,
    });
  },
);

realTest("real config fe8c1c1: the reference hierarchy with its snapshots", async () => {
  const loaded = await loadConfigFile(realConfigPath("fe8c1c1_last_is_template"));
  assert.equal(loaded.data.nvidia_driver_version, "580.76.06");
  const hierarchy = Object.fromEntries(
    Object.keys(loaded.data.lxc_configs).map((ctid) => {
      const entry = entryOf(loaded, ctid);
      return [ctid, [cloneSourceOf(entry), isTemplate(entry), snapshotNameOf(entry, "-")]];
    }),
  );
  assert.deepEqual(hierarchy, {
    "900": [undefined, true, "base-snapshot"],
    "901": ["900", true, "gpu-snapshot"],
    "902": ["900", true, "docker-snapshot"],
    "910": ["902", undefined, "-"],
    "920": ["901", true, "vllm-base-snapshot"],
    "950": ["920", undefined, "-"],
  });
  assert.deepEqual(featuresOf(entryOf(loaded, "900")), [], "900 has no features field");
  assert.deepEqual(featuresOf(entryOf(loaded, "950")), ["nesting=1", "keyctl=1"]);
});

realTest(
  "real config 40a78ef: feature lists, clone_from_ctid, and 950 without a model",
  async () => {
    const loaded = await loadConfigFile(realConfigPath("40a78ef_first_clone_from_ctid"));
    const base = entryOf(loaded, "900");
    assert.equal(isTemplate(base), undefined);
    assert.equal(snapshotNameOf(base, "unused"), "base-snapshot");
    assert.deepEqual(featuresOf(entryOf(loaded, "920")), ["docker", "vllm"]);
    assert.equal(cloneSourceOf(entryOf(loaded, "950")), "920");
    assert.equal(entryOf(loaded, "950")["application_script"], "phoenix_hypervisor_lxc_950.sh");
    assert.match(
      configErrorOf(() => vllmSettingsOf(containerConfig(loaded, "950"))),
      /40a78ef_first_clone_from_ctid\.json:117:16: lxc_configs\["950"\]: missing field vllm_model/,
    );
  },
);

realTest("real config 6707799: vllm_gpu_memory_utilization and vllm_max_model_len", async () => {
  const loaded = await loadConfigFile(realConfigPath("6707799_last_old_path"));
  assert.deepEqual(vllmSettingsOf(containerConfig(loaded, "950")), {
    model: "cpatonn/Qwen3-Coder-30B-A3B-Instruct-AWQ-4bit",
    tensorParallelSize: 2,
    gpuMemoryUtilization: 0.85,
    maxModelLen: 8192,
  });
  assert.deepEqual(gpuIndicesOf(entryOf(loaded, "955")), [0]);
  assert.deepEqual(gpuIndicesOf(entryOf(loaded, "957")), [1]);
  assert.equal(entryOf(loaded, "953").portainer_role, "infrastructure");
});

realTest('real config 0385ea2: unsorted CTIDs, "0, 1", engine config, final-form', async () => {
  const loaded = await loadConfigFile(realConfigPath("0385ea2_main_head"));
  assert.deepEqual(
    Object.keys(loaded.data.lxc_configs),
    ["101", "102", "103", "801", "802", "900", "901", "910", "911", "912", "914", "917"],
  );
  assert.deepEqual(gpuIndicesOf(entryOf(loaded, "901")), [0, 1]);
  assert.equal(snapshotNameOf(entryOf(loaded, "900"), "unused"), "final-form");
  assert.equal(isTemplate(entryOf(loaded, "900")), undefined);
  assert.deepEqual(entryOf(loaded, "101").pct_options, ["nesting=1"]);
  assert.deepEqual(vllmSettingsOf(containerConfig(loaded, "911")), {
    model: "Qwen/Qwen2-7B-Instruct",
    tensorParallelSize: 1,
    gpuMemoryUtilization: 0.9,
    maxModelLen: 8192,
    servedModelName: "qwen2-7b-fp8",
    host: "0.0.0.0",
    port: 8000,
    quantization: "fp8",
    dtype: "auto",
    trustRemoteCode: true,
  });
});

realTest(
  "real config 35c465b: templates without a snapshot name, dhcp, template_file",
  async () => {
    const loaded = await loadConfigFile(realConfigPath("35c465b_latest_rootesting"));
    const base = entryOf(loaded, "900");
    assert.equal(isTemplate(base), true);
    assert.equal(base.template_snapshot_name, undefined);
    assert.equal(snapshotNameOf(base, "base-snapshot"), "base-snapshot");
    assert.equal(
      vllmSettingsOf(containerConfig(loaded, "910")).model,
      "Qwen/Qwen2.5-7B-Instruct-AWQ",
    );
    assert.match(
      configErrorOf(() => vllmSettingsOf(containerConfig(loaded, "911"))),
      /lxc_configs\["911"\]: missing field vllm_model/,
    );
    const gateway = entryOf(loaded, "101");
    assert.equal(gateway.network_config?.ip, "dhcp");
    assert.equal(gateway.template_file, "nginx-phoenix-v1.tar.gz");
    assert.equal(entryOf(loaded, "900").firewall?.rules?.[0]?.proto, "icmp");
  },
);
