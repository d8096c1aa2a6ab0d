/**
 * `exitScript`: the one way a run ends. It logs the pattern's closing message, flushes the logs
 * (LogTape buffers, and `Deno.exit` does not wait for it) and exits with the code.
 *
 * @module
 */

import type { ContainerKind } from "../module/container_module.ts";
import { ExitCode } from "../core/exit_codes.ts";
import type { Outcome } from "./flow.ts";
import { formatDuration } from "../core/duration.ts";
import { flushLogs, type Log } from "../report/logging.ts";
import type { StepStatus } from "../report/run_record.ts";

/** How the run ended, for the closing message. */
export type Ending =
  | { readonly outcome: Outcome }
  | {
    readonly failedDuring: string;
    /** The error's message, for the run report (the log has it already). */
    readonly error?: string;
  };

/** Who is being set up, for the closing message. */
export interface Subject {
  readonly ctid: string;
  readonly kind: ContainerKind;
  /** What a finished setup provides, in words (`vLLM serves <model> at <url>`), if known. */
  readonly produced?: string;
}

/** What the run did, for the summary line before the closing message. */
export interface RunSummary {
  readonly steps: readonly { readonly status: StepStatus }[];
  readonly verifications: readonly { readonly status: "passed" | "failed" }[];
  readonly pctCalls: number;
  readonly durationMs: number;
}

function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/**
 * The summary of a run, one form for every ending: steps run, already done, failed (and those
 * not run after a failure; in a dry run, to do and unchecked; requirements no step needed),
 * verifications, pct calls and the total time.
 *
 * @example
 * ```ts
 * import { summaryLine } from "./exit_script.ts";
 * summaryLine({
 *   steps: [{ status: "ran" }, { status: "already-done" }],
 *   verifications: [{ status: "passed" }],
 *   pctCalls: 12,
 *   durationMs: 42_100,
 * });
 * // "Summary: 2 steps (1 run, 1 already done, 0 failed); 1 verification passed; 12 pct calls; 42.1 s in total."
 * ```
 */
export function summaryLine(summary: RunSummary): string {
  const steps = (status: StepStatus) => summary.steps.filter((s) => s.status === status).length;
  const toDo = steps("would-run");
  const unchecked = steps("unchecked");
  const notNeeded = steps("not-needed");
  const notRun = steps("not-run");
  const passed = summary.verifications.filter((v) => v.status === "passed").length;
  const failed = summary.verifications.length - passed;
  const verifications = summary.verifications.length === 0
    ? "no verification run"
    : `${count(passed, "verification")} passed${failed ? `, ${failed} failed` : ""}`;
  return `Summary: ${count(summary.steps.length, "step")} (${steps("ran")} run, ` +
    `${steps("already-done")} already done, ${steps("failed")} failed` +
    `${notRun ? `, ${notRun} not run` : ""}` +
    `${toDo ? `, ${toDo} to do` : ""}${unchecked ? `, ${unchecked} unchecked` : ""}` +
    `${notNeeded ? `, ${count(notNeeded, "requirement")} not needed` : ""}); ` +
    `${verifications}; ${count(summary.pctCalls, "pct call")}; ` +
    `${formatDuration(summary.durationMs)} in total.`;
}

/**
 * The closing message for a run.
 *
 * @example
 * ```ts
 * import { closingMessage } from "./exit_script.ts";
 * closingMessage({ ctid: "950", kind: "standard" }, { outcome: { kind: "completed" } });
 * // "Setup for container 950 completed successfully."
 * ```
 */
export function closingMessage(subject: Subject, ending: Ending): string {
  const who = `${subject.kind === "template" ? "template" : "container"} ${subject.ctid}`;
  const produced = subject.produced ? ` ${subject.produced}.` : "";
  if ("failedDuring" in ending) return `Setup for ${who} failed during ${ending.failedDuring}.`;
  const outcome = ending.outcome;
  switch (outcome.kind) {
    case "snapshot-created":
      return `Setup for ${who} completed successfully. Snapshot '${outcome.snapshot}' ` +
        `${outcome.refreshed ? "replaced" : "created"}.`;
    case "already-complete": {
      const drift = outcome.drift?.length
        ? ` It is out of date (${count(outcome.drift.length, "difference")}); --refresh ` +
          "rebuilds it."
        : "";
      return outcome.started
        ? `Setup for ${who} already complete: snapshot '${outcome.snapshot}' exists. ` +
          `Started the container, which was stopped.${drift}`
        : `Setup for ${who} already complete: snapshot '${outcome.snapshot}' exists.` +
          (drift || " Nothing to do.");
    }
    case "checked":
      return outcome.differences.length === 0
        ? `Check of ${who}: it is what this executable makes.`
        : `Check of ${who}: ${count(outcome.differences.length, "difference")}; a run would ` +
          "change it.";
    case "completed":
      return `Setup for ${who} completed successfully.${produced}`;
    case "dry-run":
      return `Dry run for ${who} finished: nothing was changed.`;
  }
}

/**
 * Logs the summary (when given) and the closing message (FATAL for a failure), flushes the logs
 * and exits with `code`.
 *
 * @param exit Injected for tests; `Deno.exit` otherwise.
 */
export async function exitScript(
  code: ExitCode,
  subject: Subject,
  ending: Ending,
  log: Log,
  exit: (code: number) => never = Deno.exit,
  summary?: RunSummary,
): Promise<never> {
  if (summary) log.info(summaryLine(summary));
  const message = closingMessage(subject, ending);
  if (code === ExitCode.Success) log.info(message);
  else log.fatal(`${message} Exit code ${code}.`);
  await flushLogs();
  return exit(code);
}
