/**
 * A {@linkcode Clock} for tests: time stands still until something sleeps on it (or a test moves
 * it), and every pause is remembered, so waits and backoffs are asserted exactly and instantly.
 *
 * @module
 */

import type { Clock } from "../../lib/core/wait.ts";

/**
 * A clock that only moves when slept on or set, and remembers every pause.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FakeClock } from "./fake_clock.ts";
 *
 * const clock = new FakeClock(1_000);
 * await clock.sleep(250);
 * assert.equal(clock.now(), 1_250);
 * assert.deepEqual(clock.sleeps, [250]);
 * ```
 */
export class FakeClock implements Clock {
  /** The current time in milliseconds; a test may move it (e.g. for a probe's own duration). */
  time: number;
  /** Every pause asked for, oldest first. */
  readonly sleeps: number[] = [];

  /** @param start The time to start at; 0 when absent. */
  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.time += ms;
    return Promise.resolve();
  }
}
