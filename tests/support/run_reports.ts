/**
 * Reading a run report the way a script would, and validating it against the report's schema.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type RunReport, RunReportSchema } from "../../lib/report/run_report_schema.ts";

/** Reads the report at `path`, fails the test unless it validates, and returns it. */
export async function validReport(path: string): Promise<RunReport> {
  const text = await Deno.readTextFile(path);
  const parsed = RunReportSchema.safeParse(JSON.parse(text));
  assert.ok(parsed.success, `invalid report ${path}: ${parsed.error?.message}\n${text}`);
  return parsed.data;
}
