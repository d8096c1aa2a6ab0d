/**
 * The 2025-09-01 orchestrator's five-argument form (`phoenix_establish_hypervisor.sh`,
 * `run_specific_setup_script`): for a container whose `gpu_assignment` is not `none` it runs
 * `phoenix_hypervisor_lxc_<CTID>.sh <CTID> <gpu_assignment> <nvidia_driver_version>
 * <nvidia_repo_url> <nvidia_runfile_url>`, each value read from the same file with `jq -r`. The
 * executable reads those values from the config itself, so the arguments are checked, never
 * used: a value that differs means the orchestrator and the file disagree, and the run stops.
 *
 * @module
 */

import { ConfigError } from "../core/errors.ts";
import type { ContainerConfig } from "./read_config.ts";

/** The four values the 2025-09-01 orchestrator passes after the CTID, in its order. */
export interface OrchestratorArguments {
  readonly gpuAssignment: string;
  readonly nvidiaDriverVersion: string;
  readonly nvidiaRepoUrl: string;
  readonly nvidiaRunfileUrl: string;
}

/**
 * A value as `jq -r` prints it: a string as is, `null` for a missing field, anything else as JSON.
 */
function asJqPrints(value: unknown): string {
  if (typeof value === "string") return value;
  return value === undefined ? "null" : JSON.stringify(value);
}

/**
 * Throws {@linkcode ConfigError} (exit 2) naming both values when an argument differs from what
 * the orchestrator would have read from `config`'s file: the entry's `gpu_assignment` (`none`
 * when missing, as its `jq -r '.gpu_assignment // "none"'` reads it) and the top level's
 * `nvidia_driver_version`, `nvidia_repo_url` and `nvidia_runfile_url`.
 *
 * @example
 * ```ts ignore
 * checkOrchestratorArguments(parsed.orchestrator, config); // passes, or throws ConfigError
 * ```
 */
export function checkOrchestratorArguments(
  args: OrchestratorArguments,
  config: ContainerConfig,
): void {
  const { file, data } = config.loaded;
  const fields: readonly [number, string, string, string, unknown][] = [
    [
      2,
      "GPU assignment",
      args.gpuAssignment,
      `lxc_configs["${config.ctid}"].gpu_assignment`,
      config.entry.gpu_assignment ?? "none",
    ],
    [
      3,
      "NVIDIA driver version",
      args.nvidiaDriverVersion,
      "nvidia_driver_version",
      data.nvidia_driver_version,
    ],
    [4, "NVIDIA repository URL", args.nvidiaRepoUrl, "nvidia_repo_url", data.nvidia_repo_url],
    [5, "runfile URL", args.nvidiaRunfileUrl, "nvidia_runfile_url", data.nvidia_runfile_url],
  ];
  const problems = fields.flatMap(([position, what, given, path, value]) =>
    given === asJqPrints(value) ? [] : [
      `argument ${position} (${what}) is ${JSON.stringify(given)}, but ${file}: ${path} is ` +
      (value === undefined ? "missing" : JSON.stringify(value)),
    ]
  );
  if (problems.length > 0) {
    throw new ConfigError(
      `The orchestrator's arguments for container ${config.ctid} disagree with the ` +
        `configuration: ${problems.join("; ")}. The setup reads these values from the ` +
        "configuration; make the orchestrator's values and the file agree, then run again",
    );
  }
}
