/**
 * Sorting out the calls a fake `pct` recorded (each an argv without the leading `pct`), the same
 * way for both transports: `FakePct.calls()` of the program and `InMemoryPct.argvs()`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { execCommands, mutatingCalls } from "./calls.ts";
 *
 * const calls = [["status", "950"], ["exec", "950", "--", "true"], ["start", "950"]];
 * assert.deepEqual(mutatingCalls(calls), [["start", "950"]]);
 * assert.deepEqual(execCommands(calls), [["true"]]);
 * ```
 *
 * @module
 */

import { probeBatchCommands } from "./_exec.ts";

/** The pct subcommands that change a container. */
export const MUTATING_COMMANDS: ReadonlySet<string> = new Set([
  "start",
  "stop",
  "shutdown",
  "snapshot",
  "delsnapshot",
  "rollback",
  "set",
  "push",
  "unlock",
]);

/** The calls whose subcommand changes a container. */
export function mutatingCalls(calls: readonly (readonly string[])[]): string[][] {
  return calls.filter((argv) => MUTATING_COMMANDS.has(argv[0])).map((argv) => [...argv]);
}

/**
 * The commands run inside containers: what follows `--` in each `pct exec`, and each command of
 * a batch of checks (`lib/probe_batch.ts`) on its own.
 */
export function execCommands(calls: readonly (readonly string[])[]): string[][] {
  return calls.filter((argv) => argv[0] === "exec").flatMap((argv) => {
    const command = argv.slice(argv.indexOf("--") + 1);
    const batch = probeBatchCommands(command);
    return batch ? [...batch.checks, ...batch.verifications].map((c) => [...c]) : [command];
  });
}

/**
 * Each call as one line, for assertions a reader can follow: `status 920`, an exec as
 * `exec <command>`, and a batch of checks as `batch: <command>; <command>`, followed by
 * `; if all succeed: <command>; ...` when it carries the verification's commands.
 */
export function callSummary(calls: readonly (readonly string[])[]): string[] {
  return calls.map((argv) => {
    if (argv[0] !== "exec") return argv.join(" ");
    const command = argv.slice(argv.indexOf("--") + 1);
    const batch = probeBatchCommands(command);
    if (!batch) return `exec ${command.join(" ")}`;
    const list = (commands: readonly (readonly string[])[]) =>
      commands.map((c) => c.join(" ")).join("; ");
    const checks = `batch: ${list(batch.checks)}`;
    return batch.verifications.length === 0
      ? checks
      : `${checks}; if all succeed: ${list(batch.verifications)}`;
  });
}
