/**
 * What kind of run was asked for: a setup, a dry run (`--dry-run`, or the orchestrator's
 * `PHOENIX_DRY_RUN`/`DRY_RUN`), a check (`--check`), a refresh (`--refresh` or
 * `PHOENIX_REFRESH`); and the run's first log line, which says so.
 *
 * @module
 */

import { dryRunRequestedBy, refreshRequested } from "../config/environment.ts";
import { VERSION } from "../core/version.ts";
import type { ContainerModule } from "../module/container_module.ts";
import type { SetupArguments } from "./arguments.ts";

/** What the command line and the environment ask this run to do. */
export interface RunMode {
  /** What asked for a read-only run (`--check`, `--dry-run`, `PHOENIX_DRY_RUN=true`), if any. */
  readonly dryRunBy?: string;
  /** `--check`: read-only, and the exit code answers whether a run would change anything. */
  readonly check: boolean;
  /** `--refresh` / `PHOENIX_REFRESH`: rebuild a complete template and replace its snapshot. */
  readonly refresh: boolean;
}

/**
 * The run's mode from its arguments and environment.
 *
 * @throws {ConfigError} When `PHOENIX_DRY_RUN`, `DRY_RUN` or `PHOENIX_REFRESH` is not yes or no.
 *
 * @example
 * ```ts
 * import { runModeOf } from "./run_mode.ts";
 * runModeOf({ action: "setup", ctid: "920", dryRun: false }, { PHOENIX_REFRESH: "1" });
 * // { check: false, refresh: true }
 * ```
 */
export function runModeOf(
  parsed: SetupArguments,
  env: Readonly<Record<string, string | undefined>>,
): RunMode {
  const dryRunBy = parsed.check ? "--check" : parsed.dryRun ? "--dry-run" : dryRunRequestedBy(env);
  return {
    ...(dryRunBy !== undefined && { dryRunBy }),
    check: parsed.check ?? false,
    refresh: (parsed.refresh ?? false) || refreshRequested(env),
  };
}

/**
 * The run's first log line: the version, what kind of run of which container, and what asked
 * for a dry run.
 *
 * @example
 * ```ts
 * import { openingLine } from "./run_mode.ts";
 * openingLine({ check: false, refresh: false, dryRunBy: "DRY_RUN=1" },
 *   { ctid: "920", kind: "template", description: "vLLM" });
 * // "phoenix-setup 0.1.0: dry run of the setup of template 920 (vLLM); dry run asked for by DRY_RUN=1"
 * ```
 */
export function openingLine(
  mode: RunMode,
  module: Pick<ContainerModule, "ctid" | "kind" | "description">,
): string {
  const what = mode.check
    ? "check of the "
    : mode.dryRunBy
    ? "dry run of the "
    : mode.refresh
    ? "refresh of the "
    : "";
  const container = `${module.kind === "template" ? "template" : "container"} ${module.ctid}`;
  const asked = mode.dryRunBy && !mode.check ? `; dry run asked for by ${mode.dryRunBy}` : "";
  return `phoenix-setup ${VERSION}: ${what}setup of ${container} (${module.description})${asked}`;
}
