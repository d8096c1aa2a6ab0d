/**
 * The exact text layouts of pct's output that the fake reproduces.
 *
 * @module
 */

import type { FakeSnapshot } from "./state.ts";

/**
 * `pct listsnapshot` for a linear chain: each snapshot one level deeper than the previous one,
 * `current` last. Per line: the prefix (one more space per level, then `` `-> ``), a space, the
 * name padded to `30 - prefix length`, a space, the time padded to 23, a space, the description's
 * first line or `no-description` (pct's `printf("%s %-${len}s %-23s %s\n")`).
 */
export function snapshotTree(snapshots: readonly FakeSnapshot[]): string {
  const entries = [
    ...snapshots.map((snapshot) => ({
      name: snapshot.name,
      time: snapshot.time ?? "",
      text: snapshot.description?.split("\n")[0] || "no-description",
    })),
    { name: "current", time: "", text: "You are here!" },
  ];
  return entries.map((entry, depth) => {
    const prefix = `${" ".repeat(depth)}\`->`;
    return `${prefix} ${entry.name.padEnd(30 - prefix.length)} ${
      entry.time.padEnd(23)
    } ${entry.text}\n`;
  }).join("");
}

/** One row of `pct list`. */
export interface ListRow {
  readonly vmid: string;
  readonly status: string;
  readonly lock: string;
  readonly name: string;
}

/**
 * `pct list`: a header and one row per container sorted by VMID, columns padded to 10, 10 and 12;
 * nothing at all (not even the header) when there are no containers.
 */
export function listTable(rows: readonly ListRow[]): string {
  if (rows.length === 0) return "";
  const line = (vmid: string, status: string, lock: string, name: string) =>
    `${vmid.padEnd(10)} ${status.padEnd(10)} ${lock.padEnd(12)} ${name}\n`;
  const sorted = [...rows].sort((a, b) => Number(a.vmid) - Number(b.vmid));
  return line("VMID", "Status", "Lock", "Name") +
    sorted.map((row) => line(row.vmid, row.status, row.lock, row.name)).join("");
}

/** `key: value` lines sorted by key, as `pct config` and `pct status --verbose` print them. */
export function keyValueLines(entries: Readonly<Record<string, string>>): string {
  return Object.keys(entries).sort().map((key) => `${key}: ${entries[key]}\n`).join("");
}

/** A time as pct prints snapshot times: `YYYY-MM-DD HH:MM:SS` in the local time zone. */
export function formatLocalTime(date: Date): string {
  const two = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())} ` +
    `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`;
}

/**
 * The Unix time of a `YYYY-MM-DD HH:MM:SS` local time (as {@linkcode formatLocalTime} writes
 * it): a snapshot's `snaptime`. `undefined` for any other text.
 */
export function parseLocalTime(text: string): number | undefined {
  const match = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)$/.exec(text);
  if (!match) return undefined;
  const [y, mo, d, h, mi, s] = match.slice(1).map(Number);
  return Math.floor(new Date(y, mo - 1, d, h, mi, s).getTime() / 1000);
}
