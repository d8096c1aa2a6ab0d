/**
 * `exitScript`: the one way a run ends. It logs the pattern's closing message, flushes the logs
 * (LogTape buffers, and `Deno.exit` does not wait for it) and exits with the code.
 *
 * @module
 */

import type { ContainerKind } from "./container_module.ts";
import { ExitCode } from "./exit_codes.ts";
import type { Outcome } from "./flow.ts";
import { flushLogs, type Log } from "./logging.ts";

/** How the run ended, for the closing message. */
export type Ending =
  | { readonly outcome: Outcome }
  | { readonly failedDuring: string };

/** Who is being set up, for the closing message. */
export interface Subject {
  readonly ctid: string;
  readonly kind: ContainerKind;
}

/**
 * The closing message for a run.
 *
 * @example
 * ```ts
 * import { closingMessage } from "./exit_script.ts";
 * closingMessage({ ctid: "950", kind: "standard" }, { outcome: { kind: "completed" } });
 * // "Setup for container 950 completed."
 * ```
 */
export function closingMessage(subject: Subject, ending: Ending): string {
  const who = subject.kind === "template"
    ? `container/template ${subject.ctid}`
    : `container ${subject.ctid}`;
  if ("failedDuring" in ending) return `Setup for ${who} failed during ${ending.failedDuring}.`;
  const outcome = ending.outcome;
  switch (outcome.kind) {
    case "snapshot-created":
      return `Setup for ${who} completed successfully. Snapshot '${outcome.snapshot}' created.`;
    case "already-complete":
      return outcome.started
        ? `Setup for ${who} already complete: snapshot '${outcome.snapshot}' exists. ` +
          "Started the container, which was stopped."
        : `Setup for ${who} already complete: snapshot '${outcome.snapshot}' exists. Nothing to do.`;
    case "completed":
      return `Setup for ${who} completed.`;
    case "dry-run":
      return `Dry run for ${who} finished: nothing was changed.`;
  }
}

/**
 * Logs the closing message (FATAL for a failure), flushes the logs and exits with `code`.
 *
 * @param exit Injected for tests; `Deno.exit` otherwise.
 */
export async function exitScript(
  code: ExitCode,
  subject: Subject,
  ending: Ending,
  log: Log,
  exit: (code: number) => never = Deno.exit,
): Promise<never> {
  const message = closingMessage(subject, ending);
  if (code === ExitCode.Success) log.info(message);
  else log.fatal(`${message} Exit code ${code}.`);
  await flushLogs();
  return exit(code);
}
