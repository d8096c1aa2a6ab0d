/**
 * What the build leaves in its output directory (`dist/`): exactly the executables it made, and
 * `SHA256SUMS` listing exactly those.
 *
 * @module
 */

import { join } from "node:path";
import { ctidOfExecutableName } from "../core/ctid.ts";
import { FileHashes } from "./file_hashes.ts";

/** Whether `name` is an executable's name (`phoenix_hypervisor_setup_<digits>.sh`). */
function isExecutableName(name: string): boolean {
  return ctidOfExecutableName(name) !== undefined;
}

/**
 * Removes from `outDir` every executable whose name is not in `made` (an earlier build's), and
 * returns the names removed, sorted. Nothing else in `outDir` is touched.
 *
 * @example
 * ```ts
 * import { removeOthers } from "./dist.ts";
 * const dir = await Deno.makeTempDir();
 * for (const name of ["phoenix_hypervisor_setup_920.sh", "phoenix_hypervisor_setup_950.sh", "notes.txt"]) {
 *   await Deno.writeTextFile(`${dir}/${name}`, "");
 * }
 * await removeOthers(dir, ["phoenix_hypervisor_setup_920.sh"]); // ["phoenix_hypervisor_setup_950.sh"]
 * ```
 */
export async function removeOthers(outDir: string, made: readonly string[]): Promise<string[]> {
  const removed: string[] = [];
  for await (const entry of Deno.readDir(outDir)) {
    if (isExecutableName(entry.name) && !made.includes(entry.name)) {
      await Deno.remove(join(outDir, entry.name));
      removed.push(entry.name);
    }
  }
  return removed.sort();
}

/**
 * Writes `SHA256SUMS` for every executable in `outDir` (after {@linkcode removeOthers}, exactly
 * those this build made), in `sha256sum -c` format, and returns how many it lists. Hashes come
 * from `hashes`, so an executable not rebuilt since they were saved is not read again.
 */
export async function writeChecksums(
  outDir: string,
  hashes: FileHashes = new FileHashes(),
): Promise<number> {
  const names = [];
  for await (const entry of Deno.readDir(outDir)) {
    if (isExecutableName(entry.name)) names.push(entry.name);
  }
  const lines = [];
  for (const name of names.sort()) {
    lines.push(`${await hashes.sha256(join(outDir, name))}  ${name}`);
  }
  await Deno.writeTextFile(join(outDir, "SHA256SUMS"), lines.join("\n") + "\n");
  return names.length;
}
