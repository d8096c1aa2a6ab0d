/**
 * Where a run happens in a Proxmox cluster, read from `/etc/pve` before anything else and
 * without a `pct` call: on a single host (no cluster in `.members`) nothing changes; on the node
 * that owns the container the run happens here, under the cluster-wide lock, watched for the
 * container moving away (HA, a migration); on any other node it is forwarded to the owner
 * (`forward_run.ts`).
 *
 * @module
 */

import { SetupError } from "../core/errors.ts";
import { ExitCode } from "../core/exit_codes.ts";
import {
  type Cluster,
  type ClusterNode,
  MEMBERS_FILE,
  ownerOf,
  readCluster,
  VMLIST_FILE,
} from "../host/cluster.ts";
import { noQuorumError } from "../host/cluster_lock.ts";
import type { Interruption } from "./interruption.ts";

/** Where this run happens, as the cluster says. */
export type ClusterPlace =
  /** No cluster: a single host. */
  | { readonly kind: "single" }
  /** This node owns the container (or the cluster does not know it: pct will say). */
  | { readonly kind: "here"; readonly cluster: Cluster }
  /** Another node owns it: the run goes there. */
  | { readonly kind: "elsewhere"; readonly cluster: Cluster; readonly owner: ClusterNode };

/** What {@linkcode clusterPlaceOf} is told about the run. */
export interface PlaceQuestion {
  readonly hostRoot: string;
  readonly ctid: string;
  /** A dry run or `--check`: changes nothing, so it needs no quorum. */
  readonly readOnly: boolean;
  /** The node this run was forwarded from (`PHOENIX_FORWARDED_FROM`), if it was. */
  readonly forwardedFrom?: string;
}

/**
 * Where container `ctid`'s setup runs: here or on which node.
 *
 * @throws {SetupError} {@linkcode ExitCode.NoQuorum} on a node without quorum (unless the run
 *   changes nothing); {@linkcode ExitCode.OwnerUnreachable} when the owner node is offline or
 *   has no address; {@linkcode ExitCode.ContainerMoved} when a forwarded run finds that the
 *   container has left this node.
 */
export async function clusterPlaceOf(question: PlaceQuestion): Promise<ClusterPlace> {
  const { hostRoot, ctid } = question;
  const cluster = await readCluster(hostRoot);
  if (!cluster) return { kind: "single" };
  if (!cluster.quorate && !question.readOnly) {
    throw noQuorumError(cluster, `/${MEMBERS_FILE} says quorate: 0`);
  }
  const owner = await ownerOf(hostRoot, ctid);
  // Unknown to the cluster, or not a container: pct's answer here says what it is.
  if (!owner || owner.node === cluster.thisNode || (owner.type ?? "lxc") !== "lxc") {
    return { kind: "here", cluster };
  }
  if (question.forwardedFrom !== undefined) throw movedError(ctid, cluster, owner.node);
  const node = cluster.nodes.get(owner.node);
  const unreachable = (why: string, what: string) =>
    new SetupError(
      `Container ${ctid} lives on cluster node '${owner.node}' (/${VMLIST_FILE}), and its setup ` +
        `can only run there, but that node ${why}. Nothing was changed. ${what}`,
      ExitCode.OwnerUnreachable,
      { phase: "reaching the owner node" },
    );
  if (!node) {
    throw unreachable(
      `is not in this node's member list (/${MEMBERS_FILE})`,
      "See 'pvecm nodes'; run this again once the cluster lists the node",
    );
  }
  if (!node.online) {
    throw unreachable(
      "is offline",
      `Bring '${owner.node}' back (see 'pvecm status'), or move the container to an online ` +
        `node ('pct migrate ${ctid} <node>', or let HA do it), then run this again`,
    );
  }
  if (!node.ip) {
    throw unreachable(
      `has no address in /${MEMBERS_FILE}`,
      "See 'pvecm status'; run this again once the cluster knows its address",
    );
  }
  return { kind: "elsewhere", cluster, owner: node };
}

/** The error of a run whose container is on another node now. */
export function movedError(ctid: string, cluster: Cluster, nowOn: string): SetupError {
  return new SetupError(
    `Container ${ctid} moved to cluster node '${nowOn}' during this run (/${VMLIST_FILE} says ` +
      `so; HA or a migration moved it off '${cluster.thisNode}'): this run stopped, as pct ` +
      "here can no longer reach it. Whatever the run had done stays with the container. Run " +
      "this again on any node: it runs where the container is now",
    ExitCode.ContainerMoved,
    { phase: "watching the container's node" },
  );
}

/** How often a run in a cluster looks whether its container has moved (a file read). */
export const MOVE_CHECK_INTERVAL_MS = 2_000;

/**
 * Stops the run (exit 17, without touching the container again) once `.vmlist` says container
 * `ctid` left this node; polls every {@linkcode MOVE_CHECK_INTERVAL_MS}, and only where this node
 * owns it in a cluster.
 *
 * @returns Stops watching.
 */
export function watchForMove(
  place: ClusterPlace,
  hostRoot: string,
  ctid: string,
  interruption: Pick<Interruption, "stopFor">,
  intervalMs = MOVE_CHECK_INTERVAL_MS,
): () => void {
  if (place.kind !== "here") return () => {};
  let stopped = false;
  const timer = setInterval(async () => {
    const moved = await movedAway(place, hostRoot, ctid);
    if (stopped || !moved) return;
    stopped = true;
    clearInterval(timer);
    interruption.stopFor("the container moved", ExitCode.ContainerMoved, moved.message, false);
  }, intervalMs);
  Deno.unrefTimer(timer);
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}

/**
 * The error to end with when container `ctid`, which this node owned when the run began, is on
 * another node now (`.vmlist`); else `undefined`. A failed `pct` call is then the move's
 * consequence, and the move is what the person needs to hear.
 */
export async function movedAway(
  place: ClusterPlace,
  hostRoot: string,
  ctid: string,
): Promise<SetupError | undefined> {
  if (place.kind !== "here") return undefined;
  const owner = await ownerOf(hostRoot, ctid);
  if (!owner || owner.node === place.cluster.thisNode) return undefined;
  return movedError(ctid, place.cluster, owner.node);
}
