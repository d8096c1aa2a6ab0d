/**
 * The rules Proxmox applies to container IDs, and the executable name derived from one.
 *
 * @module
 */

/** A VMID as Proxmox accepts it: 100..999999999, digits only, no leading zero. */
export const CTID_PATTERN: RegExp = /^[1-9][0-9]{2,8}$/;

/**
 * Explains why `value` is not a valid CTID, or returns `undefined` when it is one.
 *
 * @example
 * ```ts
 * import { describeInvalidCtid } from "./ctid.ts";
 * describeInvalidCtid("920"); // undefined
 * describeInvalidCtid("92a"); // 'Cannot use CTID "92a": expected digits only'
 * ```
 */
export function describeInvalidCtid(value: string): string | undefined {
  if (CTID_PATTERN.test(value)) return undefined;
  const shown = JSON.stringify(value);
  if (value === "") return "Cannot use an empty CTID: expected a number from 100 to 999999999";
  if (!/^[0-9]+$/.test(value)) return `Cannot use CTID ${shown}: expected digits only`;
  if (value.startsWith("0")) return `Cannot use CTID ${shown}: a CTID has no leading zero`;
  return `Cannot use CTID ${shown}: expected a number from 100 to 999999999`;
}

/**
 * The file name the orchestrator looks for when it sets up container `ctid`.
 *
 * @example
 * ```ts
 * import { executableNameFor } from "./ctid.ts";
 * executableNameFor("920"); // "phoenix_hypervisor_setup_920.sh"
 * ```
 */
export function executableNameFor(ctid: string): string {
  return `phoenix_hypervisor_setup_${ctid}.sh`;
}

/**
 * The other file name the executable answers to: the one the 2025-09-01 orchestrator
 * (`phoenix_establish_hypervisor.sh`) looks for, and under which it passes its five-argument form.
 *
 * @example
 * ```ts
 * import { hookNameFor } from "./ctid.ts";
 * hookNameFor("920"); // "phoenix_hypervisor_lxc_920.sh"
 * ```
 */
export function hookNameFor(ctid: string): string {
  return `phoenix_hypervisor_lxc_${ctid}.sh`;
}
