/**
 * Retrying a command inside the container when it failed for a reason that goes away by itself
 * (a held dpkg lock, a network hiccup), with exponential backoff and a bounded number of
 * attempts. The clock is injectable, as in `../core/wait.ts`, so tests use fake time.
 *
 * @module
 */

import { CommandError, type CommandResult } from "../core/command_text.ts";
import type { SetupContext } from "../module/container_module.ts";
import { backoffDelays, type Clock, systemClock } from "../core/wait.ts";

/** How often and how patiently a transient failure is retried. */
export interface RetryOptions {
  /** Attempts in all, the first included. Default 5. */
  readonly attempts?: number;
  /** The first pause between attempts. Default 5000 ms. */
  readonly initialDelayMs?: number;
  /** The longest pause between attempts. Default 60000 ms. */
  readonly maxDelayMs?: number;
  /** Each pause is the previous one times this. Default 2. */
  readonly factor?: number;
  /** Injected time; default {@linkcode systemClock}. */
  readonly clock?: Clock;
}

/** Whether `result` failed with output matching one of `patterns`. */
export function failedWith(result: CommandResult, patterns: readonly RegExp[]): boolean {
  const output = `${result.stderr}\n${result.stdout}`;
  return result.exitCode !== 0 && patterns.some((pattern) => pattern.test(output));
}

/**
 * Runs `attempt` until it exits 0; retries only results for which `transient` is true.
 * Throws a {@linkcode CommandError} for a permanent failure or when the attempts run out.
 *
 * @param what The command, for messages, e.g. `apt-get install curl`.
 */
export async function retryTransient<S>(
  ctx: SetupContext<S>,
  what: string,
  attempt: () => Promise<CommandResult>,
  transient: (result: CommandResult) => boolean,
  options: RetryOptions = {},
): Promise<CommandResult> {
  const attempts = options.attempts ?? 5;
  const clock = options.clock ?? systemClock;
  const pauses = backoffDelays({
    initialDelayMs: options.initialDelayMs ?? 5_000,
    factor: options.factor ?? 2,
    maxDelayMs: options.maxDelayMs ?? 60_000,
  });
  for (let n = 1;; n++) {
    const result = await attempt();
    if (result.exitCode === 0) return result;
    if (!transient(result)) throw new CommandError(`In container ${ctx.ctid}: ${what}`, result);
    if (n >= attempts) {
      throw new CommandError(
        `In container ${ctx.ctid}: ${what} (still failing after ${attempts} attempts)`,
        result,
      );
    }
    const reason = (result.stderr.trim() || result.stdout.trim()).split("\n").pop();
    const delay = pauses.next().value;
    ctx.log.warn(
      `${what} failed in container ${ctx.ctid} (attempt ${n} of ${attempts}: ${reason}); ` +
        `retrying in ${Math.round(delay / 1000)} s`,
    );
    await clock.sleep(delay);
  }
}
