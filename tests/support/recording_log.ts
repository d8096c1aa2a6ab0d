/**
 * A {@linkcode Log} that records every call instead of writing anywhere, so tests can assert
 * what a module said and at which level.
 *
 * @module
 */

import type { Log } from "../../lib/report/logging.ts";

/** A level of {@linkcode Log}. */
export type Level = keyof Log;

/** One recorded call: the level and the message as given. */
export type LogEntry = readonly [Level, string];

/** A {@linkcode Log} that keeps `[level, message]` pairs in call order. */
export class RecordingLog implements Log {
  /** Every call so far, oldest first. */
  readonly entries: LogEntry[] = [];

  debug(message: string): void {
    this.entries.push(["debug", message]);
  }
  info(message: string): void {
    this.entries.push(["info", message]);
  }
  warn(message: string): void {
    this.entries.push(["warn", message]);
  }
  error(message: string): void {
    this.entries.push(["error", message]);
  }
  fatal(message: string): void {
    this.entries.push(["fatal", message]);
  }
  output(message: string): void {
    this.entries.push(["output", message]);
  }

  /** The messages logged at `level`, oldest first. */
  messages(level: Level): string[] {
    return this.entries.filter(([l]) => l === level).map(([, message]) => message);
  }
}
