/**
 * SHA-256 of files, streamed, and remembered between builds so that a file that has not changed
 * is not read again.
 *
 * A remembered hash is keyed by the file's absolute path and stamped with what `stat` says of it:
 * device, inode, size, modification time and change time. A file whose stamp differs in any of
 * these is hashed again. The change time matters because no program can set it: a file rewritten
 * with the same size and its old modification time put back (`touch -r`, `cp -p`, an unpacked
 * archive) still gets a new change time. The inode catches a file replaced by a rename.
 *
 * One case no stamp catches: a file rewritten within the same tick of the file system's clock as
 * the write the stamp records. Git calls such entries "racily clean"; here, as there, a hash is
 * remembered only once the file is old enough for that to be impossible (see
 * {@linkcode RACY_MS}). A fresh file is hashed each time until then.
 *
 * @module
 */

import { dirname, resolve } from "node:path";
import { atomicWrite } from "../core/atomic_write.ts";
import { sha256File } from "../core/file_sha256.ts";

export { sha256File };

/**
 * How old (by its change time) a file must be, when its hashing starts, for the hash to be
 * remembered. Deno reports the change time in whole seconds (truncated), so a file changed
 * within the second before that value, or later, cannot be told apart from one changed after
 * its hashing: one second of truncation plus one of the file system's own granularity.
 */
export const RACY_MS = 2000;

/** How {@linkcode FileHashes} hashes and tells the time; tests replace both. */
export interface FileHashesOptions {
  /** Hashes one file; {@linkcode sha256File} unless given. */
  readonly hasher?: (path: string) => Promise<string>;
  /** Milliseconds since the epoch; `Date.now` unless given. */
  readonly now?: () => number;
}

interface Remembered {
  readonly stamp: string;
  readonly sha256: string;
}

/** What a file's `stat` says that any change of its content also changes. */
async function stampOf(path: string): Promise<string | undefined> {
  const info = await Deno.stat(path);
  if (!info.isFile || info.mtime === null || info.ctime === null) return undefined;
  return [info.dev, info.ino, info.size, info.mtime.getTime(), info.ctime.getTime()].join(":");
}

/** The change time in a stamp of {@linkcode stampOf}. */
function changeTime(stamp: string): number {
  return Number(stamp.split(":")[4]);
}

/**
 * SHA-256 of files, each read only when its stamp differs from the one its remembered hash was
 * taken at. Load it from a file with {@linkcode FileHashes.load} and {@linkcode FileHashes.save}
 * it after use; a missing or unreadable file only means that everything is hashed.
 *
 * @example
 * ```ts
 * import { FileHashes } from "./file_hashes.ts";
 * const dir = await Deno.makeTempDir();
 * const hashes = await FileHashes.load(`${dir}/hashes.json`);
 * await Deno.writeTextFile(`${dir}/a`, "a");
 * await hashes.sha256(`${dir}/a`); // "ca978112…", read
 * await hashes.save(); // a later build reads `a` again only if it changed
 * ```
 */
export class FileHashes {
  /** How many files were read, and how many hashes were reused unread, since construction. */
  readonly counts = { hashed: 0, reused: 0 };
  #file: string | undefined;
  readonly #previous = new Map<string, Remembered>();
  readonly #current = new Map<string, Remembered>();
  readonly #hasher: (path: string) => Promise<string>;
  readonly #now: () => number;

  /** Hashes remembered only in memory: every file is read once. */
  constructor(options: FileHashesOptions = {}) {
    this.#hasher = options.hasher ?? sha256File;
    this.#now = options.now ?? Date.now;
  }

  /**
   * The hashes remembered in `file` (written by {@linkcode FileHashes.save}); none when it is
   * missing or not what `save` writes.
   */
  static async load(file: string, options: FileHashesOptions = {}): Promise<FileHashes> {
    const hashes = new FileHashes(options);
    hashes.#file = file;
    try {
      const parsed = JSON.parse(await Deno.readTextFile(file));
      for (const [path, entry] of Object.entries(parsed?.files ?? {})) {
        const { stamp, sha256 } = (entry ?? {}) as Record<string, unknown>;
        if (
          typeof stamp === "string" && typeof sha256 === "string" && /^[0-9a-f]{64}$/.test(sha256)
        ) {
          hashes.#previous.set(path, { stamp, sha256 });
        }
      }
    } catch {
      // Missing or damaged: it only saves work, so start without it.
    }
    return hashes;
  }

  /**
   * The SHA-256 of the file at `path`: the remembered one when the file's stamp has not changed
   * since, else read now (and remembered, once the file is old enough; see {@linkcode RACY_MS}).
   */
  async sha256(path: string): Promise<string> {
    const key = resolve(path);
    const started = this.#now();
    const before = await stampOf(key);
    const known = this.#current.get(key) ?? this.#previous.get(key);
    if (before !== undefined && known?.stamp === before) {
      this.#current.set(key, known);
      this.counts.reused++;
      return known.sha256;
    }
    const sha256 = await this.#hasher(key);
    this.counts.hashed++;
    // Remembered only when the file did not change while it was read and is too old to change
    // again within the same clock tick unnoticed.
    const after = await stampOf(key);
    if (before !== undefined && after === before && started - changeTime(before) >= RACY_MS) {
      this.#current.set(key, { stamp: before, sha256 });
    } else {
      this.#current.delete(key);
      this.#previous.delete(key);
    }
    return sha256;
  }

  /**
   * Writes the remembered hashes to the file they were loaded from (no-op without one), whole:
   * a temporary file renamed into place. Those of files not asked about this time are kept while
   * the files exist.
   */
  async save(): Promise<void> {
    if (this.#file === undefined) return;
    const files: Record<string, Remembered> = {};
    for (const [path, entry] of this.#previous) {
      if (!this.#current.has(path) && await stampOf(path).catch(() => undefined)) {
        files[path] = entry;
      }
    }
    for (const [path, entry] of this.#current) files[path] = entry;
    await Deno.mkdir(dirname(this.#file), { recursive: true });
    const text = JSON.stringify({ files }, null, 1) + "\n";
    await atomicWrite(this.#file, (temporary) => Deno.writeTextFile(temporary, text));
  }
}
