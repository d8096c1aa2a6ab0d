/**
 * Running this executable on another cluster node, over the cluster's own SSH: the same
 * `ssh` command Proxmox uses between its nodes (`PVE::SSHInfo`: `-e none -o BatchMode=yes
 * -o HostKeyAlias=<node>`, the node's address from `.members`, root's key, the host keys the
 * cluster keeps in `/etc/pve`). Nothing else is needed on the other node.
 *
 * One SSH session does everything. A small POSIX `sh` script there ({@linkcode REMOTE_SCRIPT})
 * says the checksum of the executable installed there under this one's name; this side answers
 * `run` when it is identical, else `upload <bytes>` followed by this executable itself, which
 * the script keeps in a private temporary directory for the run and removes after it. Then this
 * side writes one line: the run's settings (configuration and secrets included: they travel on
 * standard input, never on a command line). The session's standard input then stays open as
 * the run's lifeline: ending it tells the run there to stop, clean up and report.
 *
 * @module
 */

import { createReadStream } from "node:fs";
import { PassThrough } from "node:stream";
import { join } from "node:path";
import { quote } from "../deps/zx.ts";
import type { CommandResult, CommandRunner } from "../core/command_text.ts";
import { sha256File } from "../core/file_sha256.ts";

/** Where the orchestrator's nodes keep the setup executables. */
export const INSTALL_DIR = "/usr/local/phoenix_hypervisor/bin";

/** The first line the script there prints: the checksum of the executable installed there. */
const HELLO = /^phoenix-setup-remote sha256=([0-9a-f]{64}|none)$/;

/** The script's exit codes of its own (no executable ran). */
export const REMOTE_SCRIPT_EXIT = {
  /** The session ended, or answered nonsense, before it said what to run. */
  protocol: 65,
  /** The executable could not be received or kept. */
  upload: 66,
} as const;

/**
 * The script run on the other node with `sh -c`: `$1` the node this run comes from, `$2` the
 * executable's file name, the rest its arguments.
 */
export const REMOTE_SCRIPT = `from=$1 name=$2
shift 2
installed=${INSTALL_DIR}/$name
sum=none
if [ -f "$installed" ] && [ -x "$installed" ]; then
  sum=$(sha256sum < "$installed" 2>/dev/null) && sum=\${sum%% *} || sum=none
fi
echo "phoenix-setup-remote sha256=$sum"
IFS= read -r answer || exit ${REMOTE_SCRIPT_EXIT.protocol}
PHOENIX_FORWARDED_FROM=$from
export PHOENIX_FORWARDED_FROM
case $answer in
run) exec "$installed" "$@" ;;
"upload "*)
  size=\${answer#upload }
  dir=$(mktemp -d "\${TMPDIR:-/tmp}/phoenix-setup.XXXXXXXX") || exit ${REMOTE_SCRIPT_EXIT.upload}
  trap 'rm -rf "$dir"' EXIT
  trap 'exit 143' TERM
  trap 'exit 129' HUP
  trap 'exit 130' INT
  head -c "$size" > "$dir/$name" || exit ${REMOTE_SCRIPT_EXIT.upload}
  if [ "$(wc -c < "$dir/$name")" -ne "$size" ]; then
    echo "phoenix-setup-remote: the executable arrived incomplete" >&2
    exit ${REMOTE_SCRIPT_EXIT.upload}
  fi
  chmod 700 "$dir/$name"
  "$dir/$name" "$@"
  exit $? ;;
*)
  echo "phoenix-setup-remote: unexpected answer" >&2
  exit ${REMOTE_SCRIPT_EXIT.protocol} ;;
esac`;

/** The node to run on. */
export interface RemoteNode {
  readonly name: string;
  readonly ip: string;
}

/**
 * The `ssh` command Proxmox itself uses to reach `node` (`PVE::SSHInfo::ssh_info_to_command`),
 * running `remoteCommand` there. The host keys are the cluster's: the node's own
 * `/etc/pve/nodes/<node>/ssh_known_hosts` where it exists (Proxmox VE 8), else the cluster-wide
 * `/etc/pve/priv/known_hosts`.
 *
 * @param hostRoot The host's root (`PHOENIX_HOST_ROOT`), under which `/etc/pve` is looked at.
 */
