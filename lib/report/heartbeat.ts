/**
 * Heartbeats: a command that runs longer than a few seconds says, at a steady interval, that it
 * is still running, for how long, and the last line it printed. Without them a `pip install` of
 * minutes, or a model download, looks exactly like a hang.
 *
 * @module
 */

import { formatDuration } from "../core/duration.ts";

/** The longest piece of a command's last output line a heartbeat quotes. */
const QUOTED_OUTPUT_CHARS = 120;

/**
 * The text of one heartbeat.
 *
 * @param what The command, as a person would type it.
 * @param elapsedMs How long it has run.
 * @param lastOutput The last line it printed, if any.
 *
 * @example
 * ```ts
 * import { heartbeatText } from "./heartbeat.ts";
 * heartbeatText("pip install vllm", 80_000, "Collecting torch");
 * // 'Still running: pip install vllm (1 min 20 s; last output: "Collecting torch")'
 * ```
 */
export function heartbeatText(what: string, elapsedMs: number, lastOutput?: string): string {
  const shown = lastOutput === undefined
    ? "no output yet"
    : `last output: ${JSON.stringify(shorten(lastOutput.trim()))}`;
  return `Still running: ${what} (${formatDuration(elapsedMs)}; ${shown})`;
}

function shorten(text: string): string {
  return text.length <= QUOTED_OUTPUT_CHARS ? text : `${text.slice(0, QUOTED_OUTPUT_CHARS - 1)}…`;
}

/** A running heartbeat; {@linkcode Heartbeat.stop} it when the command ends, however it ends. */
export interface Heartbeat {
  /** Remembers the command's latest output line, for the next beat. */
  output(line: string): void;
  /** Stops the beats and clears the timer (a live timer would keep the process alive). */
  stop(): void;
}

/**
 * Time as a heartbeat sees it: the current time and a repeating timer. Injectable so that tests
 * move time instead of sleeping.
 */
export interface HeartbeatClock {
  /** The current time in milliseconds. */
  now(): number;
  /** Calls `tick` every `intervalMs` until the returned function is called. */
  every(intervalMs: number, tick: () => void): () => void;
}

/** The real clock: `Date.now` and an interval timer that never holds the process open. */
export const systemHeartbeatClock: HeartbeatClock = {
  now: () => Date.now(),
  every: (intervalMs, tick) => {
    const timer = setInterval(tick, intervalMs);
    // The run never waits for a heartbeat: a forgotten one must not hold the process open either.
    Deno.unrefTimer(timer);
    return () => clearInterval(timer);
  },
};

/**
 * Starts beating every `intervalMs` for the command `what`: the first beat comes one interval
 * after the start, so a quick command never beats.
 *
 * @param beat Receives each beat's text (the caller logs it, which masks secrets).
 * @param clock The time and the timer; default {@linkcode systemHeartbeatClock}.
 *
 * @example
 * ```ts
 * import { startHeartbeat } from "./heartbeat.ts";
 * const heartbeat = startHeartbeat("pip install vllm", 10_000, console.log);
 * heartbeat.output("Collecting torch");
 * heartbeat.stop();
 * ```
 */
export function startHeartbeat(
  what: string,
  intervalMs: number,
  beat: (text: string) => void,
  clock: HeartbeatClock = systemHeartbeatClock,
): Heartbeat {
  const started = clock.now();
  let lastOutput: string | undefined;
  let stopped = false;
  const cancel = clock.every(intervalMs, () => {
    // A beat already due when the command ended must not claim it is still running.
    if (!stopped) beat(heartbeatText(what, clock.now() - started, lastOutput));
  });
  return {
    output: (line) => lastOutput = line,
    stop: () => {
      stopped = true;
      cancel();
    },
  };
}
