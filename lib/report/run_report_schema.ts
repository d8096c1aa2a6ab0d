/**
 * The run report's schema, in zod: what `run_report.ts` writes, and what tests and scripts
 * validate a report with. `schema/run_report.schema.json` is generated from it
 * (`deno task schema`) and a test keeps the two in step.
 *
 * @module
 */

import { z } from "../deps/zod.ts";
import { renderDraft07 } from "../core/json_schema.ts";
import { REPORT_FORMAT } from "../core/version.ts";
import { CTID_PATTERN } from "../core/ctid.ts";

const milliseconds = z.number().int().nonnegative();

/** The run report, as zod validates it. */
export const RunReportSchema = z.object({
  format: z.literal(REPORT_FORMAT).describe("The report format's version"),
  ctid: z.string().regex(CTID_PATTERN).describe("The container's CTID"),
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
    "checked",
    "failed",
    "stopped",
  ]).describe(
    "How the run ended; `stopped`: by a signal or the watchdog; `checked`: a --check run",
  ),
  produced: z.string().optional().describe(
    "What the run produced or found in place, in words (snapshot; service URL and model); " +
      "only for a run that succeeded and was not a dry run",
  ),
  snapshot: z.string().optional().describe("The template's snapshot name"),
  differences: z.array(z.string()).optional().describe(
    "How the template's snapshot differs from what the executable makes now (drift: the exit " +
      "stays 0), or, for --check, what a run would change (exit 12); one difference an item",
  ),
  steps: z.array(z.object({
    index: z.number().int().positive(),
    name: z.string(),
    status: z.enum([
      "ran",
      "already-done",
      "failed",
      "would-run",
      "unchecked",
      "not-needed",
      "not-run",
    ]).describe(
      "`would-run`/`unchecked`: a dry run found it not done / did not check it (it depends on " +
        "an earlier step that would run); `not-needed`: a requirement left unchecked, as no " +
        "step had to change anything (the verification proves it); `not-run`: the run never " +
        "ran it, as it failed or was stopped first (or a requirement checked for it was not met)",
    ),
    durationMs: milliseconds,
  })).describe(
    "Every step of the module once the steps began, in order (none when the run ended before)",
  ),
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
  node: z.string().optional().describe(
    "The cluster node the run happened on, when it was not the node it was started on (the " +
      "container lives there; the run was forwarded over SSH)",
  ),
  startedOn: z.string().optional().describe(
    "The cluster node the run was started on, when it happened on another (see `node`)",
  ),
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

/** Where the report's JSON Schema is committed, relative to the repository root. */
export const RUN_REPORT_SCHEMA_FILE = new URL(
  "../../schema/run_report.schema.json",
  import.meta.url,
);

/**
 * The JSON Schema (draft-07) of the run report, generated from {@linkcode RunReportSchema}.
 *
 * @returns Pretty-printed JSON ending in a newline; the same text on every call.
 */
export function renderRunReportSchema(): string {
  return renderDraft07(RunReportSchema);
}

if (import.meta.main) {
  await Deno.writeTextFile(RUN_REPORT_SCHEMA_FILE, renderRunReportSchema());
  console.log(`Wrote ${RUN_REPORT_SCHEMA_FILE.pathname}`);
}
