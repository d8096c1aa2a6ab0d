import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import {
  cloneSourceOf,
  containerConfig,
  featuresOf,
  gpuIndicesOf,
  isTemplate,
  loadConfigFile,
  nvidiaGpuSettingsOf,
  snapshotNameOf,
  validateEntry,
  vllmSettingsOf,
} from "../../../lib/config/read_config.ts";
import { ContainerEntrySchema } from "../../../lib/config/schema.ts";
import { ConfigError } from "../../../lib/core/errors.ts";
import { ExitCode } from "../../../lib/core/exit_codes.ts";

function fixture(name: string): string {
  return fileURLToPath(new URL(`../../fixtures/configs/${name}`, import.meta.url));
}

/** Asserts that `fn` throws a ConfigError whose message is exactly `message`. */
function throwsConfigError(fn: () => unknown, message: string): void {
  assert.throws(fn, (error) => {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error}`);
    assert.equal(error.message, message);
    return true;
  });
}

async function rejectsConfigError(promise: Promise<unknown>, message: string): Promise<void> {
  await assert.rejects(promise, (error) => {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error}`);
    assert.equal(error.message, message);
    return true;
  });
}

/** Runs `fn` with a temporary file holding `text`. */
async function withTempFile(text: string, fn: (path: string) => Promise<void>): Promise<void> {
  const path = await Deno.makeTempFile({ suffix: ".json" });
  try {
    await Deno.writeTextFile(path, text);
    await fn(path);
  } finally {
    await Deno.remove(path);
  }
}

const FILE_HINT =
  "Set LXC_CONFIG_FILE to the path of phoenix_lxc_configs.json (the orchestrator's " +
  "default is /usr/local/phoenix_hypervisor/etc/phoenix_lxc_configs.json).";

// --- each generation's shape ---------------------------------------------------------------

Deno.test("loadConfigFile reads the top level of the flag-string generation", async () => {
  const loaded = await loadConfigFile(fixture("flag_string_features.json"));
  assert.equal(loaded.file, fixture("flag_string_features.json"));
  assert.equal(loaded.data.nvidia_driver_version, "580.76.05");
  assert.equal(
    loaded.data.nvidia_repo_url,
    "https://developer.download.nvidia.com/compute/cuda/repos/ubuntu2404/x86_64/",
  );
  assert.deepEqual(Object.keys(loaded.data.lxc_configs), ["900", "902", "950", "999"]);
});

Deno.test("featuresOf turns an empty features string into no features", async () => {
  const config = containerConfig(await loadConfigFile(fixture("flag_string_features.json")), "900");
  assert.equal(config.entry.features, "");
  assert.deepEqual(featuresOf(config.entry), []);
});

Deno.test("featuresOf splits a features string and trims each flag", async () => {
  const config = containerConfig(await loadConfigFile(fixture("flag_string_features.json")), "950");
  assert.deepEqual(featuresOf(config.entry), ["nesting=1", "keyctl=1"]);
});

Deno.test("the flag-string generation gives template, snapshot and old clone field", async () => {
  const loaded = await loadConfigFile(fixture("flag_string_features.json"));
  const base = containerConfig(loaded, "900").entry;
  const docker = containerConfig(loaded, "902").entry;
  assert.equal(isTemplate(base), true);
  assert.equal(snapshotNameOf(base, "fallback-snapshot"), "base-snapshot");
  assert.equal(cloneSourceOf(base), undefined);
  assert.equal(snapshotNameOf(docker, "fallback-snapshot"), "docker-snapshot");
  assert.equal(cloneSourceOf(docker), "900");
  assert.deepEqual(featuresOf(docker), ["nesting=1"]);
  assert.deepEqual(gpuIndicesOf(docker), []);
});

Deno.test("vllmSettingsOf reads vllm_model and vllm_tensor_parallel_size", async () => {
  const config = containerConfig(await loadConfigFile(fixture("flag_string_features.json")), "950");
  assert.deepEqual(vllmSettingsOf(config), {
    model: "Qwen/Qwen2.5-Coder-7B-Instruct-AWQ",
    tensorParallelSize: 2,
  });
  assert.deepEqual(gpuIndicesOf(config.entry), [0, 1]);
  assert.equal(isTemplate(config.entry), undefined);
});

