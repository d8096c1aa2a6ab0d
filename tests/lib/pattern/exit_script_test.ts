import assert from "node:assert/strict";
import { ExitCode } from "../../../lib/core/exit_codes.ts";
import { closingMessage, exitScript, summaryLine } from "../../../lib/pattern/exit_script.ts";
import { RecordingLog } from "../../support/recording_log.ts";

const template = { ctid: "920", kind: "template" } as const;
const standard = { ctid: "950", kind: "standard" } as const;

/** Stands in for Deno.exit: records the code and unwinds like a real exit would. */
class Exited extends Error {
  constructor(readonly code: number) {
    super(`exit(${code})`);
  }
}
const fakeExit = (code: number): never => {
  throw new Exited(code);
};

Deno.test("closingMessage for a template whose snapshot was created", () => {
  assert.equal(
    closingMessage(template, {
      outcome: { kind: "snapshot-created", snapshot: "vllm-base-snapshot" },
    }),
    "Setup for template 920 completed successfully. Snapshot 'vllm-base-snapshot' created.",
  );
});

Deno.test("closingMessage for a template that was already complete", () => {
  assert.equal(
    closingMessage(template, {
      outcome: { kind: "already-complete", snapshot: "vllm-base-snapshot" },
    }),
    "Setup for template 920 already complete: snapshot 'vllm-base-snapshot' exists. " +
      "Nothing to do.",
  );
});

Deno.test("closingMessage for a completed standard container", () => {
  assert.equal(
    closingMessage(standard, { outcome: { kind: "completed" } }),
    "Setup for container 950 completed successfully.",
  );
  assert.equal(
    closingMessage(
      { ...standard, produced: 'vLLM serves "Qwen/Qwen3" at http://localhost:8000/v1' },
      { outcome: { kind: "completed" } },
    ),
    'Setup for container 950 completed successfully. vLLM serves "Qwen/Qwen3" at ' +
      "http://localhost:8000/v1.",
  );
});

Deno.test("summaryLine counts steps by outcome, verifications, pct calls and the time", () => {
  assert.equal(
    summaryLine({
      steps: [{ status: "ran" }, { status: "already-done" }, { status: "already-done" }],
      verifications: [{ status: "passed" }],
      pctCalls: 23,
      durationMs: 42_100,
    }),
    "Summary: 3 steps (1 run, 2 already done, 0 failed); 1 verification passed; 23 pct calls; " +
      "42.1 s in total.",
  );
  assert.equal(
    summaryLine({
      steps: [{ status: "ran" }, { status: "failed" }],
      verifications: [],
      pctCalls: 1,
      durationMs: 192_000,
    }),
    "Summary: 2 steps (1 run, 0 already done, 1 failed); no verification run; 1 pct call; " +
      "3 min 12 s in total.",
  );
  assert.equal(
    summaryLine({
      steps: [{ status: "failed" }, { status: "not-run" }, { status: "not-run" }],
      verifications: [],
      pctCalls: 4,
      durationMs: 959,
    }),
    "Summary: 3 steps (0 run, 0 already done, 1 failed, 2 not run); no verification run; " +
      "4 pct calls; 959 ms in total.",
  );
  assert.equal(
    summaryLine({
      steps: [{ status: "would-run" }],
      verifications: [{ status: "passed" }, { status: "failed" }],
      pctCalls: 2,
      durationMs: 80,
    }),
    "Summary: 1 step (0 run, 0 already done, 0 failed, 1 to do); 1 verification passed, " +
      "1 failed; 2 pct calls; 80 ms in total.",
  );
  assert.equal(
    summaryLine({
      steps: [{ status: "not-needed" }, { status: "already-done" }],
      verifications: [{ status: "passed" }],
      pctCalls: 2,
      durationMs: 900,
    }),
    "Summary: 2 steps (0 run, 1 already done, 0 failed, 1 requirement not needed); " +
      "1 verification passed; 2 pct calls; 900 ms in total.",
  );
});

