/**
 * What the build leaves in its output directory (`dist/`): the executables and `SHA256SUMS`.
 *
 * @module
 */

import { join } from "node:path";
import { FileHashes } from "./file_hashes.ts";

/**
 * Writes `SHA256SUMS` for every executable in `outDir` (those built earlier with `--ctid` too),
 * in `sha256sum -c` format, and returns how many it lists. Hashes come from `hashes`, so an
 * executable not rebuilt since they were saved is not read again.
 */
export async function writeChecksums(
  outDir: string,
  hashes: FileHashes = new FileHashes(),
): Promise<number> {
  const names = [];
  for await (const entry of Deno.readDir(outDir)) {
    if (/^phoenix_hypervisor_setup_[0-9]+\.sh$/.test(entry.name)) names.push(entry.name);
  }
  const lines = [];
  for (const name of names.sort()) {
    lines.push(`${await hashes.sha256(join(outDir, name))}  ${name}`);
  }
  await Deno.writeTextFile(join(outDir, "SHA256SUMS"), lines.join("\n") + "\n");
  return names.length;
}
