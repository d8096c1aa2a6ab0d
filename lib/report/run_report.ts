/**
 * The run report: one JSON document per run, for scripts and for the person who reads it the
 * next morning, written when `PHOENIX_REPORT_FILE` (or `--report`) names a file. It is written
 * on every ending (success, failure, signal, watchdog), atomically: a temporary file in the same
 * directory, renamed over the target, so a reader never sees half a report.
 *
 * Its shape is defined in zod in `run_report_schema.ts`; this module imports only its type,
 * so that an executable can write a report (a usage error's, say) without loading zod.
 *
 * @module
 */

import { REPORT_FORMAT } from "../core/version.ts";
import { atomicWriteSync } from "../core/atomic_write.ts";
import type { RunRecord } from "./run_record.ts";
import type { RunReport } from "./run_report_schema.ts";
import { redact } from "../core/secrets.ts";
import { describeIoError } from "../core/io_errors.ts";
import { SetupError } from "../core/errors.ts";
import { ExitCode } from "../core/exit_codes.ts";

export type { RunReport } from "./run_report_schema.ts";

/** Everything about the run's end that the record does not hold. */
export interface RunEnding {
  readonly ctid: string;
  readonly kind: "template" | "standard";
  readonly executable: string;
  readonly version: string;
  readonly dryRun: boolean;
  readonly exitCode: number;
  readonly outcome: RunReport["outcome"];
  readonly produced?: string;
  readonly snapshot?: string;
  /** How the container or its snapshot differs from what the executable makes (drift, --check). */
  readonly differences?: readonly string[];
  readonly error?: { readonly phase: string; readonly message: string };
  /** When the run ended (milliseconds since the epoch). */
  readonly endedAt: number;
}

/**
 * Builds the report of a run from its record and how it ended; secrets are masked.
 *
 * @example
 * ```ts
 * import { RunRecord } from "./run_record.ts";
 * import { buildRunReport } from "./run_report.ts";
 * const record = new RunRecord(() => 0);
 * const report = buildRunReport(record, {
 *   ctid: "920", kind: "template", executable: "phoenix_hypervisor_setup_920.sh",
 *   version: "0.1.0", dryRun: false, exitCode: 0, outcome: "completed", endedAt: 1500,
 * });
 * report.durationMs; // 1500
 * ```
 */
export function buildRunReport(record: RunRecord, ending: RunEnding): RunReport {
  return {
    format: REPORT_FORMAT,
    ctid: ending.ctid,
    kind: ending.kind,
    executable: ending.executable,
    version: ending.version,
    dryRun: ending.dryRun,
    startedAt: new Date(record.startedAt).toISOString(),
    endedAt: new Date(ending.endedAt).toISOString(),
    durationMs: Math.max(0, Math.round(ending.endedAt - record.startedAt)),
    exitCode: ending.exitCode,
    outcome: ending.outcome,
    ...(ending.produced !== undefined && { produced: redact(ending.produced) }),
    ...(ending.snapshot !== undefined && { snapshot: ending.snapshot }),
    ...(ending.differences !== undefined && { differences: [...ending.differences] }),
    steps: record.steps.map(({ index, name, status, durationMs }) => ({
      index,
      name,
      status,
      durationMs,
    })),
    verifications: record.verifications.map(({ name, status, durationMs }) => ({
      name,
      status,
      durationMs,
    })),
    pctCalls: record.commands.map(({ argv, exitCode, durationMs, check }) => ({
      argv: [...argv],
      exitCode,
      durationMs,
      check,
    })),
    ...(ending.error && {
      error: { phase: ending.error.phase, message: redact(ending.error.message) },
    }),
  };
}

/**
 * Checks, before the run changes anything, that the run report can be written to `path`: a run
 * that found out only at its end would have done its work without the report asked for. An
 * existing file is opened for writing and left as it is; a missing one is created and removed.
 *
 * @param source Where the path came from, for the message (`--report`, `PHOENIX_REPORT_FILE`).
 * @throws {SetupError} With {@linkcode ExitCode.InvalidInput}, saying in plain words why not.
 */
export function checkReportFile(path: string, source: string): void {
  try {
    let exists = true;
    try {
      if (Deno.statSync(path).isDirectory) throw new Deno.errors.IsADirectory();
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      exists = false;
    }
    Deno.openSync(path, { write: true, createNew: !exists }).close();
    if (!exists) Deno.removeSync(path);
  } catch (error) {
    const why = error instanceof Deno.errors.NotFound
      ? "its directory does not exist"
      : describeIoError(error);
    throw new SetupError(
      `Cannot write the run report to ${JSON.stringify(path)} (${source}): ${why}. Give a file ` +
        `in a directory this user can write, or leave ${source} out`,
      ExitCode.InvalidInput,
      { phase: "checking the report file", cause: error },
    );
  }
}

/**
 * Writes `report` to `path` atomically: a temporary file beside it, then a rename, so a reader
 * finds the previous report or this one, never a part.
 *
 * @throws When the directory cannot be written (the caller logs it; the run's exit code stands).
 */
export function writeRunReport(path: string, report: RunReport): void {
  atomicWriteSync(
    path,
    (temporary) =>
      Deno.writeTextFileSync(temporary, `${JSON.stringify(report, null, 2)}\n`, { mode: 0o644 }),
  );
}
