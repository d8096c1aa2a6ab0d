/**
 * Commands a killed run left running. A run stops its commands on SIGINT, SIGTERM and the
 * watchdog, but nothing can on SIGKILL: each command runs in a process group of its own, and a
 * `pct exec ... pip install` goes on after the run is gone. The next run must not work on the
 * container meanwhile (a template snapshotted while an install is still writing to it is a
 * broken template for every clone), so a run records its running commands beside its lock file,
 * and the next run refuses to start while any of them still runs.
 *
 * A process group is identified by its leader's pid **and start time** (`/proc/<pid>/stat`), so a
 * pid reused by an unrelated process is not mistaken for it. When the leader is gone but a process
 * of the group is still there, the group still runs: Linux does not reuse a pid while a process
 * group of that id exists.
 *
 * {@linkcode guardAgainstLeftovers} is that rule, applied once the run holds the lock.
 *
 * @module
 */

import { atomicWriteSync } from "../core/atomic_write.ts";
import { displayCommand } from "../core/command_text.ts";
import { setupNameFor } from "../core/ctid.ts";
import { SetupError } from "../core/errors.ts";
import { ExitCode } from "../core/exit_codes.ts";
import type { RunSupervisor } from "./run_supervisor.ts";

/** One running command, as recorded. */
export interface RecordedCommand {
  /** Its process group id (the pid of the process the run started). */
  readonly pgid: number;
  /** The leader's start time, in clock ticks since boot (field 22 of `/proc/<pid>/stat`). */
  readonly startTime: string;
  /** The command as the log shows it. */
  readonly command: string;
}

/** The file beside the lock that lists the running commands of the run holding it. */
export function leftoverCommandsFile(lockDir: string, ctid: string): string {
  return `${lockDir}/${setupNameFor(ctid)}.commands`;
}

/** The fields of `/proc/<pid>/stat` after the command name, or `undefined` when it is gone. */
function statFields(pid: string | number): string[] | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/** The start time of process `pid`, or `undefined` when it does not run (or is a zombie). */
export function processStartTime(pid: number): string | undefined {
  const fields = statFields(pid);
  return fields === undefined || fields[0] === "Z" ? undefined : fields[19];
}

/**
 * Whether a process other than a zombie is in process group `pgid`. (`kill(-pgid, 0)` is no
 * answer: it succeeds for a group of zombies, which init reaps when it gets round to it.)
 */
function groupHasMembers(pgid: number): boolean {
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const fields = statFields(entry.name);
    if (fields && fields[0] !== "Z" && Number(fields[2]) === pgid) return true;
  }
  return false;
}

/** Whether a recorded command's process group still runs. */
export function stillRunning(command: RecordedCommand): boolean {
  const startTime = processStartTime(command.pgid);
  if (startTime !== undefined) return startTime === command.startTime;
  return groupHasMembers(command.pgid);
}

/**
 * Writes the list of running commands (atomically: a temporary file, then a rename), or removes
 * the file when none runs. Problems are ignored: the record is a safety net for a later run, and
 * must never fail this one.
 */
export function recordRunningCommands(path: string, commands: readonly RecordedCommand[]): void {
  try {
    if (commands.length === 0) {
      Deno.removeSync(path);
      return;
    }
    atomicWriteSync(path, (temporary) => {
      Deno.writeTextFileSync(temporary, JSON.stringify(commands) + "\n");
    });
  } catch { /* see above */ }
}

/**
 * The commands an earlier run recorded that still run. A record whose commands have all ended is
 * removed. An unreadable record counts as empty.
 */
export function leftoverCommands(path: string): RecordedCommand[] {
  let recorded: RecordedCommand[];
  try {
    recorded = JSON.parse(Deno.readTextFileSync(path));
    if (!Array.isArray(recorded)) recorded = [];
  } catch {
    recorded = [];
  }
  const running = recorded.filter((command) =>
    Number.isSafeInteger(command?.pgid) && command.pgid > 1 && stillRunning(command)
  );
  if (running.length === 0) recordRunningCommands(path, []);
  return running;
}

/**
 * Refuses to work on container `ctid` while a command of an earlier, killed run still runs there,
 * then records this run's own running commands beside its lock in `lockDir`, for a later run to
 * check. Call it holding the lock, so no other live run writes that record meanwhile.
 *
 * @throws {SetupError} With {@linkcode ExitCode.Locked}, naming the first leftover command, its
 *   process group and how to stop it.
 *
 * @example
 * ```ts ignore
 * const lock = acquireLock(lockDir, "920");
 * guardAgainstLeftovers(supervisor, lockDir, "920");
 * ```
 */
export function guardAgainstLeftovers(
  supervisor: Pick<RunSupervisor, "observe">,
  lockDir: string,
  ctid: string,
): void {
  const file = leftoverCommandsFile(lockDir, ctid);
  const leftovers = leftoverCommands(file);
  if (leftovers.length > 0) {
    const first = leftovers[0];
    throw new SetupError(
      `A command started by an earlier run for container ${ctid}, which was killed, is still ` +
        `running: ${first.command} (process group ${first.pgid}). Wait for it to end, or stop ` +
        `it with 'kill -TERM -- -${first.pgid}', then run again`,
      ExitCode.Locked,
      { phase: "locking" },
    );
  }
  supervisor.observe((running) =>
    recordRunningCommands(
      file,
      running.flatMap(({ pid, argv }) => {
        const startTime = processStartTime(pid);
        return startTime === undefined ? [] : [{
          pgid: pid,
          startTime,
          command: displayCommand(argv),
        }];
      }),
    )
  );
}
