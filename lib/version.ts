/**
 * The version of phoenix-setup and the line `--version` prints. Imports nothing but the CTID
 * helpers, so that the executable's entry answers `--version` before it loads the rest of the
 * program (zx, zod, LogTape and the container module cost most of its start-up).
 *
 * @module
 */

import { executableNameFor } from "./ctid.ts";

/** The version of phoenix-setup, printed by `--version`. */
export const VERSION = "0.1.0";

/**
 * What `--version` prints for the executable of container `ctid`.
 *
 * @example
 * ```ts
 * import { versionLine } from "./version.ts";
 * versionLine("920"); // "phoenix_hypervisor_setup_920.sh (phoenix-setup 0.1.0) for container 920"
 * ```
 */
export function versionLine(ctid: string): string {
  return `${executableNameFor(ctid)} (phoenix-setup ${VERSION}) for container ${ctid}`;
}

/**
 * Answers `--version` (the only argument) for container `ctid` and exits 0; returns for anything
 * else, which the full program handles. The executable's entry calls it first.
 *
 * @example
 * ```ts ignore
 * import { answerVersionAndExit } from "./version.ts";
 * answerVersionAndExit("920", Deno.args);
 * ```
 */
export function answerVersionAndExit(ctid: string, args: readonly string[]): void {
  if (args.length === 1 && args[0] === "--version") {
    console.log(versionLine(ctid));
    Deno.exit(0);
  }
}
