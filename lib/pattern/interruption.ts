/**
 * How a run is stopped from outside: SIGINT, SIGTERM, or the watchdog (`PHOENIX_RUN_TIMEOUT`).
 * The first of them wins and owns the cleanup:
 *
 * 1. no new command starts, and the log says what the run was waiting for;
 * 2. the running commands get the signal (the watchdog sends SIGTERM) and
 *    {@linkcode COMMAND_GRACE_MS} to end, then SIGKILL;
 * 3. the setup gets {@linkcode UNWIND_GRACE_MS} to unwind;
 * 4. the container's power state is restored (once the run has a container to restore);
 * 5. the run ends with 130 (SIGINT), 143 (SIGTERM) or 9 (the watchdog).
 *
 * A signal that comes meanwhile changes nothing; the log says what the cleanup is still doing.
 *
 * @module
 */

import type { Clock } from "../core/wait.ts";
import { systemClock } from "../core/wait.ts";
import { formatDuration } from "../core/duration.ts";
import { ExitCode } from "../core/exit_codes.ts";
import type { Log } from "../report/logging.ts";
import type { RunSupervisor } from "../host/run_supervisor.ts";
import type { Ending } from "./exit_script.ts";

/** How long the running commands get to end after the signal is passed on, before SIGKILL. */
export const COMMAND_GRACE_MS = 10_000;

/** How long the setup gets to unwind once its commands have ended. */
export const UNWIND_GRACE_MS = 5_000;

/** The signals that stop a run, and the exit code each ends it with. */
const SIGNALS = [["SIGINT", ExitCode.Interrupted], ["SIGTERM", ExitCode.Terminated]] as const;

/** Where signal listeners are added and removed: the process's, or a test's. */
export interface SignalListeners {
  add(signal: Deno.Signal, listener: () => void): void;
  remove(signal: Deno.Signal, listener: () => void): void;
}

/** The process's own signals. */
const processSignals: SignalListeners = {
  add: (signal, listener) => Deno.addSignalListener(signal, listener),
  remove: (signal, listener) => Deno.removeSignalListener(signal, listener),
};

/** What {@linkcode listenForInterruptions} needs from the run. */
export interface InterruptionOptions {
  /** The container, for the log lines. */
  readonly ctid: string;
  readonly log: Pick<Log, "warn">;
  /** The run's commands, to stop and to wait for. */
  readonly supervisor: Pick<
    RunSupervisor,
    "stop" | "describe" | "signalAll" | "settle" | "reopen"
  >;
  /** Ends the run (lock, report, exit); called once, at the end of the cleanup. */
  readonly finish: (code: ExitCode, ending: Ending) => Promise<never>;
  /** The signals listened to; the process's by default. */
  readonly signals?: SignalListeners;
  /** The clock the setup's unwinding is timed by; the real one by default. */
  readonly clock?: Clock;
}

/** A run's watch for signals and its watchdog. */
export interface Interruption {
  /** The cleanup of a stopped run, which ends in its exit; `undefined` while none stopped it. */
  readonly stopping: Promise<never> | undefined;
  /** Starts the watchdog: the run is stopped (exit 9) once it has run `timeoutSeconds`. */
  startWatchdog(timeoutSeconds: number): void;
  /** What the cleanup runs to put the container's power state back, once there is a container. */
  restoreWith(restore: () => Promise<void>): void;
  /**
   * Stops the run from within, as SIGTERM would, for `reason` (the node this run was forwarded
   * from ended it; the container moved away), ending it with `code` after the cleanup.
   *
   * @param restore Whether the container's power state is put back (not for a container that
   *   is no longer on this node).
   */
  stopFor(reason: string, code: ExitCode, message: string, restore?: boolean): void;
  /** Says that the setup has returned or thrown, so the cleanup need not wait for it. */
  setupEnded(): void;
  /** Stops listening: removes the signal listeners and stops the watchdog. */
  end(): void;
}

/**
 * Listens for SIGINT and SIGTERM from now on, and stops the run as the module doc says when one
 * comes or the watchdog fires.
 *
 * @example
 * ```ts ignore
 * const interruption = listenForInterruptions({ ctid: "920", log, supervisor, finish });
 * interruption.startWatchdog(settings.runTimeoutSeconds);
 * try {
 *   // ... the setup ...
 *   interruption.setupEnded();
 *   return await (interruption.stopping ?? finish(ExitCode.Success, { outcome }));
 * } catch (error) {
 *   interruption.setupEnded();
 *   if (interruption.stopping) return await interruption.stopping;
 *   // ... the failure ...
 * }
 * ```
 */
export function listenForInterruptions(options: InterruptionOptions): Interruption {
  const { ctid, log, supervisor, finish } = options;
  const signals = options.signals ?? processSignals;
  const clock = options.clock ?? systemClock;
  let stopping: Promise<never> | undefined;
  let cleanupStage = "";
  let restore: (() => Promise<void>) | undefined;
  let watchdog: number | undefined;
  const setupDone = Promise.withResolvers<void>();

  const stop = (
    reason: string,
    code: ExitCode,
    forward: Deno.Signal,
    message: string,
    restoreAfter = true,
  ) => {
    if (stopping) {
      log.warn(`${reason} received while stopping; still ${cleanupStage}`);
      return;
    }
    stopping = (async () => {
      supervisor.stop(reason);
      log.warn(`${message}; it was waiting for: ${supervisor.describe()}`);
      cleanupStage = `waiting for: ${supervisor.describe()}`;
      supervisor.signalAll(forward);
      if (!await supervisor.settle(COMMAND_GRACE_MS)) {
        log.warn(
          `Still running ${COMMAND_GRACE_MS / 1000} s after ${forward}: ` +
            `${supervisor.describe()}; killing it`,
        );
        supervisor.signalAll("SIGKILL");
        await supervisor.settle(COMMAND_GRACE_MS);
      }
      cleanupStage = "waiting for the setup to unwind";
      await Promise.race([setupDone.promise, clock.sleep(UNWIND_GRACE_MS)]);
      supervisor.reopen();
      if (restore && restoreAfter) {
        cleanupStage = `restoring container ${ctid}'s power state`;
        await restore();
      }
      cleanupStage = "releasing the lock";
      return await finish(code, { failedDuring: `an interruption (${reason})`, error: message });
    })();
  };

  const listeners = SIGNALS.map(([signal, code]) => {
    const listener = () =>
      stop(
        signal,
        code,
        signal,
        `Received ${signal}; stopping the setup of container ${ctid} (exit code ${code})`,
      );
    signals.add(signal, listener);
    return [signal, listener] as const;
  });

  return {
    get stopping() {
      return stopping;
    },
    startWatchdog(timeoutSeconds) {
      watchdog = setTimeout(() =>
        stop(
          "the watchdog",
          ExitCode.Watchdog,
          "SIGTERM",
          `The run has taken longer than PHOENIX_RUN_TIMEOUT ` +
            `(${formatDuration(timeoutSeconds * 1000)}); stopping it`,
        ), timeoutSeconds * 1000);
    },
    stopFor(reason, code, message, restoreAfter = true) {
      stop(reason, code, "SIGTERM", message, restoreAfter);
    },
    restoreWith(restoreNow) {
      restore = restoreNow;
    },
    setupEnded() {
      setupDone.resolve();
    },
    end() {
      clearTimeout(watchdog);
      for (const [signal, listener] of listeners) signals.remove(signal, listener);
    },
  };
}
