/**
 * The `application_script` a container's entry names: the file name the 2025-09-07 and newest
 * orchestrators run for it. The executable answers to that name too, so it is read before the
 * run proper, when the executable is invoked under a name that is not one of its own: quickly,
 * with nothing but the JSON parser (the full reading and its precise errors come later).
 *
 * @module
 */

import { parseJsonc } from "../deps/jsonc_parser.ts";

/** What the entry names, or why it could not be read. */
export type ApplicationScriptLookup =
  | { readonly name: string | undefined }
  | { readonly problem: string };

/**
 * Reads `lxc_configs[ctid].application_script` from `file`.
 *
 * @returns `{ name }` (`undefined` when the entry names none), or `{ problem }` saying why the
 *   file could not tell.
 *
 * @example
 * ```ts ignore
 * await applicationScriptOf("/usr/local/phoenix_hypervisor/etc/phoenix_lxc_configs.json", "950");
 * // { name: "phoenix_hypervisor_lxc_950.sh" }
 * ```
 */
export async function applicationScriptOf(
  file: string,
  ctid: string,
): Promise<ApplicationScriptLookup> {
  let data: unknown;
  try {
    data = parseJsonc(await Deno.readTextFile(file), [], { allowTrailingComma: true });
  } catch (error) {
    return { problem: `cannot read ${file}: ${(error as Error).message}` };
  }
  const entry = (data as { lxc_configs?: Record<string, unknown> } | undefined)
    ?.lxc_configs?.[ctid];
  if (typeof entry !== "object" || entry === null) {
    return { problem: `${file} has no entry for container ${ctid}` };
  }
  const name = (entry as { application_script?: unknown }).application_script;
  return { name: typeof name === "string" ? name : undefined };
}
