/**
 * The per-CTID lock that keeps two runs for the same container from overlapping.
 * A lock file is created with O_EXCL and holds the owner's PID; a lock whose owner no longer
 * exists (a run killed with SIGKILL) is taken over, so a crash never blocks the next run.
 *
 * @module
 */

import { ExitCode } from "./exit_codes.ts";
import { SetupError } from "./errors.ts";

/** A held lock. */
export interface HeldLock {
  readonly path: string;
  /** Removes the lock file; safe to call twice. */
  release(): void;
}

function ownerIsAlive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

function readOwner(path: string): number | undefined {
  try {
    const pid = Number.parseInt(Deno.readTextFileSync(path).trim(), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function tryCreate(path: string): boolean {
  try {
    const file = Deno.openSync(path, { write: true, createNew: true, mode: 0o644 });
    file.writeSync(new TextEncoder().encode(`${Deno.pid}\n`));
    file.close();
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) return false;
    throw error;
  }
}

/**
 * Takes the lock for `ctid` in `dir`, or throws a {@linkcode SetupError} with
 * {@linkcode ExitCode.Locked} naming the run that holds it.
 */
export function acquireLock(dir: string, ctid: string): HeldLock {
  const path = `${dir}/phoenix_hypervisor_setup_${ctid}.lock`;
  try {
    Deno.mkdirSync(dir, { recursive: true });
  } catch (error) {
    throw new SetupError(
      `Cannot create lock directory ${JSON.stringify(dir)}: ${(error as Error).message}; ` +
        "set PHOENIX_LOCK_DIR to a writable directory",
      ExitCode.Locked,
      { phase: "locking", cause: error },
    );
  }
  // Two attempts: the second one follows the removal of a stale lock.
  for (let attempt = 0; attempt < 2; attempt++) {
    if (tryCreate(path)) {
      let released = false;
      return {
        path,
        release() {
          if (released) return;
          released = true;
          try {
            Deno.removeSync(path);
          } catch { /* already gone: nothing to release */ }
        },
      };
    }
    const owner = readOwner(path);
    if (owner !== undefined && ownerIsAlive(owner)) {
      throw new SetupError(
        `Another setup run for container ${ctid} is in progress (pid ${owner}, lock ${path}); ` +
          "wait for it to finish, then run again if needed",
        ExitCode.Locked,
        { phase: "locking" },
      );
    }
    try {
      Deno.removeSync(path);
    } catch { /* another run removed it first; retry creating */ }
  }
  throw new SetupError(
    `Cannot take the lock ${path} for container ${ctid}: another run keeps recreating it`,
    ExitCode.Locked,
    { phase: "locking" },
  );
}