Deno.test("exitScript logs the summary before the closing message", async () => {
  const log = new RecordingLog();
  const summary = { steps: [], verifications: [], pctCalls: 2, durationMs: 10 };
  await assert.rejects(
    exitScript(ExitCode.Step, standard, { failedDuring: "x" }, log, fakeExit, summary),
    (error) => error instanceof Exited && error.code === 3,
  );
  assert.deepEqual(log.entries, [
    [
      "info",
      "Summary: 0 steps (0 run, 0 already done, 0 failed); no verification run; " +
      "2 pct calls; 10 ms in total.",
    ],
    ["fatal", "Setup for container 950 failed during x. Exit code 3."],
  ]);
});

Deno.test("closingMessage for a dry run, template and standard", () => {
  assert.equal(
    closingMessage(template, { outcome: { kind: "dry-run" } }),
    "Dry run for template 920 finished: nothing was changed.",
  );
  assert.equal(
    closingMessage(standard, { outcome: { kind: "dry-run" } }),
    "Dry run for container 950 finished: nothing was changed.",
  );
});

Deno.test("closingMessage for a failure names the phase", () => {
  assert.equal(
    closingMessage(standard, { failedDuring: 'step "Install vLLM"' }),
    'Setup for container 950 failed during step "Install vLLM".',
  );
  assert.equal(
    closingMessage(template, { failedDuring: "snapshot" }),
    "Setup for template 920 failed during snapshot.",
  );
});

Deno.test("exitScript logs success as INFO and exits 0", async () => {
  const log = new RecordingLog();
  await assert.rejects(
    exitScript(ExitCode.Success, standard, { outcome: { kind: "completed" } }, log, fakeExit),
    (error) => error instanceof Exited && error.code === 0,
  );
  assert.deepEqual(log.entries, [["info", "Setup for container 950 completed successfully."]]);
});

Deno.test("exitScript logs a failure as FATAL with the exit code and exits with it", async () => {
  const log = new RecordingLog();
  await assert.rejects(
    exitScript(ExitCode.Snapshot, template, { failedDuring: "snapshot" }, log, fakeExit),
    (error) => error instanceof Exited && error.code === 6,
  );
  assert.deepEqual(log.entries, [
    ["fatal", "Setup for template 920 failed during snapshot. Exit code 6."],
  ]);
});

Deno.test("exitScript passes each exit code through unchanged", async () => {
  for (const code of Object.values(ExitCode)) {
    const log = new RecordingLog();
    const ending = code === 0 ? { outcome: { kind: "completed" } as const } : { failedDuring: "x" };
    await assert.rejects(
      exitScript(code, standard, ending, log, fakeExit),
      (error) => error instanceof Exited && error.code === code,
    );
    assert.equal(log.entries.length, 1);
    assert.equal(log.entries[0][0], code === 0 ? "info" : "fatal");
  }
});

Deno.test("exitScript lets the exit code, not the ending, choose the level", async () => {
  const log = new RecordingLog();
  await assert.rejects(
    exitScript(ExitCode.Interrupted, standard, { outcome: { kind: "dry-run" } }, log, fakeExit),
    (error) => error instanceof Exited && error.code === 130,
  );
  assert.deepEqual(log.entries, [
    ["fatal", "Dry run for container 950 finished: nothing was changed. Exit code 130."],
  ]);
});

Deno.test("ExitCode values are the documented, stable ones", () => {
  assert.deepEqual({ ...ExitCode }, {
    Success: 0,
    InvalidInput: 1,
    Config: 2,
    Step: 3,
    Verification: 4,
    Lifecycle: 5,
    Snapshot: 6,
    Locked: 7,
    HostPrerequisite: 8,
    Watchdog: 9,
    LockDirUnusable: 10,
    HostSideLeft: 11,
    Differs: 12,
    ContainerBusy: 13,
    ContainerUnusable: 14,
    OwnerUnreachable: 15,
    NoQuorum: 16,
    ContainerMoved: 17,
    Internal: 70,
    Interrupted: 130,
    Terminated: 143,
  });
});
