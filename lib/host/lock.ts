/**
 * The per-CTID lock that keeps two runs for the same container from overlapping.
 *
 * The lock is `flock(2)` on `<dir>/phoenix_hypervisor_setup_<CTID>.lock`, taken without waiting
 * (`LOCK_EX | LOCK_NB`). The kernel decides who holds it, atomically, and drops it when the
 * holder's process ends however it ends, SIGKILL included. So there is no stale lock to detect,
 * two runs can never both take over the same stale lock, and a reused PID can never block a
 * CTID: all three were problems of the earlier PID file, whose content was the lock.
 * The alternative, a PID file written whole and then linked into place, still needs a
 * compare-and-delete to take a stale lock over, which POSIX does not have.
 *
 * The file's content is only a note for people and for the next run: the holder's PID and start
 * time (so a PID reused by another process is not named as the holder). A run that ends
 * normally removes the file; one that was killed leaves it behind, and the next run, taking the
 * lock, logs that it took over that run's lock.
 *
 * Deno's own `FsFile.lock()` can only wait for the lock (Deno 2.6 has no non-blocking variant),
 * so `open`, `flock` and `close` come from the C library through Deno's FFI.
 *
 * @module
 */

import { ExitCode } from "../core/exit_codes.ts";
import { SetupError } from "../core/errors.ts";
import { describeErrno, describeIoError } from "../core/io_errors.ts";
import { setupNameFor } from "../core/ctid.ts";
import { processStartTime } from "./leftover_commands.ts";
import { createLog, type Log } from "../report/logging.ts";

/** A held lock. */
export interface HeldLock {
  /** The lock file. */
  readonly path: string;
  /** Removes the lock file and releases the lock; safe to call twice. */
  release(): void;
}

/** Who holds (or held) a lock, as its file says. */
interface Holder {
  readonly pid: number;
  /** Clock ticks since boot (field 22 of `/proc/<pid>/stat`), to tell a reused PID apart. */
  readonly startTime: string;
}

const LOCK_EX = 2;
const LOCK_NB = 4;
const EWOULDBLOCK = 11;
const O_RDWR = 0o2;
const O_CREAT = 0o100;
const O_CLOEXEC = 0o2000000;
/** Not following a symbolic link planted at the lock's name; the flag differs on ARM. */
const O_NOFOLLOW = Deno.build.arch === "aarch64" ? 0o100000 : 0o400000;

/** How long a run that finds the lock held waits for the holder to write its PID. */
const HOLDER_NOTE_WAIT_MS = 1000;
/** How often a freshly taken lock may turn out to be a removed file before giving up. */
const ATTEMPTS = 20;

