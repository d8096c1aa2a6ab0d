import assert from "node:assert/strict";
import { join } from "node:path";
import { applicationScriptOf } from "../../../lib/config/application_script.ts";
import {
  checkOrchestratorArguments,
  type OrchestratorArguments,
} from "../../../lib/config/orchestrator_arguments.ts";
import { containerConfig, loadConfigFile } from "../../../lib/config/read_config.ts";
import { ConfigError } from "../../../lib/core/errors.ts";
import { ExitCode } from "../../../lib/core/exit_codes.ts";
import { throwsWith } from "../../support/assertions.ts";

const RUNFILE =
  "https://us.download.nvidia.com/XFree86/Linux-x86_64/580.76.05/NVIDIA-Linux-x86_64-580.76.05.run";
const REPO = "https://developer.download.nvidia.com/compute/cuda/repos/debian12/x86_64/";

/** The values of the 2025-09-01 orchestrator for container 901 of `config()`. */
const MATCHING: OrchestratorArguments = {
  gpuAssignment: "0",
  nvidiaDriverVersion: "580.76.05",
  nvidiaRepoUrl: REPO,
  nvidiaRunfileUrl: RUNFILE,
};

async function config(topLevel: Record<string, unknown>, entries: Record<string, unknown>) {
  const dir = await Deno.makeTempDir();
  const file = join(dir, "phoenix_lxc_configs.json");
  await Deno.writeTextFile(file, JSON.stringify({ ...topLevel, lxc_configs: entries }));
  return file;
}

const TOP = {
  nvidia_driver_version: "580.76.05",
  nvidia_repo_url: REPO,
  nvidia_runfile_url: RUNFILE,
};
const ENTRIES = {
  "901": { name: "BaseTemplateGPU", gpu_assignment: "0" },
  "950": { name: "vllmQwen3Coder", application_script: "phoenix_hypervisor_lxc_vllm.sh" },
};

Deno.test("checkOrchestratorArguments passes the values the orchestrator reads from the file", async () => {
  const loaded = await loadConfigFile(await config(TOP, ENTRIES));
  checkOrchestratorArguments(MATCHING, containerConfig(loaded, "901"));
});

Deno.test("checkOrchestratorArguments names both values of each field that differs", async () => {
  const file = await config(TOP, ENTRIES);
  const entry = containerConfig(await loadConfigFile(file), "901");
  const cases: [Partial<OrchestratorArguments>, string][] = [
    [
      { gpuAssignment: "0,1" },
      `argument 2 (GPU assignment) is "0,1", but ${file}: lxc_configs["901"].gpu_assignment is "0"`,
    ],
    [
      { nvidiaDriverVersion: "570.1" },
      `argument 3 (NVIDIA driver version) is "570.1", but ${file}: nvidia_driver_version is ` +
      '"580.76.05"',
    ],
    [
      { nvidiaRepoUrl: "https://example.invalid/" },
      `argument 4 (NVIDIA repository URL) is "https://example.invalid/", but ${file}: ` +
      `nvidia_repo_url is "${REPO}"`,
    ],
    [
      { nvidiaRunfileUrl: "https://example.invalid/x.run" },
      `argument 5 (runfile URL) is "https://example.invalid/x.run", but ${file}: ` +
      `nvidia_runfile_url is "${RUNFILE}"`,
    ],
  ];
  for (const [change, problem] of cases) {
    const error = throwsWith(
      () => checkOrchestratorArguments({ ...MATCHING, ...change }, entry),
      ConfigError,
    );
    assert.equal(error.exitCode, ExitCode.Config);
    assert.equal(
      error.message,
      `The orchestrator's arguments for container 901 disagree with the configuration: ` +
        `${problem}. The setup reads these values from the configuration; make the ` +
        "orchestrator's values and the file agree, then run again",
    );
  }
});

Deno.test("checkOrchestratorArguments reads missing fields as jq -r prints them", async () => {
  const file = await config({}, { "950": { name: "x" } });
  const entry = containerConfig(await loadConfigFile(file), "950");
  // `jq -r '.gpu_assignment // "none"'` and `jq -r '.nvidia_driver_version'` of a missing field.
  checkOrchestratorArguments(
    {
      gpuAssignment: "none",
      nvidiaDriverVersion: "null",
      nvidiaRepoUrl: "null",
      nvidiaRunfileUrl: "null",
    },
    entry,
  );
  const error = throwsWith(() => checkOrchestratorArguments(MATCHING, entry), ConfigError);
  assert.match(
    error.message,
    /argument 3 \(NVIDIA driver version\) is "580\.76\.05", but .*: nvidia_driver_version is missing/,
  );
});

Deno.test("applicationScriptOf reads the entry's name, or says why it cannot", async () => {
  const file = await config(TOP, ENTRIES);
  assert.deepEqual(await applicationScriptOf(file, "950"), {
    name: "phoenix_hypervisor_lxc_vllm.sh",
  });
  assert.deepEqual(await applicationScriptOf(file, "901"), { name: undefined });
  assert.deepEqual(await applicationScriptOf(file, "920"), {
    problem: `${file} has no entry for container 920`,
  });
  const missing = await applicationScriptOf(join(file, "nope"), "950");
  assert.ok(
    "problem" in missing && missing.problem.startsWith(`cannot read ${join(file, "nope")}`),
  );
});
