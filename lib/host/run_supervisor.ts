/**
 * The commands a run has started and not yet seen end, so that a signal or the watchdog can stop
 * them before the run cleans up, and can say what the run was waiting for.
 *
 * Every command runs in a process group of its own (zx's `detached`), which this module signals
 * as a whole: `pct` and everything under it (`lxc-attach`, coreutils' `timeout`). Once the run is
 * being stopped no new command starts (the runner asks {@linkcode RunSupervisor.begin}, which
 * throws {@linkcode RunStopped}), except the cleanup's own, after {@linkcode RunSupervisor.reopen}.
 *
 * @module
 */

import process from "node:process";
import { displayCommand, type GracefulStop } from "../core/command_text.ts";
import { formatDuration } from "../core/duration.ts";

/** Thrown instead of starting a command while the run is being stopped. */
export class RunStopped extends Error {
  /** @param reason Why the run is being stopped, e.g. `SIGTERM`. */
  constructor(reason: string, argv: readonly string[]) {
    super(`Not starting ${displayCommand(argv)}: the run is being stopped (${reason})`);
    this.name = "RunStopped";
  }
}

/** One command between its start and its end. */
export interface TrackedCommand {
  /** Records the process (group) id once the command has started. */
  started(pid: number): void;
  /** Records that the command ended; call exactly once, however it ended. */
  ended(): void;
}

interface Entry {
  readonly argv: readonly string[];
  readonly graceful?: GracefulStop;
  readonly since: number;
  pid?: number;
  readonly ended: Promise<void>;
}

/** A started command, as observers see it. */
export interface RunningCommand {
  /** Its process group id. */
  readonly pid: number;
  readonly argv: readonly string[];
}

/** Tracks a run's running commands; one per run. */
export class RunSupervisor {
  readonly #running = new Set<Entry>();
  #stopping: string | undefined;
  #last: { argv: readonly string[]; at: number } | undefined;
  #observer: ((running: RunningCommand[]) => void) | undefined;
  readonly #now: () => number;

  /** @param now The clock (injected by tests). */
  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /**
   * Calls `observer` with the started commands whenever one starts or ends (the run records
   * them beside its lock, for a later run to find if this one is killed).
   */
  observe(observer: (running: RunningCommand[]) => void): void {
    this.#observer = observer;
  }

  #changed(): void {
    this.#observer?.(
      [...this.#running].flatMap((e) => e.pid === undefined ? [] : [{ pid: e.pid, argv: e.argv }]),
    );
  }

  /** Why the run is being stopped, or `undefined` while it runs normally. */
  get stopping(): string | undefined {
    return this.#stopping;
  }

  /**
   * Registers a command that is about to start.
   *
   * @param graceful How a signal stops it instead (`stop()`, then `graceMs` to end).
   * @throws {RunStopped} While the run is being stopped.
   */
  begin(argv: readonly string[], graceful?: GracefulStop): TrackedCommand {
    if (this.#stopping !== undefined) throw new RunStopped(this.#stopping, argv);
    let end!: () => void;
    const entry: Entry = {
      argv,
      ...(graceful && { graceful }),
      since: this.#now(),
      ended: new Promise((r) => end = r),
    };
    this.#running.add(entry);
    return {
      started: (pid) => {
        entry.pid = pid;
        this.#changed();
      },
      ended: () => {
        if (!this.#running.delete(entry)) return;
        this.#last = { argv, at: this.#now() };
        if (entry.pid !== undefined) this.#changed();
        end();
      },
    };
  }

  /** From now on no command starts, until {@linkcode reopen}. */
  stop(reason: string): void {
    this.#stopping ??= reason;
  }

  /** Lets the cleanup run its own commands (starting the container again, ...). */
  reopen(): void {
    this.#stopping = undefined;
  }

  /** How many commands are running. */
  get runningCount(): number {
    return this.#running.size;
  }

  /**
   * Sends `signal` to the process group of every running command; a command with a graceful
   * stop is asked to stop instead (SIGKILL is always sent).
   */
  signalAll(signal: Deno.Signal): void {
    for (const entry of this.#running) {
      if (entry.graceful && signal !== "SIGKILL") {
        entry.graceful.stop();
        continue;
      }
      if (entry.pid === undefined) continue;
      try {
        process.kill(-entry.pid, signal);
      } catch {
        // The group is gone already, or the command was not a group leader: signal it alone.
        try {
          process.kill(entry.pid, signal);
        } catch { /* it ended meanwhile */ }
      }
    }
  }

  /**
   * Waits until no command runs, or `timeoutMs` passes (or longer, the longest grace of a
   * command with a graceful stop).
   *
   * @returns Whether every command ended in time.
   */
  async settle(timeoutMs: number): Promise<boolean> {
    if (this.#running.size === 0) return true;
    const graces = [...this.#running].map((e) => e.graceful?.graceMs ?? 0);
    timeoutMs = Math.max(timeoutMs, ...graces);
    let timer: number | undefined;
    const timedOut = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const allEnded = Promise.all([...this.#running].map((e) => e.ended)).then(() => true);
    try {
      return await Promise.race([allEnded, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * What the run is waiting for, in words: the running commands and for how long, or the last
   * command and when it ended.
   *
   * @example
   * ```ts
   * import { RunSupervisor } from "./run_supervisor.ts";
   * const supervisor = new RunSupervisor(() => 0);
   * supervisor.begin(["pct", "status", "950"]);
   * supervisor.describe(); // "pct status 950 (running for 0 ms)"
   * ```
   */
  describe(): string {
    const now = this.#now();
    if (this.#running.size > 0) {
      return [...this.#running].map((e) =>
        `${displayCommand(e.argv)} (running for ${formatDuration(now - e.since)})`
      ).join("; ");
    }
    if (this.#last) {
      return `no command (the last one, ${displayCommand(this.#last.argv)}, ended ` +
        `${formatDuration(now - this.#last.at)} ago)`;
    }
    return "no command (none has run yet)";
  }
}
