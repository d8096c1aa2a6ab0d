/**
 * A run's part in a Proxmox cluster, in one place for `main`: whether it was forwarded here from
 * another node (`forwarded_run.ts`), where it happens (`cluster_place.ts`), the cluster-wide lock
 * (`host/cluster_lock.ts`), forwarding it to the owner node (`forward_run.ts`), and watching for
 * the container moving away. On a single host every part of it does nothing.
 *
 * @module
 */

import type { SetupError } from "../core/errors.ts";
import { acquireClusterLock } from "../host/cluster_lock.ts";
import type { HeldLock } from "../host/lock.ts";
import type { RunReport } from "../report/run_report.ts";
import type { Log } from "../report/logging.ts";
import { type ClusterPlace, clusterPlaceOf, movedAway, watchForMove } from "./cluster_place.ts";
import { type ForwardOptions, forwardRun } from "./forward_run.ts";
import {
  FORWARDED_FROM,
  type ReceivedRun,
  receiveForwardedRun,
  stopWhenLifelineEnds,
} from "./forwarded_run.ts";
import type { Interruption } from "./interruption.ts";

/** One run's part in a cluster; see the module doc. */
export class ClusterRun {
  /** Where the run happens; a single host until {@linkcode locate} says otherwise. */
  #place: ClusterPlace = { kind: "single" };
  readonly #received: ReceivedRun | undefined;
  #lock: HeldLock | undefined;
  #stopWatching: (() => void) | undefined;
  #report: RunReport | undefined;

  private constructor(received: ReceivedRun | undefined) {
    this.#received = received;
  }

  /**
   * Starts a run's part: when `PHOENIX_FORWARDED_FROM` says another node forwarded the run
   * here, reads its settings from standard input (or ends the run with exit 1, in words, when
   * they do not come).
   *
   * @param source The executable's file name, for the one line a failure prints.
   */
  static async start(
    env: Readonly<Record<string, string | undefined>>,
    source: string,
    exit: (code: number) => never,
  ): Promise<ClusterRun> {
    if (!env[FORWARDED_FROM]) return new ClusterRun(undefined);
    const received = await receiveForwardedRun(env).catch((error: SetupError) => {
      console.error(`${source}: ${error.message}`);
      return exit(error.exitCode);
    });
    return new ClusterRun(received);
  }

  /** Whether another node forwarded this run here. */
  get forwardedHere(): boolean {
    return this.#received !== undefined;
  }

  /** The run's environment: the caller's, with a forwarded run's settings over it. */
  env(own: Readonly<Record<string, string | undefined>>): Readonly<
    Record<string, string | undefined>
  > {
    return this.#received?.env ?? own;
  }

  /** Where the configuration was read, for a forwarded run (`<node>:<path>`). */
  get configOrigin(): string | undefined {
    return this.#received?.origin;
  }

  /** Whether the setup runs on this node (not forwarded to another). */
  get runsHere(): boolean {
    return this.#place.kind !== "elsewhere";
  }

  /** The report of the run on another node, once it has ended. */
  get remoteReport(): RunReport | undefined {
    return this.#report;
  }

  /** A forwarded run stops as on SIGTERM when the node it came from ends its lifeline. */
  listen(interruption: Pick<Interruption, "stopFor">, ctid: string): void {
    if (this.#received) stopWhenLifelineEnds(this.#received, interruption, ctid);
  }

  /** Reads where the run happens (see `clusterPlaceOf`), and logs where a forwarded one came from. */
  async locate(hostRoot: string, ctid: string, readOnly: boolean, log: Log): Promise<void> {
    if (this.#received) log.info(`Forwarded from cluster node '${this.#received.from}'`);
    this.#place = await clusterPlaceOf({
      hostRoot,
      ctid,
      readOnly,
      forwardedFrom: this.#received?.from,
    });
  }

  /**
   * Takes the cluster-wide lock when there is a cluster: the node a run starts on holds it for
   * the run (a forwarded run's node it came from holds it).
   */
  lock(hostRoot: string, ctid: string): void {
    if (this.#place.kind === "single" || this.#received) return;
    this.#lock = acquireClusterLock(hostRoot, ctid, this.#place.cluster);
  }

  /** Stops the run (exit 17) once the container leaves this node; see `watchForMove`. */
  watch(hostRoot: string, ctid: string, interruption: Pick<Interruption, "stopFor">): void {
    this.#stopWatching = watchForMove(this.#place, hostRoot, ctid, interruption);
  }

  /**
   * Runs the setup on the owner node (only when {@linkcode runsHere} is false).
   *
   * @returns The exit code of the run there; its report is {@linkcode remoteReport}.
   */
  async forward(options: Omit<ForwardOptions, "place">): Promise<number> {
    if (this.#place.kind !== "elsewhere") throw new Error("forward() on a run that runs here");
    const ending = await forwardRun({ ...options, place: this.#place });
    this.#report = ending.report;
    return ending.exitCode;
  }

  /** The error to end with when the container has left this node during the run, if it has. */
  movedAway(hostRoot: string, ctid: string): Promise<SetupError | undefined> {
    return movedAway(this.#place, hostRoot, ctid);
  }

  /** Releases the cluster-wide lock, stops watching, removes a forwarded run's files. */
  release(): void {
    this.#stopWatching?.();
    this.#lock?.release();
    this.#received?.cleanup();
  }
}
