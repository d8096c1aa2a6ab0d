/**
 * The run report: one JSON document per run, for scripts and for the person who reads it the
 * next morning, written when `PHOENIX_REPORT_FILE` (or `--report`) names a file. It is written
 * on every ending (success, failure, signal, watchdog), atomically: a temporary file in the same
 * directory, renamed over the target, so a reader never sees half a report.
 *
 * The report is defined here in zod; `schema/run_report.schema.json` is generated from it
 * (`deno task schema`) and a test keeps the two in step.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { z } from "./deps.ts";
import type { RunRecord } from "./run_record.ts";
import { redact } from "./secrets.ts";

/** The report's format version; raised when a field changes meaning or goes. */
export const REPORT_FORMAT = 1;

const milliseconds = z.number().int().nonnegative();

/** The run report, as zod validates it. */
export const RunReportSchema = z.object({
  format: z.literal(REPORT_FORMAT).describe("The report format's version"),
  ctid: z.string().regex(/^[1-9][0-9]{2,8}$/).describe("The container's CTID"),
  kind: z.enum(["template", "standard"]).describe("A template ends in a snapshot"),
  executable: z.string().describe("The executable's file name"),
  version: z.string().describe("The phoenix-setup version"),
  dryRun: z.boolean(),
  startedAt: z.iso.datetime().describe("When the run started (UTC, ISO 8601)"),
  endedAt: z.iso.datetime().describe("When the run ended (UTC, ISO 8601)"),
  durationMs: milliseconds,
  exitCode: z.number().int().min(0).max(255).describe("The exit code (see --help)"),
  outcome: z.enum([
    "snapshot-created",
    "already-complete",
    "completed",
    "dry-run",
    "failed",
    "stopped",
  ]).describe("How the run ended; `stopped`: by a signal or the watchdog"),
  produced: z.string().optional().describe(
    "What the run produced or found in place, in words (snapshot; service URL and model)",
  ),
  snapshot: z.string().optional().describe("The template's snapshot name"),
  steps: z.array(z.object({
    index: z.number().int().positive(),
    name: z.string(),
    status: z.enum(["ran", "already-done", "failed", "would-run", "unchecked"]).describe(
      "`would-run`/`unchecked`: a dry run found it not done / did not check it (it depends on " +
        "an earlier step that would run)",
    ),
    durationMs: milliseconds,
  })).describe("The steps the run reached, in order"),
  verifications: z.array(z.object({
    name: z.string(),
    status: z.enum(["passed", "failed"]),
    durationMs: milliseconds,
  })),
  pctCalls: z.array(z.object({
    argv: z.array(z.string()).describe("The command, secrets masked"),
    exitCode: z.number().int(),
    durationMs: milliseconds,
    check: z.boolean().describe(
      "Made by a step's check or a readiness probe: a non-zero exit is an answer ('not yet')",
    ),
  })),
  error: z.object({
    phase: z.string().describe('Where it failed, e.g. `step "Install vLLM"`'),
    message: z.string().describe("The error, secrets masked"),
  }).optional().describe("Present when the run failed or was stopped"),
}).meta({
  title: "phoenix-setup run report",
  description: "What one run of a phoenix_hypervisor_setup_<CTID>.sh executable did",
});

/** One run report. */
export type RunReport = z.infer<typeof RunReportSchema>;

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
 * Writes `report` to `path` atomically: a temporary file beside it, then a rename, so a reader
 * finds the previous report or this one, never a part.
 *
 * @throws When the directory cannot be written (the caller logs it; the run's exit code stands).
 */
export function writeRunReport(path: string, report: RunReport): void {
  const temporary = join(dirname(path), `.${crypto.randomUUID()}.report.tmp`);
  try {
    Deno.writeTextFileSync(temporary, `${JSON.stringify(report, null, 2)}\n`, { mode: 0o644 });
    Deno.renameSync(temporary, path);
  } catch (error) {
    try {
      Deno.removeSync(temporary);
    } catch { /* never created */ }
    throw error;
  }
}

/** Where the report's JSON Schema is committed, relative to the repository root. */
export const RUN_REPORT_SCHEMA_FILE = new URL("../schema/run_report.schema.json", import.meta.url);

/**
 * The JSON Schema (draft-07) of the run report, generated from {@linkcode RunReportSchema}.
 *
 * @returns Pretty-printed JSON ending in a newline; the same text on every call.
 */
export function renderRunReportSchema(): string {
  const schema = z.toJSONSchema(RunReportSchema, {
    target: "draft-07",
    override: ({ jsonSchema }) => {
      // zod bounds every integer by Number.MAX_SAFE_INTEGER; as a documented limit it is noise.
      if (jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
    },
  });
  return `${JSON.stringify(schema, null, 2)}\n`;
}

if (import.meta.main) {
  await Deno.writeTextFile(RUN_REPORT_SCHEMA_FILE, renderRunReportSchema());
  console.log(`Wrote ${RUN_REPORT_SCHEMA_FILE.pathname}`);
}
