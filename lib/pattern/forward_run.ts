/**
 * Running the setup on the cluster node that owns the container: this run takes the
 * cluster-wide lock and runs the same executable there over the cluster's own SSH
 * (`host/remote_run.ts`), showing every line it logs here, tagged with that node's name, and
 * ending with its exit code and report. The other node's side of it is `forwarded_run.ts`.
 *
 * @module
 */

import { SetupError } from "../core/errors.ts";
import { ExitCode } from "../core/exit_codes.ts";
import { formatDuration } from "../core/duration.ts";
import { outputTail } from "../core/command_text.ts";
import type { CommandRunner } from "../core/command_text.ts";
import {
  ENVIRONMENT_TABLE,
  readHuggingFaceTokenFile,
  type Settings,
} from "../config/environment.ts";
import type { ForwardedRecord, Log } from "../report/logging.ts";
import type { RunReport } from "../report/run_report.ts";
import { VMLIST_FILE } from "../host/cluster.ts";
import { REMOTE_SCRIPT_EXIT, runRemote } from "../host/remote_run.ts";
import type { ClusterPlace } from "./cluster_place.ts";

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
    const token = readHuggingFaceTokenFile(file);
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
    `Container ${options.ctid} lives on cluster node '${owner.name}' (/${VMLIST_FILE}); running ` +
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
  // Records come on stdout only: stderr is what ssh and the script there said.
  const said = outputTail(result.stderr) || `exit code ${result.exitCode}`;
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
