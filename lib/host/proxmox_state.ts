/**
 * The states a real Proxmox host adds to a container, in words a person can act on: a Proxmox
 * lock (`lock: backup`, ...), pct's configuration-file lock timing out, a Proxmox template, and a
 * half-made snapshot (`snapstate: prepare|delete`). Each becomes a {@linkcode SetupError} with
 * its own exit code instead of a generic failure later (see `../shared/docs/pct.md`, "States a
 * real host adds").
 *
 * @module
 */

import { CommandError } from "../core/command_text.ts";
import { SetupError } from "../core/errors.ts";
import { ExitCode } from "../core/exit_codes.ts";
import type { Pct } from "./pct.ts";

/** What holds each Proxmox lock, and what to wait for. */
const LOCK_REASONS: Readonly<Record<string, string>> = {
  backup: "a backup (vzdump) of it is running; wait for the backup to finish",
  clone: "it is being cloned; wait for the clone to finish",
  create: "it is still being created or restored; wait for that to finish",
  destroyed: "it is being destroyed",
  disk: "one of its volumes is being moved or resized; wait for that to finish",
  fstrim: "'pct fstrim' is running on it; wait for it to finish",
  migrate: "it is being migrated to another node; wait for the migration to finish",
  mounted: "its file system is mounted on the host ('pct mount'); unmount it with " +
    "'pct unmount <ctid>' when done with it",
  rollback: "a rollback to one of its snapshots is running; wait for it to finish",
  snapshot: "a snapshot of it is being taken (or one was interrupted); wait for it to finish",
  "snapshot-delete": "one of its snapshots is being deleted (or a deletion was interrupted); " +
    "wait for it to finish",
};

/** The locks a snapshot operation leaves when it is interrupted. */
export const SNAPSHOT_LOCKS: ReadonlySet<string> = new Set(["snapshot", "snapshot-delete"]);

/**
 * The refusal for a container that holds a Proxmox lock, found before the first change: names the
 * lock, what holds it, what to wait for, and how a stale one is cleared.
 */
export function lockRefusal(ctid: string, lock: string): SetupError {
  const reason = (LOCK_REASONS[lock] ?? "a Proxmox operation holds it; wait for it to finish")
    .replace("<ctid>", ctid);
  return new SetupError(
    `Container ${ctid} is locked by Proxmox (lock: ${lock}): ${reason}, then run this again. ` +
      `Nothing was changed. 'pct config ${ctid}' shows the lock while it is held; if no such ` +
      `operation runs any more (see the node's task list), 'pct unlock ${ctid}' clears it`,
    ExitCode.ContainerBusy,
    { phase: "container check" },
  );
}

/** The refusal for a container converted to a Proxmox template. */
export function proxmoxTemplateRefusal(ctid: string): SetupError {
  return new SetupError(
    `Container ${ctid} is a Proxmox template (template: 1, made by 'pct template'): it cannot be ` +
      "started or snapshotted, so it cannot be set up. Nothing was changed. Set up a normal " +
      `container instead: clone one from it ('pct clone ${ctid} <new CTID>') or recreate it`,
    ExitCode.ContainerUnusable,
    { phase: "container check" },
  );
}

/**
 * When a pct call failed because a Proxmox operation holds the container (`CT is locked (x)`)
 * or its configuration file for over 10 s (`can't lock file '...pve-config-<ctid>.lock' - got
 * timeout`): that failure in its own words, else `undefined`.
 *
 * @param doing What the run was doing, e.g. `shut container 920 down`.
 */