export function sshCommand(node: RemoteNode, hostRoot: string, remoteCommand: string): string[] {
  const perNode = join(hostRoot, "etc/pve/nodes", node.name, "ssh_known_hosts");
  let perNodeExists = false;
  try {
    perNodeExists = Deno.statSync(perNode).isFile;
  } catch { /* Proxmox VE 7 and older: one file for the cluster */ }
  const knownHosts = perNodeExists
    ? ["-o", `UserKnownHostsFile=${perNode}`, "-o", "GlobalKnownHostsFile=none"]
    : ["-o", `UserKnownHostsFile=${join(hostRoot, "etc/pve/priv/known_hosts")}`];
  return [
    "ssh",
    "-e",
    "none",
    "-o",
    "BatchMode=yes",
    "-o",
    `HostKeyAlias=${node.name}`,
    ...knownHosts,
    "-o",
    "ConnectTimeout=10",
    "-o",
    "ServerAliveInterval=15",
    "-o",
    "ServerAliveCountMax=4",
    `root@${node.ip}`,
    "--",
    remoteCommand,
  ];
}

/**
 * The command line the other node's login shell runs: {@linkcode REMOTE_SCRIPT} with its
 * arguments, every word quoted by zx.
 */
export function remoteCommandLine(
  from: string,
  executableName: string,
  args: readonly string[],
): string {
  return ["sh", "-c", REMOTE_SCRIPT, "phoenix-setup-remote", from, executableName, ...args]
    .map((word) => quote(word)).join(" ");
}

/** What {@linkcode runRemote} needs. */
export interface RemoteRunOptions {
  readonly node: RemoteNode;
  readonly hostRoot: string;
  /** This node's name (`PHOENIX_FORWARDED_FROM` there). */
  readonly from: string;
  /** This executable, sent when the other node lacks an identical one. */
  readonly executablePath: string;
  /** Its file name (`phoenix_hypervisor_setup_<ctid>.sh`). */
  readonly executableName: string;
  readonly args: readonly string[];
  /** The run's settings, one JSON line (no newline in it). */
  readonly settingsLine: string;
  /** Each line the run there prints, as it arrives. */
  readonly onLine: (stream: "stdout" | "stderr", line: string) => void;
  /** How long the run there may take in all. */
  readonly timeoutMs: number;
  /** How long the run there may take to clean up once told to stop. */
  readonly stopGraceMs: number;
}

/** How a remote run went. */
export interface RemoteRun {
  readonly result: CommandResult;
  /** Whether the script there said hello: false means SSH itself did not get through. */
  readonly reached: boolean;
  /** Whether this executable was sent (the other node had no identical one). */
  readonly uploaded: boolean;
}

/**
 * Runs this executable on `options.node` over SSH with `run` (the run's own runner, so a signal
 * or the watchdog reaches it: they end the lifeline, and the run there stops and cleans up).
 */
export async function runRemote(run: CommandRunner, options: RemoteRunOptions): Promise<RemoteRun> {
  const stdin = new PassThrough();
  const ownSum = sha256File(options.executablePath);
  // Asked before the hello comes, so a hash that fails does not go unhandled.
  ownSum.catch(() => {});
  let reached = false;
  let uploaded = false;
  let answered = false;
  const answer = async (theirs: string) => {
    const ours = await ownSum;
    if (theirs === ours) {
      stdin.write("run\n");
    } else {
      uploaded = true;
      const { size } = await Deno.stat(options.executablePath);
      stdin.write(`upload ${size}\n`);
      await new Promise<void>((resolve, reject) => {
        createReadStream(options.executablePath)
          .on("error", reject)
          .on("end", resolve)
          .pipe(stdin, { end: false });
      });
    }
    stdin.write(`${options.settingsLine}\n`);
  };
  let answering: Promise<void> = Promise.resolve();
  const argv = sshCommand(
    options.node,
    options.hostRoot,
    remoteCommandLine(options.from, options.executableName, options.args),
  );
  const result = await run(argv, {
    stdin,
    timeoutMs: options.timeoutMs,
    stop: { stop: () => stdin.end(), graceMs: options.stopGraceMs },
    onOutput: (stream, line) => {
      const hello = stream === "stdout" && !answered ? HELLO.exec(line) : null;
      if (hello) {
        answered = true;
        reached = true;
        answering = answer(hello[1]).catch(() => {
          stdin.end();
        });
        return;
      }
      options.onLine(stream, line);
    },
  });
  await answering;
  stdin.end();
  return { result, reached, uploaded };
}
