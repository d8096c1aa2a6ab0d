/**
 * The rules Proxmox applies to container IDs, and the names derived from one: the executable's,
 * and the stem its lock and running-commands files share.
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
 * What the names of container `ctid`'s executable and of its run's files (the lock, the running
 * commands) start with.
 *
 * @example
 * ```ts
 * import { setupNameFor } from "./ctid.ts";
 * setupNameFor("920"); // "phoenix_hypervisor_setup_920"
 * ```
 */
export function setupNameFor(ctid: string): string {
  return `phoenix_hypervisor_setup_${ctid}`;
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
  return `${setupNameFor(ctid)}.sh`;
}

/**
 * The container a file name is the setup executable of, or `undefined` when it is no such name.
 * Any digits count (`0950` too): the caller decides whether they make a valid CTID.
 *
 * @example
 * ```ts
 * import { ctidOfExecutableName } from "./ctid.ts";
 * ctidOfExecutableName("phoenix_hypervisor_setup_950.sh"); // "950"
 * ctidOfExecutableName("phoenix_hypervisor_setup_950.sh.bak"); // undefined
 * ```
 */
export function ctidOfExecutableName(name: string): string | undefined {
  return /^phoenix_hypervisor_setup_([0-9]+)\.sh$/.exec(name)?.[1];
}

/**
 * The file name the 2025-09-01 generation of the orchestrator (`phoenix_establish_hypervisor.sh`)
 * looks for when it sets up container `ctid`, and under which it may pass its five-argument form;
 * the executable answers to it too, and `build --install --link-lxc-name` installs it as a link to
 * {@linkcode executableNameFor}.
 *
 * @example
 * ```ts
 * import { lxcScriptNameFor } from "./ctid.ts";
 * lxcScriptNameFor("920"); // "phoenix_hypervisor_lxc_920.sh"
 * ```
 */
export function lxcScriptNameFor(ctid: string): string {
  return `phoenix_hypervisor_lxc_${ctid}.sh`;
}

/**
 * The container a `phoenix_hypervisor_lxc_<CTID>.sh` name is for, or `undefined` for any other
 * name (see {@linkcode ctidOfExecutableName}).
 *
 * @example
 * ```ts
 * import { ctidOfLxcScriptName } from "./ctid.ts";
 * ctidOfLxcScriptName("phoenix_hypervisor_lxc_950.sh"); // "950"
 * ```
 */
export function ctidOfLxcScriptName(name: string): string | undefined {
  return /^phoenix_hypervisor_lxc_([0-9]+)\.sh$/.exec(name)?.[1];
}
