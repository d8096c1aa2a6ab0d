/**
 * The rule Proxmox applies to snapshot names (`../shared/docs/pct.md`), in one place for the
 * config schema and the snapshot a template ends in.
 *
 * @module
 */

/**
 * A `pct snapshot` name: a letter, then letters, digits, `_` or `-`, 2 to 40 characters in all;
 * not `current` nor `vzdump`, which Proxmox reserves.
 *
 * @example
 * ```ts
 * import { SNAPSHOT_NAME_PATTERN } from "./snapshot_name.ts";
 * SNAPSHOT_NAME_PATTERN.test("template-snapshot"); // true
 * SNAPSHOT_NAME_PATTERN.test("current"); // false
 * ```
 */
export const SNAPSHOT_NAME_PATTERN: RegExp = /^(?!(?:current|vzdump)$)[A-Za-z][A-Za-z0-9_-]{1,39}$/;