Deno.test("loadConfigFile accepts comments, trailing commas and unknown fields", async () => {
  const loaded = await loadConfigFile(fixture("feature_list_clone_from_ctid.jsonc"));
  assert.equal(loaded.data["a_top_level_field_from_the_future"], true);
  const entry = containerConfig(loaded, "951").entry;
  assert.deepEqual(entry["a_field_from_the_future"], { anything: [1, "two", null] });
});

Deno.test("the feature-list generation gives array features and clone_from_ctid", async () => {
  const loaded = await loadConfigFile(fixture("feature_list_clone_from_ctid.jsonc"));
  const gpu = containerConfig(loaded, "901").entry;
  assert.deepEqual(featuresOf(gpu), ["nvidia"]);
  assert.equal(cloneSourceOf(gpu), "900");
  assert.equal(isTemplate(gpu), undefined);
  assert.equal(snapshotNameOf(gpu, "fallback-snapshot"), "gpu-snapshot");
  assert.deepEqual(gpuIndicesOf(gpu), [0, 1], '"0, 1" has a space after the comma');
});

Deno.test("vllmSettingsOf reads vllm_gpu_memory_utilization and vllm_max_model_len", async () => {
  const loaded = await loadConfigFile(fixture("feature_list_clone_from_ctid.jsonc"));
  assert.deepEqual(vllmSettingsOf(containerConfig(loaded, "950")), {
    model: "Qwen/Qwen3-Coder-30B-A3B-Instruct-AWQ",
    tensorParallelSize: 2,
    gpuMemoryUtilization: 0.85,
    maxModelLen: 8192,
  });
});

Deno.test("vllmSettingsOf reads vllm_engine_config", async () => {
  const loaded = await loadConfigFile(fixture("engine_config.json"));
  assert.deepEqual(vllmSettingsOf(containerConfig(loaded, "910")), {
    model: "Qwen/Qwen2.5-7B-Instruct-AWQ",
    tensorParallelSize: 2,
    gpuMemoryUtilization: 0.5,
    maxModelLen: 4096,
    servedModelName: "qwen2.5-7b-awq",
    host: "0.0.0.0",
    port: 8000,
    quantization: "awq_marlin",
    dtype: "auto",
    trustRemoteCode: true,
  });
});

Deno.test("the engine-config generation reads unsorted CTIDs and the latest fields", async () => {
  const loaded = await loadConfigFile(fixture("engine_config.json"));
  // Integer-like keys of a JavaScript object come out in ascending order, whatever the file's.
  assert.deepEqual(Object.keys(loaded.data.lxc_configs), ["101", "900", "910"]);
  const vllm = containerConfig(loaded, "910").entry;
  assert.deepEqual(vllm.vllm_engine_config?.["SchedulerConfig"], { max_num_seqs: 64 });
  assert.deepEqual(vllm.health_check, {
    command: "/usr/local/bin/check_vllm.sh",
    retries: 5,
    interval: 10,
  });
  assert.equal(vllm.zfs_volumes?.[0]?.size_gb, 50);
  const gateway = containerConfig(loaded, "101").entry;
  assert.equal(gateway.network_config?.ip, "dhcp");
  assert.equal(gateway.network_config?.gw, undefined);
  assert.equal(gateway.id_maps?.[0]?.type, "gid");
  assert.equal(gateway.template_file, "gateway-v1.tar.gz");
});

Deno.test("snapshotNameOf falls back when a template has no template_snapshot_name", async () => {
  const base = containerConfig(await loadConfigFile(fixture("engine_config.json")), "900").entry;
  assert.equal(isTemplate(base), true);
  assert.equal(snapshotNameOf(base, "base-snapshot"), "base-snapshot");
  assert.equal(base.firewall?.rules?.[0]?.proto, "icmp");
});

Deno.test("vllmSettingsOf accepts both forms when they agree", async () => {
  const loaded = await loadConfigFile(fixture("vllm_conflicts.json"));
  assert.deepEqual(vllmSettingsOf(containerConfig(loaded, "962")), {
    model: "Qwen/Qwen2-7B-Instruct",
    tensorParallelSize: 2,
  });
});

Deno.test("cloneSourceOf prefers clone_from_ctid over clone_from_template_ctid", () => {
  assert.equal(cloneSourceOf({ clone_from_ctid: "901", clone_from_template_ctid: "903" }), "901");
  assert.equal(cloneSourceOf({}), undefined);
});

Deno.test("gpuIndicesOf gives no GPUs for none or no gpu_assignment", () => {
  assert.deepEqual(gpuIndicesOf({ gpu_assignment: "none" }), []);
  assert.deepEqual(gpuIndicesOf({}), []);
  assert.deepEqual(gpuIndicesOf({ gpu_assignment: "1" }), [1]);
});

