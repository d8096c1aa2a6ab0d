/**
 * Logging every command a run makes: its start at DEBUG, its output lines to the log file as
 * they arrive, a heartbeat while it runs long, its end with exit code and duration, and a failed
 * command's stderr tail. The runner it wraps is injected (`host/command.ts` in a run).
 *
 * @module
 */

import { formatDuration } from "../core/duration.ts";
import {
  type BatchObserver,
  type CommandResult,
  type CommandRunner,
  describeCommand,
  displayCommand,
  type OutputStream,
  outputTail,
  type RunOptions,
  splitLines,
} from "../core/command_text.ts";
import { DEFAULTS } from "../config/environment.ts";
import { startHeartbeat } from "./heartbeat.ts";
import type { Log } from "./logging.ts";
import type { Activity, RunRecord } from "./run_record.ts";

/** How {@linkcode loggingRunner} logs. */
export interface LoggingRunnerOptions {
  /** Records every call and tells which step runs (for the log lines' prefix, and checks). */
  readonly record?: RunRecord;
  /** How often a long command says it is still running. Default `PHOENIX_HEARTBEAT_INTERVAL`'s. */
  readonly heartbeatIntervalMs?: number;
}

/**
 * Wraps a runner so every command is logged with its duration and exit code, and a failed
 * command's stderr tail with it; its output lines go to the log file as they arrive (the
 * console shows them with PHOENIX_DEBUG=true), and a long one beats (see `heartbeat.ts`).
 *
 * The commands of a step's check are logged at DEBUG: a non-zero exit there is the answer
 * "not done yet", which the step reports in its own words. Elsewhere non-zero is logged as
 * information, not as a warning: whoever needed success reports the failure. The log masks
 * secrets, heartbeats included; secrets must not be in argv anyway.
 */
export function loggingRunner(
  run: CommandRunner,
  log: Log,
  options: LoggingRunnerOptions = {},
): CommandRunner {
  const intervalMs = options.heartbeatIntervalMs ?? DEFAULTS.heartbeatSeconds * 1000;
  return async (argv, runOptions) => {
    const activity = options.record?.activity;
    const prefix = activity ? `${activity.label}: ` : "";
    log.debug(`Running: ${displayCommand(argv)}`);
    const heartbeat = startHeartbeat(
      runOptions?.label ?? describeCommand(argv),
      intervalMs,
      (text) => log.info(prefix + text),
    );
    const onOutput = outputLogger(log, activity, argv, runOptions, heartbeat.output);
    let streamed = false;
    let result: CommandResult;
    try {
      result = await run(argv, {
        ...runOptions,
        onOutput: (stream, line) => {
          streamed = true;
          onOutput(stream, line);
        },
      });
    } finally {
      heartbeat.stop();
    }
    // A runner that cannot stream (a test double) still gets its output into the log.
    if (!streamed) logOutput(result, onOutput);
    options.record?.commandEnded(runOptions?.hideOutput ? { ...result, stdout: "" } : result);
    logEnd(log, activity, result, formatDuration(result.durationMs), runOptions?.label);
    return result;
  };
}

/**
 * What a run logs of its batches of checks (`Pct.prefetch`): each command a batch answered,
 * as {@linkcode loggingRunner} logs a command that ran (its output lines, its exit code, and for
 * a check the answer "no" it gave; no pct call is recorded: none was made); and a batch that
 * gave no usable answer, in one WARN line saying why and what the run does instead.
 */
export function logBatches(log: Log, record: RunRecord | undefined): BatchObserver {
  return {
    answered: (result, options) => {
      const activity = record?.activity;
      logOutput(result, outputLogger(log, activity, result.argv, options));
      record?.checkAnswered(options.hideOutput ? { ...result, stdout: "" } : result);
      logEnd(log, activity, result, "answered by the batch of checks");
    },
    unusable: (ctid, checks, why) => {
      const prefix = record?.activity ? `${record.activity.label}: ` : "";
      log.warn(
        `${prefix}The batch of ${checks} checks in container ${ctid} gave no usable answer ` +
          `(${why}); from now on each check runs on its own, one pct call each`,
      );
    },
  };
}

/** The log line of each output line of `argv` (none when its output is hidden). */
function outputLogger(
  log: Log,
  activity: Activity | undefined,
  argv: readonly string[],
  runOptions: RunOptions | undefined,
  heartbeat?: (line: string) => void,
): (stream: OutputStream, line: string) => void {
  const outputLabel = activity?.label ?? describeCommand(argv);
  return (stream, line) => {
    if (runOptions?.hideOutput) return;
    heartbeat?.(line);
    log.output(`${outputLabel} ${stream === "stdout" ? "|" : "stderr|"} ${line}`);
    runOptions?.onOutput?.(stream, line);
  };
}

function logOutput(
  result: CommandResult,
  onOutput: (stream: OutputStream, line: string) => void,
): void {
  for (const stream of ["stdout", "stderr"] as const) {
    for (const line of splitLines(result[stream])) if (line.trim()) onOutput(stream, line);
  }
}

/**
 * The line that ends a command: at DEBUG for a check's (its "no" is an answer), else INFO; a
 * labelled command (a batch of checks, a file written) by its label, at INFO.
 */
function logEnd(
  log: Log,
  activity: Activity | undefined,
  result: CommandResult,
  how: string,
  label?: string,
): void {
  const say = (message: string) =>
    activity?.checking && label === undefined ? log.debug(message) : log.info(message);
  say(`${label ?? displayCommand(result.argv)} (exit ${result.exitCode}, ${how})`);
  const tail = result.exitCode === 0 ? "" : outputTail(result.stderr);
  if (tail) say(`stderr: ${tail}`);
}
