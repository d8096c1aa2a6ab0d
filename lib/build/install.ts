/**
 * Installing the built executables into the directory the orchestrator runs them from.
 *
 * @module
 */

import { basename, join } from "node:path";

/** Copies each file into `dir` atomically (temporary name, then rename) with mode 0755. */
export async function installExecutables(files: readonly string[], dir: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  for (const file of files) {
    const target = join(dir, basename(file));
    const temporary = `${target}.tmp-${Deno.pid}`;
    await Deno.copyFile(file, temporary);
    await Deno.chmod(temporary, 0o755);
    await Deno.rename(temporary, target);
    console.log(`Installed ${target}`);
  }
}
