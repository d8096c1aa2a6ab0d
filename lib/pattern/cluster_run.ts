/**
 * A run in a Proxmox cluster: where the container lives decides where its setup runs. Read
 * from `/etc/pve` before anything else, without a `pct` call:
 *
 * - on a single host (no cluster in `.members`) nothing changes;
 * - on the node that owns the container the run happens here, under the cluster-wide lock;
 * - on any other node this run takes the cluster-wide lock and runs the same executable on the
 *   owner node over the cluster's own SSH (`host/remote_run.ts`), showing every line it logs
 *   here, tagged with that node's name, and ending with its exit code and report.
 *
 * The other node's side of it is `forwarded_run.ts`.
 *
 * @module
 */

import { SetupError } from "../core/errors.ts";
import { ConfigError } from "../core/errors.ts";
import { ExitCode } from "../core/exit_codes.ts";
import { describeIoError } from "../core/io_errors.ts";
import { formatDuration } from "../core/duration.ts";
import { registerSecret } from "../core/secrets.ts";
import { ENVIRONMENT_TABLE, type Settings } from "../config/environment.ts";
import type { Interruption } from "./interruption.ts";
import type { ForwardedRecord, Log } from "../report/logging.ts";
import type { RunReport } from "../report/run_report.ts";
import type { CommandRunner } from "../core/command_text.ts";
import { outputTail } from "../core/command_text.ts";
import {
  type Cluster,
  type ClusterNode,
  MEMBERS_FILE,
  ownerOf,
  readCluster,
  VMLIST_FILE,
} from "../host/cluster.ts";
import { noQuorumError } from "../host/cluster_lock.ts";
import { REMOTE_SCRIPT_EXIT, runRemote } from "../host/remote_run.ts";

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
    throw noQuorumError(cluster, `${MEMBERS_FILE} says quorate: 0`);
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
      `Container ${ctid} lives on cluster node '${owner.node}' (${VMLIST_FILE}), and its setup ` +
        `can only run there, but that node ${why}. Nothing was changed. ${what}`,
      ExitCode.OwnerUnreachable,
      { phase: "reaching the owner node" },
    );
  if (!node) {
    throw unreachable(
      `is not in this node's member list (${MEMBERS_FILE})`,
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
      `has no address in ${MEMBERS_FILE}`,
      "See 'pvecm status'; run this again once the cluster knows its address",
    );
  }
  return { kind: "elsewhere", cluster, owner: node };
}

