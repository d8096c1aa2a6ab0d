/**
 * A {@linkcode Clock} for tests: time stands still until something sleeps on it (or a test moves
 * it), and every pause is remembered, so waits and backoffs are asserted exactly and instantly.
 * It also keeps repeating timers (a {@linkcode HeartbeatClock}), which fire as time moves past
 * them.
 *
 * @module
 */

import type { Clock } from "../../lib/core/wait.ts";
import type { HeartbeatClock } from "../../lib/report/heartbeat.ts";

/** A repeating timer of the fake clock. */
interface Timer {
  /** When it fires next. */
  due: number;
  readonly intervalMs: number;
  readonly tick: () => void;
}

/**
 * A clock that only moves when slept on or advanced, remembers every pause, and fires its
 * repeating timers as it moves.
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
 *
 * const ticks: number[] = [];
 * const cancel = clock.every(100, () => ticks.push(clock.now()));
 * clock.advance(250);
 * cancel();
 * clock.advance(1_000);
 * assert.deepEqual(ticks, [1_350, 1_450]);
 * ```
 */
export class FakeClock implements Clock, HeartbeatClock {
  /**
   * The current time in milliseconds; a test may set it (e.g. for a probe's own duration), which
   * fires no timer.
   */
  time: number;
  /** Every pause asked for, oldest first. */
  readonly sleeps: number[] = [];
  readonly #timers = new Set<Timer>();

  /** @param start The time to start at; 0 when absent. */
  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.advance(ms);
    return Promise.resolve();
  }

  every(intervalMs: number, tick: () => void): () => void {
    // A timer that is always due would fire forever on the first advance.
    if (!(intervalMs > 0)) throw new RangeError("a repeating timer needs an interval > 0 ms");
    const timer = { due: this.time + intervalMs, intervalMs, tick };
    this.#timers.add(timer);
    return () => this.#timers.delete(timer);
  }

  /** Moves time on by `ms`, firing each timer that comes due on the way, at its own time. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const next = [...this.#timers].filter((t) => t.due <= end).sort((a, b) => a.due - b.due)[0];
      if (!next) break;
      this.time = next.due;
      next.due += next.intervalMs;
      next.tick();
    }
    this.time = end;
  }

  /** How many repeating timers are still set (a stopped heartbeat leaves none). */
  get timerCount(): number {
    return this.#timers.size;
  }
}
