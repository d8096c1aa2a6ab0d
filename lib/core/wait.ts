/**
 * Polling with a deadline and exponential backoff: the replacement for the old scripts'
 * `sleep 3` loops. The clock is injectable so tests use fake time instead of sleeping.
 *
 * @module
 */

import { formatDuration } from "./duration.ts";

/** What a probe reports: ready, or not yet and why. */
export type ProbeResult = { readonly ready: true } | {
  readonly ready: false;
  readonly detail: string;
};

/** Time as the waiting loop sees it. */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** How long and how often to poll. */
export interface WaitOptions {
  /** Give up after this many milliseconds. */
  readonly timeoutMs: number;
  /** The first pause between probes. Default 250 ms. */
  readonly initialDelayMs?: number;
  /** The longest pause between probes. Default 5000 ms. */
  readonly maxDelayMs?: number;
  /** Each pause is the previous one times this. Default 2. */
  readonly factor?: number;
  /** Injected time; default {@linkcode systemClock}. */
  readonly clock?: Clock;
  /**
   * Told after each attempt that was not ready, before the pause: the caller narrates the wait
   * (see {@linkcode describeWait}), so a long one never looks like a hang.
   */
  readonly onRetry?: (progress: WaitProgress) => void;
}

/** Where a wait stands after an attempt that was not ready. */
export interface WaitProgress {
  /** The attempt that just answered, from 1. */
  readonly attempt: number;
  /** Time since the wait began. */
  readonly elapsedMs: number;
  /** The wait's deadline, from its beginning. */
  readonly timeoutMs: number;
  /** What the attempt answered, e.g. `HTTP 503` or `connection refused`. */
  readonly detail: string;
  /** The pause before the next attempt. */
  readonly nextDelayMs: number;
}

/**
 * One line of a wait's narration.
 *
 * @example
 * ```ts
 * import { describeWait } from "./wait.ts";
 * describeWait("GET /health to answer 200", {
 *   attempt: 3, elapsedMs: 12_000, timeoutMs: 1_800_000, detail: "HTTP 503", nextDelayMs: 4000,
 * });
 * // "Waiting for GET /health to answer 200: attempt 3: HTTP 503; 12.0 s of 30 min; next try in 4.0 s"
 * ```
 */
export function describeWait(what: string, progress: WaitProgress): string {
  return `Waiting for ${what}: attempt ${progress.attempt}: ${progress.detail}; ` +
    `${formatDuration(progress.elapsedMs)} of ${formatDuration(progress.timeoutMs)}; ` +
    `next try in ${formatDuration(progress.nextDelayMs)}`;
}

/** The deadline passed before the probe reported ready. */
export class WaitTimeoutError extends Error {
  /** @param what What was awaited; `detail` is the probe's last report. */
  constructor(what: string, timeoutMs: number, attempts: number, detail: string) {
    super(
      `Timed out after ${formatDuration(timeoutMs)} waiting for ${what} ` +
        `(${attempts} ${attempts === 1 ? "attempt" : "attempts"}; last: ${detail})`,
    );
    this.name = "WaitTimeoutError";
  }
}

/** How the pause between two attempts grows. */
export interface Backoff {
  /** The first pause. */
  readonly initialDelayMs: number;
  /** Each pause is the previous one times this. */
  readonly factor: number;
  /** The longest pause. */
  readonly maxDelayMs: number;
}

/**
 * The pauses of an exponential backoff, endlessly: shared by {@linkcode waitFor} (bounded by a
 * deadline) and the step library's retries (bounded by a number of attempts).
 *
 * @example
 * ```ts
 * import { backoffDelays } from "./wait.ts";
 * const pauses = backoffDelays({ initialDelayMs: 250, factor: 2, maxDelayMs: 1000 });
 * [pauses.next().value, pauses.next().value, pauses.next().value, pauses.next().value];
 * // [250, 500, 1000, 1000]
 * ```
 */
export function* backoffDelays(backoff: Backoff): Generator<number, never> {
  let delay = backoff.initialDelayMs;
  for (;;) {
    yield delay;
    delay = Math.min(delay * backoff.factor, backoff.maxDelayMs);
  }
}

/**
 * Calls `probe` until it reports ready, pausing with exponential backoff, never past the
 * deadline. Throws {@linkcode WaitTimeoutError} with the probe's last detail.
 *
 * @param what A description for messages, e.g. `"vLLM to answer /health"`.
 * @returns The number of attempts it took.
 *
 * @example
 * ```ts
 * import { waitFor } from "./wait.ts";
 * await waitFor("the answer", async () => ({ ready: true }), { timeoutMs: 1000 });
 * ```
 */
export async function waitFor(
  what: string,
  probe: () => Promise<ProbeResult>,
  options: WaitOptions,
): Promise<number> {
  const clock = options.clock ?? systemClock;
  const began = clock.now();
  const deadline = began + options.timeoutMs;
  const pauses = backoffDelays({
    initialDelayMs: options.initialDelayMs ?? 250,
    factor: options.factor ?? 2,
    maxDelayMs: options.maxDelayMs ?? 5000,
  });
  for (let attempt = 1;; attempt++) {
    const result = await probe();
    if (result.ready) return attempt;
    const remaining = deadline - clock.now();
    if (remaining <= 0) {
      throw new WaitTimeoutError(what, options.timeoutMs, attempt, result.detail);
    }
    const pause = Math.min(pauses.next().value, remaining);
    options.onRetry?.({
      attempt,
      elapsedMs: clock.now() - began,
      timeoutMs: options.timeoutMs,
      detail: result.detail,
      nextDelayMs: pause,
    });
    await clock.sleep(pause);
  }
}