/** The error of a run whose container is on another node now. */
export function movedError(ctid: string, cluster: Cluster, nowOn: string): SetupError {
  return new SetupError(
    `Container ${ctid} moved to cluster node '${nowOn}' during this run (${VMLIST_FILE} says ` +
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

/**
 * What travels to the other node on standard input, as one JSON line: the settings that matter,
 * secrets included, and the configuration itself.
 */
export interface ForwardedSettings {
  /** The variables of the run (see {@linkcode forwardedEnvironment}). */
  readonly env: Readonly<Record<string, string>>;
  /** The configuration file's text, and where it was read (`<node>:<path>`). */
  readonly config: { readonly text: string; readonly origin: string };
}

/** Variables that name a path or a setting of this node, not of the run: not sent. */
const NODE_LOCAL = new Set([
  "LXC_CONFIG_FILE",
  "MAIN_LOG_FILE",
  "PHOENIX_LOCK_DIR",
  "PHOENIX_HOST_ROOT",
  "PHOENIX_REPORT_FILE",
  "HF_TOKEN_FILE",
]);

/**
 * The documented variables of this run that the other node's run needs (debug, dry run,
 * timeouts, tokens, ...). `HF_TOKEN_FILE` names a file on this node: its token is sent as
 * `HF_TOKEN` (both set stay both set, for the run there to refuse as a run here would).
 *
 * @throws {ConfigError} When `HF_TOKEN_FILE` cannot be read.
 */
export function forwardedEnvironment(
  env: Readonly<Record<string, string | undefined>>,
): Record<string, string> {
  const sent: Record<string, string> = {};
  for (const row of ENVIRONMENT_TABLE) {
    for (const name of row.names) {
      const value = env[name];
      if (value !== undefined && !NODE_LOCAL.has(name)) sent[name] = value;
    }
  }
  const file = env.HF_TOKEN_FILE?.trim();
  if (file) {
    let token: string;
    try {
      token = Deno.readTextFileSync(file).trim();
    } catch (error) {
      throw new ConfigError(
        "Cannot read the Hugging Face token from the file named by HF_TOKEN_FILE: " +
          describeIoError(error),
        { cause: error },
      );
    }
    registerSecret(token);
    if (sent.HF_TOKEN === undefined) sent.HF_TOKEN = token;
    else sent.HF_TOKEN_FILE = file;
  }
  return sent;
}

/** What {@linkcode forwardRun} needs. */
export interface ForwardOptions {
  readonly ctid: string;
  readonly place: Extract<ClusterPlace, { kind: "elsewhere" }>;
  /** The run's own runner (unlogged: the lines of the run there are logged as they come). */
  readonly run: CommandRunner;
  readonly log: Log;
  readonly executablePath: string;
  readonly executableName: string;
  /** What the command line and the environment ask this run to do. */
  readonly mode: { readonly dryRun: boolean; readonly check: boolean; readonly refresh: boolean };
  /** The run's environment, from which {@linkcode forwardedEnvironment} takes what matters. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The configuration as read here: its file and text. */
  readonly config: { readonly file: string; readonly text: string };
  readonly settings: Pick<
    Settings,
    "hostRoot" | "runTimeoutSeconds" | "shutdownTimeoutSeconds"
  >;
}

/** How long the run there may take to clean up once told to stop, beyond its shutdown timeout. */
const STOP_GRACE_SECONDS = 60;

/** How a forwarded run ended. */
export interface ForwardedEnding {
  readonly exitCode: number;
  /** The report the run there sent, with the node it ran on. */
  readonly report?: RunReport;
}

/**
 * Runs the setup on the owner node and relays it: each log line of the run there is logged here
 * at its level as `[<node>] <message>`, its command output lines go to this log file, and its
 * report comes back.
 *
 * @throws {SetupError} {@linkcode ExitCode.OwnerUnreachable} when SSH does not get through or the
 *   connection is lost before the run there ends.
 */
export async function forwardRun(options: ForwardOptions): Promise<ForwardedEnding> {
  const { log, mode, settings } = options;
  const { owner, cluster } = options.place;
  const tag = `[${owner.name}] `;
  let report: RunReport | undefined;
  const relay = (stream: "stdout" | "stderr", line: string) => {
    const record = stream === "stdout" ? parseRecord(line) : undefined;
    if (record?.phoenix === "report") {
      report = { ...record.report, node: owner.name, startedOn: cluster.thisNode };
    } else if (record?.phoenix === "log") {
      logAt(log, record, tag + record.message);
    } else if (stream === "stderr") {
      log.warn(tag + line);
    } else {
      log.info(tag + line);
    }
  };
  log.info(
    `Container ${options.ctid} lives on cluster node '${owner.name}' (${VMLIST_FILE}); running ` +
      `its setup there over the cluster's SSH (root@${owner.ip}). Its lines follow, tagged ` +
      `[${owner.name}]`,
  );
  const stopGraceSeconds = settings.shutdownTimeoutSeconds + STOP_GRACE_SECONDS;
  const started = performance.now();
  const remote = await runRemote(options.run, {
    node: { name: owner.name, ip: owner.ip! },
    hostRoot: settings.hostRoot,
    from: cluster.thisNode,
    executablePath: options.executablePath,
    executableName: options.executableName,
    args: [
      options.ctid,
      ...mode.check ? ["--check"] : mode.dryRun ? ["--dry-run"] : [],
      ...mode.refresh ? ["--refresh"] : [],
    ],
    settingsLine: JSON.stringify(
      {
        env: forwardedEnvironment(options.env),
        config: { text: options.config.text, origin: `${cluster.thisNode}:${options.config.file}` },
      } satisfies ForwardedSettings,
    ),
    onLine: relay,
    // The watchdog here ends the lifeline first; the session's own deadline leaves the run
    // there its time to clean up and report after that.
    timeoutMs: (settings.runTimeoutSeconds + stopGraceSeconds) * 1000,
    stopGraceMs: stopGraceSeconds * 1000,
  });
  const took = formatDuration(performance.now() - started);
  const { result } = remote;
  const said = outputTail(result.stderr.split("\n").filter((l) => !parseRecord(l)).join("\n")) ||
    `exit code ${result.exitCode}`;
  if (!remote.reached) {
    throw new SetupError(
      `Cannot reach cluster node '${owner.name}' (${owner.ip}), where container ` +
        `${options.ctid} lives, over the cluster's SSH: ssh said: ${said}. Nothing was ` +
        `changed. Its setup can only run there. Check that the node is up and that root on ` +
        `'${cluster.thisNode}' can log in there without a password: ` +
        `'ssh -o BatchMode=yes -o HostKeyAlias=${owner.name} root@${owner.ip} true' ` +
        "('pvecm updatecerts' renews the cluster's keys and known hosts)",
      ExitCode.OwnerUnreachable,
      { phase: "reaching the owner node" },
    );
  }
  if (report === undefined) {
    const cut = result.exitCode === 255;
    const script = Object.values(REMOTE_SCRIPT_EXIT) as number[];
    throw new SetupError(
      cut
        ? `The connection to cluster node '${owner.name}' was lost during the run there ` +
          `(after ${took}; ssh said: ${said}). The run there stops when it notices; see ` +
          `'pct status ${options.ctid}' and the log on '${owner.name}', then run this again`
        : script.includes(result.exitCode)
        ? `Could not start the setup on cluster node '${owner.name}': ${said}. Nothing was ` +
          `changed. Check the node's free space in /tmp and its sh, then run this again`
        : `The run on cluster node '${owner.name}' ended with exit code ${result.exitCode} ` +
          `without its report (after ${took}): ${said}. See the log on '${owner.name}'`,
      // No report: the node was not really reached (the session was cut, or the script there
      // could not start the run), or the run there ended before it could report: its own code.
      cut || script.includes(result.exitCode)
        ? ExitCode.OwnerUnreachable
        : result.exitCode as ExitCode,
      { phase: `the run on node ${owner.name}` },
    );
  }
  log.info(
    `The run on node '${owner.name}' ended with exit code ${result.exitCode} after ${took}` +
      `${remote.uploaded ? " (this executable was sent: the node had no identical one)" : ""}`,
  );
  return { exitCode: result.exitCode, report };
}

/** A line of the run there that is one of its records, else `undefined`. */
function parseRecord(
  line: string,
): ForwardedRecord | { phoenix: "report"; report: RunReport } | undefined {
  if (!line.startsWith('{"phoenix":')) return undefined;
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

function logAt(log: Log, record: ForwardedRecord, message: string): void {
  if (record.output) return log.output(message);
  switch (record.level) {
    case "debug":
    case "trace":
      return log.debug(message);
    case "warning":
      return log.warn(message);
    case "error":
      return log.error(message);
    case "fatal":
      return log.fatal(message);
    default:
      return log.info(message);
  }
}