Deno.test("featuresOf gives no features when there is no features field", () => {
  assert.deepEqual(featuresOf({}), []);
  assert.deepEqual(featuresOf({ features: ["docker", "vllm"] }), ["docker", "vllm"]);
});

// --- errors ---------------------------------------------------------------------------------

Deno.test("loadConfigFile names a missing file and suggests LXC_CONFIG_FILE", async () => {
  const missing = fixture("does_not_exist.json");
  await rejectsConfigError(
    loadConfigFile(missing),
    `Cannot read the configuration file ${missing}: no such file or directory. ${FILE_HINT}`,
  );
});

Deno.test("loadConfigFile says when the path is a directory", async () => {
  const directory = fixture("");
  await rejectsConfigError(
    loadConfigFile(directory),
    `Cannot read the configuration file ${directory}: it is a directory, not a file. ${FILE_HINT}`,
  );
});

Deno.test("loadConfigFile reports an empty file", async () => {
  await withTempFile("  \n", async (path) => {
    await rejectsConfigError(
      loadConfigFile(path),
      `Cannot parse the configuration file ${path}: it is empty. ${FILE_HINT}`,
    );
  });
});

Deno.test("loadConfigFile lists syntax errors as file:line:column", async () => {
  const path = fixture("syntax_errors.jsonc");
  await rejectsConfigError(
    loadConfigFile(path),
    `Cannot parse the configuration file ${path} as JSON with comments (5 syntax errors):\n` +
      `  ${path}:6:7: Comma expected\n` +
      `  ${path}:6:21: Invalid symbol\n` +
      `  ${path}:6:25: Invalid symbol\n` +
      `  ${path}:6:26: Invalid symbol\n` +
      `  ${path}:7:5: Value expected`,
  );
});

Deno.test("loadConfigFile lists the first five syntax errors and counts the others", async () => {
  await withTempFile('{"a": 1 "b": 2 "c": 3 "d": 4 "e": 5 "f": 6 "g": 7}', async (path) => {
    const error = await loadConfigFile(path).catch((error) => error);
    assert.ok(error instanceof ConfigError);
    const lines = error.message.split("\n");
    assert.equal(
      lines[0],
      `Cannot parse the configuration file ${path} as JSON with comments (6 syntax errors):`,
    );
    assert.equal(lines[1], `  ${path}:1:9: Comma expected`);
    assert.equal(lines.length, 7);
    assert.equal(lines[6], "  (and 1 more)");
  });
});

Deno.test("loadConfigFile counts columns from the first character after a byte-order mark", async () => {
  await withTempFile('\uFEFF{"lxc_configs": 5}', async (path) => {
    await rejectsConfigError(
      loadConfigFile(path),
      `Invalid configuration file: ${path}:1:17: lxc_configs: expected an object keyed by CTID, found 5`,
    );
  });
});

Deno.test("loadConfigFile rejects a file without lxc_configs", async () => {
  const path = fixture("no_lxc_configs.json");
  await rejectsConfigError(
    loadConfigFile(path),
    `Invalid configuration file: ${path}:1:1: top level: missing field lxc_configs`,
  );
});

Deno.test("loadConfigFile rejects lxc_configs that is not an object, with line:column", async () => {
  const path = fixture("lxc_configs_not_object.json");
  await rejectsConfigError(
    loadConfigFile(path),
    "Invalid configuration file (2 problems):\n" +
      `  ${path}:2:30: nvidia_driver_version: expected a driver version such as "580.76.05", ` +
      "found 580\n" +
      `  ${path}:3:20: lxc_configs: expected an object keyed by CTID, found [{"name":"FixtureVllm"}]`,
  );
});

Deno.test("loadConfigFile rejects a CTID that appears twice", async () => {
  const path = fixture("duplicate_ctid.json");
  await rejectsConfigError(
    loadConfigFile(path),
    `Invalid configuration file: ${path}:5:9: lxc_configs: key "950" appears again (first at ` +
      "line 3); only the last one would count: remove or rename one of them",
  );
});

Deno.test("containerConfig lists the CTIDs the file has when the CTID is missing", async () => {
  const path = fixture("wrong_types.json");
  const loaded = await loadConfigFile(path);
  throwsConfigError(
    () => containerConfig(loaded, "951"),
    `Container 951 has no entry in lxc_configs of ${path} (it has 920, 950). Add an entry "951" ` +
      "to lxc_configs, or set LXC_CONFIG_FILE to the file that has it.",
  );
});

