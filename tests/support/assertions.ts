/**
 * Assertions shared by the tests: the ones that hand back the error they expected (so that a test
 * can go on to check its exit code, phase or message), a finished command's exit code, and a
 * bounded poll.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { StepsSummary } from "../../lib/pattern/run_steps.ts";

/** A class of errors, e.g. `SetupError`. */
// deno-lint-ignore no-explicit-any
export type ErrorClass<E extends Error> = abstract new (...args: any[]) => E;

/**
 * Awaits `promise`, which must reject with an instance of `errorClass`, and returns the error.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rejectsWith } from "./assertions.ts";
 *
 * const error = await rejectsWith(Promise.reject(new RangeError("too big")), RangeError);
 * assert.equal(error.message, "too big");
 * ```
 */
export async function rejectsWith<E extends Error>(
  promise: Promise<unknown>,
  errorClass: ErrorClass<E>,
): Promise<E> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof errorClass, `expected ${errorClass.name}, got ${error}`);
    return error;
  }
  assert.fail(`expected a ${errorClass.name}, nothing was thrown`);
}

/**
 * Calls `fn`, which must throw an instance of `errorClass`, and returns the error.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { throwsWith } from "./assertions.ts";
 *
 * const error = throwsWith(() => JSON.parse("{"), SyntaxError);
 * assert.equal(error.name, "SyntaxError");
 * ```
 */
export function throwsWith<E extends Error>(fn: () => unknown, errorClass: ErrorClass<E>): E {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof errorClass, `expected ${errorClass.name}, got ${error}`);
    return error;
  }
  assert.fail(`expected a ${errorClass.name}, nothing was thrown`);
}

/** A finished command as the tests' runners give it back. */
export interface Exited {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** What ran (e.g. a setup run's command line), for the failure message. */
  readonly what?: string;
  /** How long it ran, for the failure message (a run killed at its deadline shows it). */
  readonly durationMs?: number;
}

/**
 * Asserts that `run` exited with `code`; otherwise fails showing what ran and all it printed.
 *
 * @param what What ran, where `run` does not say (e.g. `"pct start"`).
 *
 * @example
 * ```ts
 * import { assertExit } from "./assertions.ts";
 *
 * assertExit({ code: 0, stdout: "status: running\n", stderr: "" }, 0, "pct status 920");
 * ```
 */
export function assertExit(run: Exited, code: number, what = run.what ?? "the command"): void {
  const took = run.durationMs === undefined ? "" : ` after ${Math.round(run.durationMs)} ms`;
  assert.equal(
    run.code,
    code,
    `${what}: exit ${run.code}${took}, expected ${code}\n` +
      `--- stdout\n${run.stdout}--- stderr\n${run.stderr}---`,
  );
}

/**
 * The counts of a `runSteps` summary, for `assert.deepEqual` (the summary also carries a
 * function).
 */
export function stepCounts(summary: StepsSummary): { ran: number; skipped: number } {
  return { ran: summary.ran, skipped: summary.skipped };
}

/**
 * Polls `condition` every 50 ms until it holds, failing with `what` after `timeoutMs`: for a
 * state another process writes a moment after the event the test saw.
 */
export async function eventually(
  condition: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!await condition()) {
    assert.ok(Date.now() < deadline, `${what} (waited ${timeoutMs} ms)`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