export function busyError(ctid: string, doing: string, error: unknown): SetupError | undefined {
  if (!(error instanceof CommandError)) return undefined;
  const said = error.result.stderr;
  const locked = /CT is locked \(([^)]+)\)/.exec(said);
  if (locked) {
    const refusal = lockRefusal(ctid, locked[1]);
    return new SetupError(
      `Cannot ${doing}: ${refusal.message.replace("Nothing was changed. ", "")}`,
      ExitCode.ContainerBusy,
      { phase: refusal.phase, cause: error },
    );
  }
  const file = /can't lock file '([^']+)' - got timeout/.exec(said);
  if (file) {
    return new SetupError(
      `Cannot ${doing}: another Proxmox operation on container ${ctid} held its configuration ` +
        `lock (${file[1]}) for over 10 s. Wait for it to finish (see the node's task list), ` +
        "then run this again",
      ExitCode.ContainerBusy,
      { cause: error },
    );
  }
  return undefined;
}

/**
 * How long after its `snaptime` a snapshot still being prepared may be a `pct snapshot` in
 * progress rather than an interrupted one: a snapshot of a stopped container on snapshot-capable
 * storage takes seconds; ten minutes is far beyond any that is still working.
 */
export const SNAPSHOT_SETTLE_SECONDS = 600;

/** What a run's own snapshot, found while the container holds a snapshot lock, turned out to be. */
export type SnapshotFinding =
  /** Committed: the snapshot lock belongs to something else. */
  | { readonly kind: "complete" }
  /** Half-made (`snapstate`), and safe to repair: unlock, delete it, take it again. */
  | { readonly kind: "repair"; readonly snapstate: string; readonly description: string }
  /** Half-made, and not safe to repair now: the refusal says why and gives the commands. */
  | { readonly kind: "refuse"; readonly error: SetupError };

/**
 * Reads `snapstate` of this run's snapshot `name` (`pct config <ctid> --snapshot <name>`) when the
 * container holds a snapshot lock, and decides: complete, repair, or refuse. Repairing is safe
 * when the container is stopped (this project snapshots stopped templates only; a running one is
 * someone else's live snapshot) and the snapshot was begun over {@linkcode SNAPSHOT_SETTLE_SECONDS}
 * ago (it is no `pct snapshot` still at work).
 *
 * @param nowSeconds The current time in Unix seconds (injected for tests).
 */
export async function inspectRunSnapshot(
  pct: Pct,
  ctid: string,
  name: string,
  found: { readonly status: string; readonly lock: string },
  nowSeconds: number = Date.now() / 1000,
): Promise<SnapshotFinding> {
  const section = await pct.snapshotConfig(ctid, name);
  const snapstate = section.get("snapstate")?.[0];
  if (snapstate === undefined) return { kind: "complete" };
  const snaptime = Number(section.get("snaptime")?.[0]);
  const age = Number.isFinite(snaptime) ? Math.round(nowSeconds - snaptime) : undefined;
  const description = `snapshot '${name}' of container ${ctid} is half-made ` +
    `(snapstate: ${snapstate}, lock: ${found.lock}${
      age === undefined ? "" : `, begun ${age} s ago`
    }): a 'pct snapshot'${snapstate === "delete" ? " or 'pct delsnapshot'" : ""} ended ` +
    "between its two phases, so it is no finished template";
  const repairBy = `'pct unlock ${ctid}', then 'pct delsnapshot ${ctid} ${name} --force', ` +
    "then run this again (it takes the snapshot anew)";
  let why: string | undefined;
  if (found.status !== "stopped") {
    why = "the container is running, and this setup only snapshots stopped containers: the " +
      "snapshot is someone else's, maybe still at work";
  } else if (age === undefined || age < SNAPSHOT_SETTLE_SECONDS) {
    why = `it was begun less than ${SNAPSHOT_SETTLE_SECONDS} s ago, so a 'pct snapshot' may ` +
      "still be at work: wait for it";
  }
  if (why === undefined) return { kind: "repair", snapstate, description };
  return {
    kind: "refuse",
    error: new SetupError(
      `The ${description}. Not repairing it: ${why}. Nothing was changed. When no snapshot ` +
        `operation on ${ctid} runs (see the node's task list), repair it by hand: ${repairBy}`,
      found.status !== "stopped" ? ExitCode.ContainerUnusable : ExitCode.ContainerBusy,
      { phase: "snapshot check" },
    ),
  };
}
