/**
 * The per-CTID lock of a cluster: one setup run per container in the whole cluster, whichever
 * node it starts on. It is Proxmox's own cluster-wide lock (pve-cluster's README, "File
 * Locking"): a directory created under `/etc/pve/priv/lock/`. `mkdir` there is atomic across the
 * cluster; the lock lasts 120 s unless the node that made it refreshes it (`utime(0, now)`); and
 * `utime(0, 0)` asks the cluster to remove it if it has expired, which is how a lock left by a
 * killed run goes away. Without quorum `/etc/pve` is read-only and no lock can be made.
 *
 * Who holds the lock is noted in a file beside the directory (`<name>.holder`: node, PID,
 * process start time, since when), not in it: the cluster removes an expired lock directory only
 * while it is empty.
 *
 * @module
 */

import { join } from "node:path";
import { SetupError } from "../core/errors.ts";
import { ExitCode } from "../core/exit_codes.ts";
import { describeIoError } from "../core/io_errors.ts";
import { processStartTime } from "./leftover_commands.ts";
import type { Cluster } from "./cluster.ts";
import type { HeldLock } from "./lock.ts";

/** Where Proxmox's cluster-wide locks live, relative to the host root. */
export const CLUSTER_LOCK_DIR = "etc/pve/priv/lock";

/** How long the cluster keeps a lock that is not refreshed (pmxcfs's `CFS_LOCK_TIMEOUT`). */
export const CLUSTER_LOCK_SECONDS = 120;

/** How often a held lock is refreshed: well inside {@linkcode CLUSTER_LOCK_SECONDS}. */
export const REFRESH_INTERVAL_MS = 30_000;

/** Who holds a cluster lock, as its note says. */
export interface ClusterLockHolder {
  readonly node: string;
  readonly pid: number;
  /** Field 22 of `/proc/<pid>/stat`, to tell a reused PID apart on the holder's node. */
  readonly startTime?: string;
  /** When it took the lock (ISO 8601). */
  readonly since: string;
}

/**
 * The lock's directory for `ctid`.
 *
 * @example
 * ```ts
 * import { clusterLockPath } from "./cluster_lock.ts";
 * clusterLockPath("/", "920"); // "/etc/pve/priv/lock/phoenix-setup-920"
 * ```
 */
export function clusterLockPath(hostRoot: string, ctid: string): string {
  return join(hostRoot, CLUSTER_LOCK_DIR, `phoenix-setup-${ctid}`);
}

function errorCode(error: unknown): string | undefined {
  return (error as { code?: string })?.code;
}

/** Whether `error` says the file system is read-only or refuses writes: no quorum. */
function isReadOnly(error: unknown): boolean {
  return error instanceof Deno.errors.PermissionDenied ||
    ["EROFS", "EACCES", "EPERM"].includes(errorCode(error) ?? "");
}

/** The refusal of a node without quorum. */
export function noQuorumError(cluster: Cluster, detail: string): SetupError {
  return new SetupError(
    `This node ('${cluster.thisNode}') has no quorum in cluster '${cluster.name}' (${detail}): ` +
      "the cluster file system /etc/pve is read-only here, so Proxmox can change no guest and " +
      "no run can be locked. Nothing was changed. See 'pvecm status'; run this again once the " +
      "cluster is quorate (the other nodes are back, or the network between them is)",
    ExitCode.NoQuorum,
    { phase: "locking" },
  );
}

function readHolder(notePath: string): ClusterLockHolder | undefined {
  try {
    const note = JSON.parse(Deno.readTextFileSync(notePath));
    if (typeof note?.node !== "string" || typeof note?.pid !== "number") return undefined;
    return note;
  } catch {
    return undefined;
  }
}

/** Whether `holder` is a run of this node that is no longer alive. */
function isDeadHereAndNow(holder: ClusterLockHolder | undefined, thisNode: string): boolean {
  if (holder?.node !== thisNode) return false;
  const startTime = processStartTime(holder.pid);
  return startTime === undefined || (holder.startTime !== undefined &&
    startTime !== holder.startTime);
}

