/**
 * A temporary directory for one test.
 *
 * @module
 */

/**
 * Runs `fn` with a new temporary directory, and removes the directory afterwards, however `fn`
 * ended.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { withTempDir } from "./temp_dir.ts";
 *
 * let kept = "";
 * await withTempDir(async (dir) => {
 *   await Deno.writeTextFile(`${dir}/note`, "x");
 *   kept = dir;
 * });
 * assert.equal(await Deno.stat(kept).then(() => true, () => false), false);
 * ```
 */
export async function withTempDir<T>(fn: (dir: string) => Promise<T> | T): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "phoenix-test-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Whether anything is at `path` (a symbolic link itself counts, not what it points to). */
export function pathExists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
