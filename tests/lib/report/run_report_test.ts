import assert from "node:assert/strict";
import { join } from "node:path";
import { RunRecord } from "../../../lib/report/run_record.ts";
import { buildRunReport, writeRunReport } from "../../../lib/report/run_report.ts";
import {
  renderRunReportSchema,
  RUN_REPORT_SCHEMA_FILE,
  RunReportSchema,
} from "../../../lib/report/run_report_schema.ts";
import { registerSecret } from "../../../lib/core/secrets.ts";

const ENDING = {
  ctid: "950",
  kind: "standard",
  executable: "phoenix_hypervisor_setup_950.sh",
  version: "0.1.0",
  dryRun: false,
  exitCode: 3,
  outcome: "failed",
  endedAt: 1_764_000_061_500,
} as const;

Deno.test("the committed JSON Schema of the run report is the one zod generates", async () => {
  assert.equal(
    await Deno.readTextFile(RUN_REPORT_SCHEMA_FILE),
    renderRunReportSchema(),
    "schema/run_report.schema.json is out of date: run `deno task schema`",
  );
});

Deno.test("buildRunReport tells steps, calls and the error, secrets masked, and validates", () => {
  registerSecret("hf_ReportSecret0123456789");
  const record = new RunRecord(() => 1_764_000_000_000);
  record.steps.push({ index: 1, name: "Write the token", status: "failed", durationMs: 42 });
  record.commandEnded({
    argv: ["pct", "exec", "950", "--", "env", "HF_TOKEN=hf_ReportSecret0123456789", "true"],
    exitCode: 1,
    stdout: "",
    stderr: "",
    durationMs: 12,
  });
  const report = buildRunReport(record, {
    ...ENDING,
    error: { phase: 'step "Write the token"', message: "hf_ReportSecret0123456789 refused" },
  });
  assert.deepEqual(RunReportSchema.parse(report), report);
  assert.equal(report.startedAt, "2025-11-24T16:00:00.000Z");
  assert.equal(report.durationMs, 61_500);
  assert.deepEqual(report.steps, [
    { index: 1, name: "Write the token", status: "failed", durationMs: 42 },
  ]);
  assert.deepEqual(report.pctCalls[0].argv.slice(4), ["env", "HF_TOKEN=***", "true"]);
  assert.equal(report.error?.message, "*** refused");
  assert.doesNotMatch(JSON.stringify(report), /hf_ReportSecret/);
});

Deno.test("RunReportSchema refuses a report that lacks a field or has a wrong one", () => {
  const report = buildRunReport(new RunRecord(() => 0), { ...ENDING, endedAt: 5 });
  assert.ok(RunReportSchema.safeParse(report).success);
  assert.ok(!RunReportSchema.safeParse({ ...report, outcome: "meh" }).success);
  assert.ok(!RunReportSchema.safeParse({ ...report, ctid: "92" }).success);
  const { pctCalls: _, ...withoutCalls } = report;
  assert.ok(!RunReportSchema.safeParse(withoutCalls).success);
});

Deno.test("writeRunReport replaces the file whole and leaves no temporary file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "run.json");
    await Deno.writeTextFile(path, "old");
    const report = buildRunReport(new RunRecord(() => 0), { ...ENDING, endedAt: 5 });
    writeRunReport(path, report);
    assert.deepEqual(JSON.parse(await Deno.readTextFile(path)), report);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["run.json"]);
    assert.throws(() => writeRunReport(join(dir, "missing", "run.json"), report));
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["run.json"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