function heldError(
  ctid: string,
  path: string,
  holder: ClusterLockHolder | undefined,
): SetupError {
  const who = holder
    ? `on node '${holder.node}' (pid ${holder.pid}, since ${holder.since})`
    : "on a node that has not noted itself yet";
  return new SetupError(
    `Another setup run for container ${ctid} is in progress ${who}: the cluster-wide lock ` +
      `${path} is held. Wait for it to finish, then run again if needed. A lock left by a run ` +
      `that was killed expires ${CLUSTER_LOCK_SECONDS} s after its last refresh`,
    ExitCode.Locked,
    { phase: "locking" },
  );
}

/** How {@linkcode acquireClusterLock} is run; injected by tests. */
export interface ClusterLockOptions {
  /** The PID noted as the holder; this process by default. */
  readonly pid?: number;
  /** How often the lock is refreshed; {@linkcode REFRESH_INTERVAL_MS} by default. */
  readonly refreshIntervalMs?: number;
}

/**
 * Takes container `ctid`'s cluster-wide lock without waiting, and keeps it refreshed until it is
 * released. A lock held by a dead run of this very node is taken over at once; one held
 * elsewhere is first asked to expire (`utime(0, 0)`), as Proxmox's own `cfs_lock` does.
 *
 * @throws {SetupError} With {@linkcode ExitCode.Locked} naming the node and run that hold it;
 *   with {@linkcode ExitCode.NoQuorum} when `/etc/pve` is read-only.
 */
export function acquireClusterLock(
  hostRoot: string,
  ctid: string,
  cluster: Cluster,
  options: ClusterLockOptions = {},
): HeldLock {
  const path = clusterLockPath(hostRoot, ctid);
  const notePath = `${path}.holder`;
  const make = () => {
    try {
      Deno.mkdirSync(path);
      return true;
    } catch (error) {
      if (error instanceof Deno.errors.AlreadyExists) return false;
      if (isReadOnly(error)) throw noQuorumError(cluster, `cannot create ${path}: read-only`);
      throw new SetupError(
        `Cannot create the cluster-wide lock ${path}: ${describeIoError(error)}. Is the ` +
          "cluster file system (pve-cluster) running on this node? See 'systemctl status " +
          "pve-cluster'",
        ExitCode.LockDirUnusable,
        { phase: "locking", cause: error },
      );
    }
  };
  try {
    Deno.mkdirSync(join(hostRoot, CLUSTER_LOCK_DIR), { recursive: true });
  } catch (error) {
    if (isReadOnly(error)) throw noQuorumError(cluster, `cannot write ${path}: read-only`);
  }
  if (!make()) {
    const holder = readHolder(notePath);
    if (isDeadHereAndNow(holder, cluster.thisNode)) {
      // Our own node's run, and it is gone: no one else can hold it.
      removeLock(path, notePath);
    } else {
      // The cluster removes the lock if it has expired (it judges the age by its own clock).
      try {
        Deno.utimeSync(path, 0, 0);
      } catch { /* not expired, or already gone */ }
    }
    if (!make()) throw heldError(ctid, path, readHolder(notePath));
  }
  const pid = options.pid ?? Deno.pid;
  const startTime = processStartTime(pid);
  const holder: ClusterLockHolder = {
    node: cluster.thisNode,
    pid,
    ...(startTime !== undefined && { startTime }),
    since: new Date().toISOString(),
  };
  try {
    Deno.writeTextFileSync(notePath, `${JSON.stringify(holder)}\n`);
  } catch { /* the note is for people; the lock itself is held */ }
  const refresh = setInterval(() => {
    try {
      Deno.utimeSync(path, 0, new Date());
    } catch { /* lost quorum for a moment: the next refresh tries again */ }
  }, options.refreshIntervalMs ?? REFRESH_INTERVAL_MS);
  Deno.unrefTimer(refresh);
  let released = false;
  return {
    path,
    release() {
      if (released) return;
      released = true;
      clearInterval(refresh);
      // Ours unless it expired and another run took it meanwhile (its note then says so).
      const noted = readHolder(notePath);
      if (noted === undefined || (noted.node === holder.node && noted.pid === holder.pid)) {
        removeLock(path, notePath);
      }
    },
  };
}

function removeLock(path: string, notePath: string): void {
  for (const target of [notePath, path]) {
    try {
      Deno.removeSync(target);
    } catch { /* already gone */ }
  }
}