Deno.test("containerConfig reports a wrong type with path, line:column, expected and found", async () => {
  const path = fixture("wrong_types.json");
  const loaded = await loadConfigFile(path);
  throwsConfigError(
    () => containerConfig(loaded, "920"),
    `Invalid configuration for container 920: ${path}:5:42: ` +
      'lxc_configs["920"].vllm_tensor_parallel_size: expected an integer from 1 to 8, found "two"',
  );
});

Deno.test("containerConfig lists every problem of an entry in file order", async () => {
  const path = fixture("wrong_types.json");
  const loaded = await loadConfigFile(path);
  throwsConfigError(
    () => containerConfig(loaded, "950"),
    "Invalid configuration for container 950 (4 problems):\n" +
      `  ${path}:9:31: lxc_configs["950"].gpu_assignment: expected "none" or GPU indices such as ` +
      '"0" or "0,1", found "all"\n' +
      `  ${path}:10:25: lxc_configs["950"].features: expected a string such as ` +
      '"nesting=1,keyctl=1" or an array of feature names, found ["vllm",3]\n' +
      `  ${path}:11:55: lxc_configs["950"].network_config.ip: expected a string, found 10\n` +
      `  ${path}:13:42: lxc_configs["950"].vllm_tensor_parallel_size: expected an integer from 1 ` +
      "to 8, found 9",
  );
});

Deno.test("validateEntry reports a field a container module requires as missing, at the entry", async () => {
  const path = fixture("feature_list_clone_from_ctid.jsonc");
  const loaded = await loadConfigFile(path);
  const schema = ContainerEntrySchema.required({ vllm_model: true });
  throwsConfigError(
    () => validateEntry(loaded, "951", schema),
    `Invalid configuration for container 951: ${path}:25:12: lxc_configs["951"]: ` +
      "missing field vllm_model",
  );
  assert.equal(
    validateEntry(loaded, "950", schema).entry.vllm_model,
    "Qwen/Qwen3-Coder-30B-A3B-Instruct-AWQ",
  );
});

Deno.test("validateEntry reports a missing nested field at the object that lacks it", async () => {
  await withTempFile(
    '{"lxc_configs": {\n  "950": {"health_check": {"retries": 3}}\n}}',
    async (path) => {
      const loaded = await loadConfigFile(path);
      throwsConfigError(
        () => containerConfig(loaded, "950"),
        `Invalid configuration for container 950: ${path}:2:27: ` +
          'lxc_configs["950"].health_check: missing field command',
      );
    },
  );
});

Deno.test("validateEntry rejects a key that appears twice in the entry", async () => {
  await withTempFile(
    '{"lxc_configs": {\n  "950": {\n    "vllm_model": "a/b",\n    "vllm_model": "c/d"\n  }\n}}',
    async (path) => {
      const loaded = await loadConfigFile(path);
      throwsConfigError(
        () => containerConfig(loaded, "950"),
        `Invalid configuration for container 950: ${path}:4:5: lxc_configs["950"]: key ` +
          '"vllm_model" appears again (first at line 3); only the last one would count: remove ' +
          "or rename one of them",
      );
    },
  );
});

Deno.test("vllmSettingsOf reports a null vllm_model at the field", async () => {
  const path = fixture("flag_string_features.json");
  const config = containerConfig(await loadConfigFile(path), "999");
  throwsConfigError(
    () => vllmSettingsOf(config),
    `Invalid configuration for container 999: ${path}:68:27: lxc_configs["999"].vllm_model: ` +
      "container 999 has no model to serve (vllm_model is null); set vllm_model to the model " +
      'vLLM should serve, e.g. "Qwen/Qwen2.5-Coder-7B-Instruct-AWQ"',
  );
});

Deno.test("vllmSettingsOf reports a missing model at the entry, naming both fields", async () => {
  const path = fixture("feature_list_clone_from_ctid.jsonc");
  const config = containerConfig(await loadConfigFile(path), "951");
  throwsConfigError(
    () => vllmSettingsOf(config),
    `Invalid configuration for container 951: ${path}:25:12: lxc_configs["951"]: missing field ` +
      "vllm_model: container 951 needs the model vLLM should serve (vllm_model, or " +
      "vllm_engine_config.ModelConfig.model)",
  );
});

