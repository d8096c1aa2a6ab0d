/**
 * How the build recognises an executable it made without running it: every executable embeds
 * {@linkcode EXECUTABLE_MARKER} (the entry program exports it, so the bundler keeps it, and
 * `deno compile` stores the bundle's text as it is). A file counts as ours when it is an ELF
 * program that holds the marker; a symbolic link counts by the file it leads to. So a copy made
 * by hand from `dist/`, or one a user installed from another machine, is recognised too, and a
 * hand-written script (even one that mentions phoenix-setup) is not.
 *
 * @module
 */

import { Buffer } from "node:buffer";

/** The string every executable embeds; change it never, or older executables look foreign. */
export const EXECUTABLE_MARKER = "phoenix-setup executable, made by build.ts (5d0e6a4c)";

const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);

/** How much is read at a time, from the end of the file back. */
const CHUNK = 1 << 20;

/**
 * Whether the file at `path` (a link followed) is an executable this build made: an ELF
 * program holding {@linkcode EXECUTABLE_MARKER}. The program's bundle is at the end of the file,
 * so it is read from the end back, in chunks: a few milliseconds for an executable; a file that
 * cannot be read is not ours.
 *
 * @example
 * ```ts
 * import { isOurExecutable } from "./marker.ts";
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "#!/bin/bash\n# phoenix-setup executable\n");
 * await isOurExecutable(path); // false
 * ```
 */
export async function isOurExecutable(path: string): Promise<boolean> {
  const marker = Buffer.from(EXECUTABLE_MARKER);
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path);
  } catch {
    return false;
  }
  try {
    const { size } = await file.stat();
    if (size < ELF_MAGIC.length || !(await readAt(file, 0, ELF_MAGIC.length)).equals(ELF_MAGIC)) {
      return false;
    }
    // Chunks overlap by the marker's length, so that a marker across a boundary is found.
    for (let end = size; end > 0; end -= CHUNK - marker.length) {
      const start = Math.max(0, end - CHUNK);
      if ((await readAt(file, start, end - start)).indexOf(marker) >= 0) return true;
      if (start === 0) break;
    }
    return false;
  } catch {
    return false;
  } finally {
    file.close();
  }
}

/** `length` bytes of `file` from `offset` (fewer at its end). */
async function readAt(file: Deno.FsFile, offset: number, length: number): Promise<Buffer> {
  await file.seek(offset, Deno.SeekMode.Start);
  const buffer = Buffer.alloc(length);
  let filled = 0;
  while (filled < length) {
    const read = await file.read(buffer.subarray(filled));
    if (read === null) break;
    filled += read;
  }
  return buffer.subarray(0, filled);
}
