/**
 * The version of phoenix-setup and the line `--version` prints. Imports nothing but the CTID
 * helpers: `read_inputs.ts` answers `--version` before the executable loads the rest of the
 * program (zx, zod and the container module cost most of its start-up).
 *
 * @module
 */

import { executableNameFor } from "./ctid.ts";

/** The version of phoenix-setup, printed by `--version`. */
export const VERSION = "0.1.0";

/** The run report's format version; raised when a field changes meaning or goes. */
export const REPORT_FORMAT = 1;

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
