/**
 * Durations in words a person reads at a glance: `153 ms`, `20.4 s`, `3 min 12 s`, `1 h 5 min`.
 * Messages use these; exact milliseconds belong in machine-readable output.
 *
 * @module
 */

/**
 * Formats `ms` for a message.
 *
 * @example
 * ```ts
 * import { formatDuration } from "./duration.ts";
 * formatDuration(153); // "153 ms"
 * formatDuration(20_400); // "20.4 s"
 * formatDuration(192_000); // "3 min 12 s"
 * formatDuration(3_900_000); // "1 h 5 min"
 * ```
 */
export function formatDuration(ms: number): string {
  const rounded = Math.max(0, Math.round(ms));
  if (rounded < 1000) return `${rounded} ms`;
  if (rounded < 60_000) return `${(Math.floor(rounded / 100) / 10).toFixed(1)} s`;
  const seconds = Math.floor(rounded / 1000);
  if (seconds < 3600) {
    const rest = seconds % 60;
    return `${Math.floor(seconds / 60)} min${rest ? ` ${rest} s` : ""}`;
  }
  const minutes = Math.floor(seconds / 60) % 60;
  return `${Math.floor(seconds / 3600)} h${minutes ? ` ${minutes} min` : ""}`;
}
