/**
 * Assertions that hand back the error they expected, so that a test can go on to check its
 * exit code, phase or message.
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
