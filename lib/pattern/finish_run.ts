/**
 * `finishRun`: how every run ends, whether `main` ran the setup or the executable stopped at its
 * input: the run report (when one is asked for), then {@linkcode exitScript}. It loads neither zx
 * nor zod, so that invalid input is answered without them (see `read_inputs.ts`).
 *
 * @module
 */

import { SetupError } from "../core/errors.ts";
import { ExitCode } from "../core/exit_codes.ts";
import { type Ending, exitScript, type Subject } from "./exit_script.ts";
import { flushLogs, type Log } from "../report/logging.ts";
import type { RunRecord } from "../report/run_record.ts";
import {
  buildRunReport,
  type RunEnding,
  type RunReport,
  writeRunReport,
} from "../report/run_report.ts";
import { VERSION } from "../core/version.ts";
import { describeIoError } from "../core/io_errors.ts";

/** The run being finished, as it stands when it ends. */
export interface FinishingRun {
  readonly subject: Subject;
  /** The executable's file name. */
  readonly executable: string;
  readonly record: RunRecord;
  /** Where to write the run report; none is written when `undefined`. */
  readonly reportFile: string | undefined;
  /** Where a forwarded run sends its report (to the node it came from), besides the file. */
  readonly sendReport?: (report: RunReport) => void;
  readonly dryRun: boolean;
  readonly log: Log;
  readonly exit: (code: number) => never;
}

/**
 * Writes the run report (if asked for), then logs the summary and the closing message and exits
 * with `code` through {@linkcode exitScript}.
 *
 * @example
 * ```ts ignore
 * import { describeFailure, finishRun } from "./finish_run.ts";
 * return await finishRun(...describeFailure(error, log), run);
 * ```
 */
export function finishRun(code: ExitCode, ending: Ending, run: FinishingRun): Promise<never> {
  const { record, log } = run;
  // A failed run, or a dry run, did not produce what a finished setup provides: not claimed.
  const { produced: _produced, ...who } = run.subject;
  const subject = "outcome" in ending && ending.outcome.kind !== "dry-run" ? run.subject : who;
  const endedAt = Date.now();
  if (run.reportFile || run.sendReport) {
    const report = buildRunReport(record, {
      ...subject,
      executable: run.executable,
      version: VERSION,
      dryRun: run.dryRun,
      exitCode: code,
      endedAt,
      ...reportOutcome(code, ending),
    });
    run.sendReport?.(report);
    if (run.reportFile) writeReport(run.reportFile, report, log);
  }
  return exitScript(code, subject, ending, log, run.exit, {
    steps: record.steps,
    verifications: record.verifications,
    pctCalls: record.commands.length,
    durationMs: endedAt - record.startedAt,
  });
}

/**
 * Ends a run that happened on another cluster node (see `forward_run.ts`): its summary and
 * closing message came from there, tagged with the node; here it writes that run's report (when
 * one is asked for) and exits with `code`.
 */
export async function finishForwardedRun(
  code: ExitCode,
  report: RunReport,
  run: Pick<FinishingRun, "reportFile" | "log" | "exit">,
): Promise<never> {
  if (run.reportFile) writeReport(run.reportFile, { ...report, exitCode: code }, run.log);
  await flushLogs();
  return run.exit(code);
}

/**
 * Logs why the run failed and picks its exit code and phase: a {@linkcode SetupError}'s own, else
 * {@linkcode ExitCode.Internal} (a bug).
 *
 * @example
 * ```ts ignore
 * import { describeFailure } from "./finish_run.ts";
 * const [code, ending] = describeFailure(error, log);
 * ```
 */
export function describeFailure(error: unknown, log: Log): [ExitCode, Ending] {
  if (error instanceof SetupError) {
    log.error(error.message);
    return [error.exitCode, { failedDuring: error.phase ?? "setup", error: error.message }];
  }
  const message = `Unexpected error (a bug; please report it): ${(error as Error)?.stack ?? error}`;
  log.error(message);
  return [ExitCode.Internal, { failedDuring: "an unexpected error", error: message }];
}

/** Writes the run report; a report that cannot be written is logged and changes no exit code. */
export function writeReport(path: string, report: RunReport, log: Log): void {
  try {
    writeRunReport(path, report);
  } catch (error) {
    log.warn(`Cannot write the run report to ${JSON.stringify(path)}: ${describeIoError(error)}`);
  }
}

/** The report's outcome, snapshot and error, from how the run ended. */
function reportOutcome(
  code: ExitCode,
  ending: Ending,
): Pick<RunEnding, "outcome" | "snapshot" | "error" | "differences"> {
  if ("failedDuring" in ending) {
    const stopped = code === ExitCode.Interrupted || code === ExitCode.Terminated ||
      code === ExitCode.Watchdog;
    return {
      outcome: stopped ? "stopped" : "failed",
      error: { phase: ending.failedDuring, message: ending.error ?? ending.failedDuring },
    };
  }
  const outcome = ending.outcome;
  const differences = outcome.kind === "checked"
    ? outcome.differences
    : outcome.kind === "already-complete"
    ? [
      ...outcome.drift ?? [],
      ...outcome.unstamped ? ["made by something else (no phoenix-setup stamp)"] : [],
    ]
    : [];
  return {
    outcome: outcome.kind,
    ...("snapshot" in outcome && { snapshot: outcome.snapshot }),
    ...(differences.length > 0 && { differences: [...differences] }),
  };
}
