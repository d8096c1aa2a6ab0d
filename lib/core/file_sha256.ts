/**
 * The SHA-256 of a file, the one way this project hashes files: the build's `SHA256SUMS` and
 * cache, and the checksum a cluster node's executable is compared by.
 *
 * @module
 */

import { createHash } from "node:crypto";

/**
 * The SHA-256 of the file at `path`, in hex, read in chunks.
 *
 * Streamed through `node:crypto`: WebCrypto digests only a whole buffer (a 100 MB executable read
 * into memory first), which measured 4x slower than this and than `sha256sum`.
 *
 * @param path The file to hash.
 * @returns 64 lowercase hex digits.
 *
 * @example
 * ```ts
 * import { sha256File } from "./file_sha256.ts";
 * const path = await Deno.makeTempFile();
 * await sha256File(path); // "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
 * ```
 */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  const file = await Deno.open(path);
  for await (const chunk of file.readable) hash.update(chunk);
  return hash.digest("hex");
}
