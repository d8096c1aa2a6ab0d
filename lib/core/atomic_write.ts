/**
 * Replacing a file whole: the new content goes into a temporary file beside it, which is then
 * renamed over it. A rename within a directory is atomic, so a reader (the orchestrator reading a
 * run report, a later run reading the running commands, a shell starting an installed
 * executable) finds the previous file or the new one, never a part of one.
 *
 * The temporary file is hidden (`.<name>.<random>.tmp`) and unique to the call, so writers
 * running at the same time never share one, and it is removed again when writing it fails.
 *
 * @module
 */

import { basename, dirname, join } from "node:path";

/** A unique temporary name beside `path`, in the same directory so the rename stays atomic. */
function temporaryFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${crypto.randomUUID()}.tmp`);
}

/**
 * Replaces `path` whole with what `write` puts into the temporary file it is given.
 *
 * @throws What `write` or the rename throws; the temporary file is gone and `path` untouched.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { atomicWriteSync } from "./atomic_write.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * atomicWriteSync(`${dir}/report.json`, (temporary) => Deno.writeTextFileSync(temporary, "{}\n"));
 * assert.equal(Deno.readTextFileSync(`${dir}/report.json`), "{}\n");
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export function atomicWriteSync(path: string, write: (temporary: string) => void): void {
  const temporary = temporaryFor(path);
  try {
    write(temporary);
    Deno.renameSync(temporary, path);
  } catch (error) {
    try {
      Deno.removeSync(temporary);
    } catch { /* never created */ }
    throw error;
  }
}

/**
 * {@linkcode atomicWriteSync} for a `write` that is asynchronous (copying a file, for one).
 *
 * @throws What `write` or the rename throws; the temporary file is gone and `path` untouched.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { atomicWrite } from "./atomic_write.ts";
 *
 * const dir = await Deno.makeTempDir();
 * await atomicWrite(`${dir}/run.sh`, async (temporary) => {
 *   await Deno.writeTextFile(temporary, "#!/bin/sh\n");
 *   await Deno.chmod(temporary, 0o755);
 * });
 * assert.equal((await Deno.stat(`${dir}/run.sh`)).mode! & 0o777, 0o755);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function atomicWrite(
  path: string,
  write: (temporary: string) => Promise<void>,
): Promise<void> {
  const temporary = temporaryFor(path);
  try {
    await write(temporary);
    await Deno.rename(temporary, path);
  } catch (error) {
    await Deno.remove(temporary).catch(() => {/* never created */});
    throw error;
  }
}
