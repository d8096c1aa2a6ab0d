/**
 * Polling with a deadline and exponential backoff: the replacement for the old scripts'
 * `sleep 3` loops. The clock is injectable so tests use fake time instead of sleeping.
 *
 * @module
 */

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
}

/** The deadline passed before the probe reported ready. */
export class WaitTimeoutError extends Error {
  /** @param what What was awaited; `detail` is the probe's last report. */
  constructor(what: string, timeoutMs: number, attempts: number, detail: string) {
    super(
      `Timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what} ` +
        `(${attempts} attempts; last: ${detail})`,
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
  const deadline = clock.now() + options.timeoutMs;
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
    await clock.sleep(Math.min(pauses.next().value, remaining));
  }
}