Deno.test("vllmSettingsOf rejects a model set differently in both forms", async () => {
  const path = fixture("vllm_conflicts.json");
  const config = containerConfig(await loadConfigFile(path), "960");
  throwsConfigError(
    () => vllmSettingsOf(config),
    `Invalid configuration for container 960: ${path}:7:63: ` +
      'lxc_configs["960"].vllm_engine_config.ModelConfig.model: "Qwen/Qwen2-7B-Instruct" ' +
      'conflicts with vllm_model ("Qwen/Qwen2.5-Coder-7B-Instruct-AWQ"); set it in one place only',
  );
});

Deno.test("vllmSettingsOf rejects a tensor parallel size larger than the assigned GPUs", async () => {
  const path = fixture("vllm_conflicts.json");
  const config = containerConfig(await loadConfigFile(path), "961");
  throwsConfigError(
    () => vllmSettingsOf(config),
    `Invalid configuration for container 961: ${path}:13:42: ` +
      'lxc_configs["961"].vllm_tensor_parallel_size: a tensor parallel size of 2 needs 2 GPUs, ' +
      'but gpu_assignment gives 1 ("0"); lower it or assign more GPUs',
  );
});

Deno.test("a configuration error ends the run with the configuration exit code", async () => {
  const error = await loadConfigFile(fixture("no_lxc_configs.json")).catch((error) => error);
  assert.ok(error instanceof ConfigError);
  assert.equal(error.exitCode, ExitCode.Config);
  assert.equal(error.phase, "configuration");
});

/** The config of container 901 in a file with `top` as its top level. */
async function gpuConfigOf(
  top: Record<string, unknown>,
  entry: Record<string, unknown>,
  fn: (config: ReturnType<typeof containerConfig>, path: string) => void,
): Promise<void> {
  const text = JSON.stringify({ ...top, lxc_configs: { "901": entry } }, null, 2);
  await withTempFile(
    text,
    async (path) => fn(containerConfig(await loadConfigFile(path), "901"), path),
  );
}

const DRIVER = {
  nvidia_driver_version: "580.76.05",
  nvidia_runfile_url:
    "https://us.download.nvidia.com/XFree86/Linux-x86_64/580.76.05/NVIDIA-Linux-x86_64-580.76.05.run",
};

Deno.test("nvidiaGpuSettingsOf reads the GPUs and the top level's driver and installer", async () => {
  await gpuConfigOf(DRIVER, { gpu_assignment: "0, 1" }, (config) => {
    assert.deepEqual(nvidiaGpuSettingsOf(config), {
      gpus: [0, 1],
      driverVersion: "580.76.05",
      runfileUrl: DRIVER.nvidia_runfile_url,
    });
  });
  const placeholder = { ...DRIVER, nvidia_runfile_url: "https://mirror.example/{version}.run" };
  await gpuConfigOf(placeholder, { gpu_assignment: "1" }, (config) => {
    assert.equal(nvidiaGpuSettingsOf(config).runfileUrl, "https://mirror.example/{version}.run");
  });
});

Deno.test("nvidiaGpuSettingsOf reports what a GPU container lacks, where it belongs", async () => {
  await gpuConfigOf(DRIVER, { gpu_assignment: "none" }, (config, path) => {
    throwsConfigError(
      () => nvidiaGpuSettingsOf(config),
      `Invalid configuration for container 901: ${path}:6:25: lxc_configs["901"].gpu_assignment: ` +
        'found "none": container 901 passes NVIDIA GPUs through; set gpu_assignment to their ' +
        'indices, e.g. "0" or "0,1"',
    );
  });
  await gpuConfigOf({ nvidia_driver_version: "580.76.05" }, { gpu_assignment: "0" }, (config) => {
    assert.throws(
      () => nvidiaGpuSettingsOf(config),
      /:1:1: top level: missing field nvidia_runfile_url: container 901 installs the NVIDIA user-space driver from this installer, e\.g\. "https:\/\/us\.download\.nvidia\.com\/XFree86\/Linux-x86_64\/580\.76\.05\/NVIDIA-Linux-x86_64-580\.76\.05\.run"/,
    );
  });
  await gpuConfigOf(
    { ...DRIVER, nvidia_driver_version: "580.82.07" },
    { gpu_assignment: "0" },
    (config) => {
      assert.throws(
        () => nvidiaGpuSettingsOf(config),
        /:3:25: nvidia_runfile_url: ".*580\.76\.05\.run" is not the installer of nvidia_driver_version \(580\.82\.07\)/,
      );
    },
  );
});