const LIBC_SYMBOLS = {
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  flock: { parameters: ["i32", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

type Libc = Deno.DynamicLibrary<typeof LIBC_SYMBOLS>["symbols"];

function errnoOf(c: Libc): number {
  const location = c.__errno_location();
  return location === null ? 0 : new Deno.UnsafePointerView(location).getInt32();
}

/**
 * The lock file of container `ctid` in `dir`.
 *
 * @example
 * ```ts
 * import { lockFile } from "./lock.ts";
 * lockFile("/run/lock/phoenix_hypervisor", "950");
 * // "/run/lock/phoenix_hypervisor/phoenix_hypervisor_setup_950.lock"
 * ```
 */
export function lockFile(dir: string, ctid: string): string {
  return `${dir}/${setupNameFor(ctid)}.lock`;
}

/**
 * Takes the lock for `ctid` in `dir` without waiting; creates `dir` when it is missing.
 *
 * @param dir The lock directory (`PHOENIX_LOCK_DIR`).
 * @param ctid The container.
 * @param log Where taking over the lock of a killed run is reported (a WARN line); the run's
 *   log by default.
 * @returns The held lock.
 * @throws {SetupError} With {@linkcode ExitCode.Locked} naming the PID of the run that holds
 *   the lock; with {@linkcode ExitCode.LockDirUnusable} saying what is wrong with `dir`.
 *
 * @example
 * ```ts ignore
 * const lock = acquireLock("/run/lock/phoenix_hypervisor", "950");
 * try {
 *   // ... the setup ...
 * } finally {
 *   lock.release();
 * }
 * ```
 */
export function acquireLock(
  dir: string,
  ctid: string,
  log: Pick<Log, "warn"> = createLog(),
): HeldLock {
  prepareDirectory(dir);
  // Loaded per lock and closed with it (the C library itself stays, as Deno uses it).
  const library = Deno.dlopen("libc.so.6", LIBC_SYMBOLS);
  try {
    return lockIn(library, dir, ctid, log);
  } catch (error) {
    library.close();
    throw error;
  }
}

function lockIn(
  library: Deno.DynamicLibrary<typeof LIBC_SYMBOLS>,
  dir: string,
  ctid: string,
  log: Pick<Log, "warn">,
): HeldLock {
  const c = library.symbols;
  const path = lockFile(dir, ctid);
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const fd = openLockFile(c, dir, path);
    if (c.flock(fd, LOCK_EX | LOCK_NB) !== 0) {
      const problem = errnoOf(c);
      c.close(fd);
      if (problem === EWOULDBLOCK) throw lockedError(path, ctid, waitForHolder(path));
      throw unusable(dir, `cannot lock ${path}: ${describeErrno(problem)}`);
    }
    // The previous holder removes the file while it still holds the lock; if that happened
    // between our open and our flock, what we locked is no longer the lock file.
    if (!isSameFile(path, fd)) {
      c.close(fd);
      continue;
    }
    const previous = readHolder(path);
    writeHolder(c, dir, path, fd);
    // A run that ends normally removes the file: a note in it is a killed run's.
    if (previous) {
      log.warn(
        `Took over the lock ${path} of an earlier run for container ${ctid} (pid ` +
          `${previous.pid}), which ended without releasing it (killed?)`,
      );
    }
    return heldLock(library, path, fd);
  }
  throw unusable(dir, `the lock file ${path} keeps being removed by another program`);
}

function heldLock(
  library: Deno.DynamicLibrary<typeof LIBC_SYMBOLS>,
  path: string,
  fd: number,
): HeldLock {
  let released = false;
  return {
    path,
    release() {
      if (released) return;
      released = true;
      // Removed while still held, so that a run waiting on this very file sees it go (see above).
      try {
        if (isSameFile(path, fd)) Deno.removeSync(path);
      } catch { /* already gone: nothing to remove */ }
      library.symbols.close(fd);
      library.close();
    },
  };
}

function unusable(dir: string, what: string): SetupError {
  return new SetupError(
    `Cannot use the lock directory ${dir} (PHOENIX_LOCK_DIR): ${what}. Set PHOENIX_LOCK_DIR ` +
      "to a directory on a local file system that root can write to (the default is " +
      "/run/lock/phoenix_hypervisor)",
    ExitCode.LockDirUnusable,
    { phase: "locking" },
  );
}

function prepareDirectory(dir: string): void {
  try {
    Deno.mkdirSync(dir, { recursive: true });
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) {
      throw unusable(dir, `cannot create it: ${describeIoError(error)}`);
    }
  }
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(dir);
  } catch (error) {
    throw unusable(dir, describeIoError(error));
  }
  if (!info.isDirectory) throw unusable(dir, "it is a file, not a directory");
}

function openLockFile(c: Libc, dir: string, path: string): number {
  const fd = c.open(
    new TextEncoder().encode(`${path}\0`),
    O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
    0o644,
  );
  if (fd >= 0) return fd;
  throw unusable(dir, `cannot create the lock file in it: ${describeErrno(errnoOf(c))}`);
}

/** Whether `path` is (still) the file open as `fd`. */
function isSameFile(path: string, fd: number): boolean {
  try {
    const named = Deno.lstatSync(path);
    const open = Deno.statSync(`/proc/self/fd/${fd}`);
    return named.ino === open.ino && named.dev === open.dev;
  } catch {
    return false;
  }
}

function readHolder(path: string): Holder | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch {
    return undefined;
  }
  // Only a whole line counts: the holder may be writing it right now.
  const match = /^(\d{1,10}) (\d{1,20})\n$/.exec(text);
  return match ? { pid: Number(match[1]), startTime: match[2] } : undefined;
}

function writeHolder(c: Libc, dir: string, path: string, fd: number): void {
  const startTime = processStartTime(Deno.pid) ?? "0";
  try {
    Deno.writeTextFileSync(path, `${Deno.pid} ${startTime}\n`);
  } catch (error) {
    c.close(fd);
    throw unusable(dir, `cannot write the lock file ${path}: ${describeIoError(error)}`);
  }
}

/**
 * The live run that holds the lock. It writes its note just after taking the lock, so a run that
 * comes in between sees no note (or a killed run's) for a moment; it waits for it, briefly.
 */
function waitForHolder(path: string): Holder | undefined {
  const deadline = Date.now() + HOLDER_NOTE_WAIT_MS;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  while (true) {
    const holder = readHolder(path);
    if (holder && processStartTime(holder.pid) === holder.startTime) return holder;
    if (Date.now() >= deadline) return undefined;
    Atomics.wait(pause, 0, 0, 10);
  }
}

function lockedError(path: string, ctid: string, holder: Holder | undefined): SetupError {
  return new SetupError(
    `Another setup run for container ${ctid} is in progress (pid ${holder?.pid ?? "unknown"}, ` +
      `lock ${path}); wait for it to finish, then run again if needed`,
    ExitCode.Locked,
    { phase: "locking" },
  );
}
