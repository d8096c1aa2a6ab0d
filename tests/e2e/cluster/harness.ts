/**
 * A simulated Proxmox VE cluster on this one machine, for tests that run the product on one node
 * for a container that lives on another and watch it go there over the cluster's own SSH.
 *
 * Each node is a mount (and UTS) namespace made by `unshare`, held open by a small holder
 * process, with an `sshd` listening on the node's own loopback address (127.0.0.2, .3, .4, …).
 * Inside a node:
 * - `/etc`, `/usr/local`, `/root` and `/var/log` are overlays on the host's (writes stay in the
 *   node), `/run` is a fresh tmpfs, and `hostname` prints the node name (also in `/etc/hostname`);
 * - `/etc/pve` is the one directory all nodes share (pmxcfs), except `/etc/pve/.members`, which
 *   is the node's own file (pmxcfs writes it for the node that reads it), read-only as on PVE;
 * - `/usr/local/sbin/pct` is the node's own fake `pct` ({@linkcode FakePct}), which holds only
 *   that node's containers, so for any other it says `Configuration file
 *   'nodes/<node>/lxc/<ctid>.conf' does not exist`, as real `pct` does;
 * - root's key is `/root/.ssh/id_ed25519` (the same key on every node), accepted by every node's
 *   sshd through `/etc/pve/priv/authorized_keys`, and every host key is in
 *   `/etc/pve/priv/known_hosts`, so Proxmox's own command works from any node to any online one:
 *   `/usr/bin/ssh -e none -o BatchMode=yes -o HostKeyAlias=<node>
 *   -o UserKnownHostsFile=/etc/pve/priv/known_hosts root@<ip> <command>` ({@linkcode sshArgv}).
 *
 * sshd listens on port 22 of its address. When that port cannot be bound (something listens on
 * 0.0.0.0:22), every node's sshd uses one other free port instead, and each node's
 * `/etc/ssh/ssh_config` starts with `Port <that port>`, so `ssh root@<ip>` inside a node still
 * reaches the other nodes without `-p`. {@linkcode ClusterNode.port} says which port is used.
 *
 * Nothing is mounted outside the namespaces: when the last process of a node ends, its mounts go
 * with it. {@linkcode SimulatedCluster.stop} kills every process of every node, sshd sessions and
 * what they started included, and removes the temp directory. A cluster left behind by a test
 * process that died is swept by the next {@linkcode SimulatedCluster.start}.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { SimulatedCluster } from "./harness.ts";
 *
 * await using cluster = await SimulatedCluster.start({
 *   nodes: ["pve1", "pve2", "pve3"],
 *   containers: { pve2: { "920": { status: "running", name: "BaseTemplateVLLM" } } },
 * });
 * const result = await cluster.exec("pve1", cluster.sshArgv("pve2", "pct", "status", "920"));
 * assert.equal(result.stdout, "status: running\n");
 * ```
 *
 * @module
 */

import { type CommandResult, mustRun, run } from "../../support/commands.ts";
import { FakePct, type FakePctStateInput } from "../../fake_pct/fake_pct.ts";
import type { FakeContainerInput } from "../../fake_pct/state.ts";
import { commandLineOf, killNamespace, mountNamespaceOf, processesIn } from "./_namespace.ts";
import { shellQuote } from "../../support/shell_quote.ts";

/** Temp directories of clusters start with this; stale ones are swept by `start`. */
const CLUSTER_DIR_PREFIX = "phx-cluster-";

/** PATH of a root login on a PVE node (Debian's sshd default for root). */
export const ROOT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** The directories each node sees as its own overlay on the host's. */
const OVERLAID = ["/etc", "/usr/local", "/root", "/var/log"] as const;

const SSHD = "/usr/sbin/sshd";
const NSENTER = "/usr/bin/nsenter";

/**
 * Run by `unshare` as the holder of a node's namespaces: sets the node up, prints `ready`, then
 * waits for its stdin to close (the harness closes it, or dies), which ends the holder.
 * Arguments: node name, node directory (overlay upper and work dirs), shared `/etc/pve`
 * directory, the node's `.members` file, the directory of files to install.
 */
const HOLDER_SCRIPT = `set -eu
node=$1 dir=$2 shared=$3 members=$4 files=$5
for target in ${OVERLAID.join(" ")}; do
  name=$(printf %s "$target" | tr / _)
  mkdir -p "$dir/upper/$name" "$dir/work/$name"
  chmod --reference="$target" "$dir/upper/$name"
  mount -t overlay overlay \\
    -o "lowerdir=$target,upperdir=$dir/upper/$name,workdir=$dir/work/$name" "$target"
done
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/sshd /run/lock /etc/pve /usr/local/sbin
mount --bind "$shared" /etc/pve
mount --bind "$members" /etc/pve/.members
mount -o remount,bind,ro /etc/pve/.members
hostname "$node"
printf '%s\\n' "$node" > /etc/hostname
rm -rf /root/.ssh
mkdir -m 0700 /root/.ssh
install -m 0600 "$files/id_ed25519" /root/.ssh/id_ed25519
install -m 0644 "$files/id_ed25519.pub" /root/.ssh/id_ed25519.pub
install -m 0755 "$files/pct" /usr/local/sbin/pct
if [ -f "$files/ssh_config" ]; then cp "$files/ssh_config" /etc/ssh/ssh_config; fi
echo ready
exec cat >/dev/null 2>&1
`;

/** Options of {@linkcode SimulatedCluster.start}. */
export interface ClusterOptions {
  /** Node names, e.g. `["pve1", "pve2", "pve3"]`; node i gets address 127.0.0.(i + 2). */
  readonly nodes: readonly string[];
  /** Each node's containers, by node and CTID; a node not named holds none. */
  readonly containers?: Readonly<Record<string, Record<string, FakeContainerInput>>>;
  /**
   * A node's own `pct` instead of its fake, by node: the text of the `/usr/local/sbin/pct`
   * script (e.g. the real-LXC stand-in over that node's own lab). Its fake is still made and
   * reachable as `node(name).fake`, but nothing calls it.
   */
  readonly pctScripts?: Readonly<Record<string, string>>;
  /** The rest of each node's fake `pct` state (exec rules, failures, latency), by node. */
  readonly fakes?: Readonly<Record<string, Omit<FakePctStateInput, "node" | "containers">>>;
  /**
   * Also write `/etc/pve/nodes/<node>/ssh_known_hosts` with that node's host key line, as PVE 8
   * does (`/etc/pve/priv/known_hosts` is written either way).
   */
  readonly perNodeKnownHosts?: boolean;
  /** The cluster's name in `.members`; `testcluster` when absent. */
  readonly clusterName?: string;
  /** The sshd port; 22 when absent, or a free one when 22 cannot be bound. */
  readonly port?: number;
}

/** Options of {@linkcode SimulatedCluster.exec} and {@linkcode SimulatedCluster.spawn}. */
export interface NodeCommandOptions {
  /** Variables on top of a root login's environment (`PATH`, `HOME`, `LANG`). */
  readonly env?: Readonly<Record<string, string>>;
  /** Text for standard input (exec: empty when absent). */
  readonly stdin?: string;
  /** Kill the command after this many milliseconds (exec only; default 60 000). */
  readonly timeoutMs?: number;
}

/** One node of a {@linkcode SimulatedCluster}, as a test sees it. */
export interface ClusterNode {
  /** Its name, e.g. `pve2`. */
  readonly name: string;
  /** Its node id in `.members` (1, 2, …, in the order given). */
  readonly id: number;
  /** Its loopback address, e.g. `127.0.0.3`. */
  readonly ip: string;
  /** The port its sshd listens on (22 unless that was taken). */
  readonly port: number;
  /** Its fake `pct`: `calls()`, `state()`, `update()`. */
  readonly fake: FakePct;
  /** The pid of the process holding its namespaces (the target of `nsenter`). */
  readonly pid: number;
  /** Whether its sshd runs (see {@linkcode SimulatedCluster.setOnline}). */
  readonly online: boolean;
  /** Whether its `/etc/pve` is writable (see {@linkcode SimulatedCluster.setQuorate}). */
  readonly quorate: boolean;
}

interface NodeState extends ClusterNode {
  online: boolean;
  quorate: boolean;
  pid: number;
  /** The node's part of the temp dir: overlay dirs, sshd config, log, files to install. */
  readonly dir: string;
  /** Its `.members`, bind-mounted over `/etc/pve/.members` inside the node. */
  readonly membersFile: string;
  namespace: string;
  holder: Deno.ChildProcess;
  holderStdin: WritableStreamDefaultWriter<Uint8Array>;
  sshd?: { child: Deno.ChildProcess; logged: Promise<void> };
}

let denoDirProbe: Promise<string> | undefined;

/** The test process's Deno cache, already warm for the fake `pct`. */
function denoDir(): Promise<string> {
  denoDirProbe ??= (async () => {
    const { stdout } = await mustRun([Deno.execPath(), "info", "--json"], {
      env: { NO_COLOR: "1" },
    });
    return JSON.parse(stdout).denoDir as string;
  })();
  return denoDirProbe;
}

let availability: Promise<string | undefined> | undefined;

async function isExecutable(path: string): Promise<boolean> {
  try {
    return ((await Deno.stat(path)).mode ?? 0) & 0o111 ? true : false;
  } catch {
    return false;
  }
}

function canBind(hostname: string, port: number): boolean {
  try {
    Deno.listen({ hostname, port }).close();
    return true;
  } catch {
    return false;
  }
}

/** A port free on every address, found by letting the kernel pick one on the first. */
function freePort(ips: readonly string[]): number {
  for (let attempt = 0; attempt < 20; attempt++) {
    const listener = Deno.listen({ hostname: ips[0], port: 0 });
    const { port } = listener.addr as Deno.NetAddr;
    listener.close();
    if (ips.every((ip) => canBind(ip, port))) return port;
  }
  throw new Error(`Cannot find a port free on all of ${ips.join(", ")}`);
}

async function sshKeygen(path: string, comment: string): Promise<string> {
  await mustRun(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path]);
  return (await Deno.readTextFile(`${path}.pub`)).trim();
}

/** Writes `text` over the file's content in place: a bind mount of it keeps seeing the file. */
async function overwriteInPlace(path: string, text: string): Promise<void> {
  const bytes = new TextEncoder().encode(text);
  // No truncation first: a reader sees the old or the new content, never an empty file (the
  // updates change digits only, so the length rarely changes).
  using file = await Deno.open(path, { write: true, create: true });
  let written = 0;
  while (written < bytes.length) written += await file.write(bytes.subarray(written));
  await file.truncate(bytes.length);
}

/**
 * A simulated Proxmox VE cluster: two or more nodes, each its own namespace with its own sshd,
 * sharing one `/etc/pve`. Start it with {@linkcode SimulatedCluster.start}; stop it with
 * {@linkcode SimulatedCluster.stop} or `await using`.
 */
export class SimulatedCluster implements AsyncDisposable {
  /** The temp directory holding everything: `shared/` (the `/etc/pve`), `keys/`, `nodes/`. */
  readonly root: string;
  /** The shared `/etc/pve` directory as the host sees it. */
  readonly sharedDir: string;
  readonly #name: string;
  readonly #nodes = new Map<string, NodeState>();
  #membersVersion = 1;
  #vmlistVersion = 1;
  #staged = 0;
  #stopped: Promise<void> | undefined;

  private constructor(root: string, name: string) {
    this.root = root;
    this.sharedDir = `${root}/shared`;
    this.#name = name;
  }

  /**
   * Says why the cluster cannot run here, or nothing when it can: Linux, root, `unshare`,
   * `nsenter`, `sshd` (Debian's `openssh-server`), `ssh`, `ssh-keygen`, and an overlay mounted
   * inside a new mount namespace. Checked once per process.
   *
   * @returns The reason, or `undefined` when the cluster can run.
   *
   * @example
   * ```ts ignore
   * import { SimulatedCluster } from "./harness.ts";
   * const reason = await SimulatedCluster.available();
   * Deno.test({ name: "cluster: …", ignore: reason !== undefined, fn: async () => {} });
   * ```
   */
  static available(): Promise<string | undefined> {
    availability ??= probeAvailability();
    return availability;
  }

  /**
   * Starts the nodes: keys, the shared `/etc/pve` (`.vmlist`, `priv/`, `nodes/<node>/`), each
   * node's namespace, fake `pct` and sshd, and waits until every sshd accepts connections.
   *
   * @param options Nodes, their containers, and the rest.
   * @returns The running cluster.
   * @throws {RangeError} When there are no nodes, a name repeats, or a container or option
   *   names an unknown node.
   * @throws {Error} When a node cannot be set up (the message quotes what its setup printed).
   */
  static async start(options: ClusterOptions): Promise<SimulatedCluster> {
    const names = options.nodes;
    if (names.length === 0 || names.length > 200) {
      throw new RangeError(`Cannot start a cluster of ${names.length} nodes: expected 1 to 200`);
    }
    for (const [index, name] of names.entries()) {
      if (!/^[a-z][a-z0-9-]*$/.test(name) || names.indexOf(name) !== index) {
        throw new RangeError(`Cannot use node name "${name}": expected a unique host name`);
      }
    }
    for (
      const node of [
        ...Object.keys(options.containers ?? {}),
        ...Object.keys(options.fakes ?? {}),
        ...Object.keys(options.pctScripts ?? {}),
      ]
    ) {
      if (!names.includes(node)) throw new RangeError(`Cannot use unknown node "${node}"`);
    }
    await SimulatedCluster.sweepStale();
    const root = await Deno.makeTempDir({ prefix: CLUSTER_DIR_PREFIX });
    const cluster = new SimulatedCluster(root, options.clusterName ?? "testcluster");
    await Deno.writeTextFile(`${root}/owner.pid`, `${Deno.pid}\n`);
    try {
      await cluster.#setUp(options);
    } catch (error) {
      await cluster.stop().catch(() => {});
      throw error;
    }
    return cluster;
  }

  async #setUp(options: ClusterOptions): Promise<void> {
    const names = options.nodes;
    const ips = names.map((_, index) => `127.0.0.${index + 2}`);
    let port = options.port ?? 22;
    let portFallback = false;
    if (!ips.every((ip) => canBind(ip, port))) {
      if (options.port !== undefined) {
        throw new Error(`Cannot listen on port ${port} of ${ips.join(", ")}: it is taken`);
      }
      port = freePort(ips);
      portFallback = true;
    }

    const keys = `${this.root}/keys`;
    await Deno.mkdir(keys);
    const [rootKey, ...hostKeys] = await Promise.all([
      sshKeygen(`${keys}/id_ed25519`, "root@cluster"),
      ...names.map((name) => sshKeygen(`${keys}/${name}_host_ed25519`, `root@${name}`)),
    ]);

    const shared = this.sharedDir;
    await Deno.mkdir(`${shared}/priv/lock`, { recursive: true, mode: 0o700 });
    await Deno.chmod(shared, 0o755);
    await Deno.chmod(`${shared}/priv`, 0o700);
    await Deno.writeTextFile(`${shared}/priv/authorized_keys`, `${rootKey}\n`);
    const hostKeyLine = (index: number) => hostKeys[index].split(" ").slice(0, 2).join(" ");
    await Deno.writeTextFile(
      `${shared}/priv/known_hosts`,
      names.map((name, i) => `${name} ${hostKeyLine(i)}\n${ips[i]} ${hostKeyLine(i)}\n`).join(""),
    );
    for (const [index, name] of names.entries()) {
      await Deno.mkdir(`${shared}/nodes/${name}`, { recursive: true });
      if (options.perNodeKnownHosts) {
        await Deno.writeTextFile(
          `${shared}/nodes/${name}/ssh_known_hosts`,
          `${name} ${hostKeyLine(index)}\n`,
        );
      }
    }
    // The mount point of each node's own .members.
    await Deno.writeTextFile(`${shared}/.members`, "");
    const ids: Record<string, { node: string; type: string; version: number }> = {};
    for (const [node, containers] of Object.entries(options.containers ?? {})) {
      for (const ctid of Object.keys(containers)) {
        ids[ctid] = { node, type: "lxc", version: Object.keys(ids).length + 1 };
      }
    }
    await this.#writeVmlist(ids);

    const hostSshConfig = portFallback
      ? await Deno.readTextFile("/etc/ssh/ssh_config").catch(() => "")
      : "";
    const cacheDir = await denoDir();
    const nodes = await Promise.all(names.map(async (name, index): Promise<NodeState> => {
      const dir = `${this.root}/nodes/${name}`;
      const files = `${dir}/files`;
      await Deno.mkdir(files, { recursive: true });
      await Deno.copyFile(`${keys}/id_ed25519`, `${files}/id_ed25519`);
      await Deno.copyFile(`${keys}/id_ed25519.pub`, `${files}/id_ed25519.pub`);
      if (portFallback) {
        await Deno.writeTextFile(
          `${files}/ssh_config`,
          `# Simulated cluster: sshd listens on ${port}, not 22.\nPort ${port}\n\n${hostSshConfig}`,
        );
      }
      await Deno.writeTextFile(
        `${dir}/sshd_config`,
        [
          `ListenAddress ${ips[index]}:${port}`,
          `HostKey ${keys}/${name}_host_ed25519`,
          "PermitRootLogin prohibit-password",
          "AuthorizedKeysFile /etc/pve/priv/authorized_keys",
          "StrictModes no",
          "UsePAM no",
          "PrintMotd no",
          "PidFile none",
          "LogLevel VERBOSE",
          "X11Forwarding no",
          "AllowAgentForwarding no",
          "",
        ].join("\n"),
      );
      const fake = await FakePct.create({
        ...options.fakes?.[name],
        node: name,
        containers: options.containers?.[name] ?? {},
      });
      await Deno.writeTextFile(`${this.root}/fakes`, `${fake.dir}\n`, { append: true });
      // The node's own fake whatever the caller's environment says, and a warm Deno cache: an
      // sshd session has only HOME=/root and the default PATH.
      await Deno.writeTextFile(
        `${files}/pct`,
        options.pctScripts?.[name] ?? [
          "#!/bin/sh",
          `# Node ${name} of a simulated cluster: its own fake pct.`,
          `FAKE_PCT_DIR=${shellQuote(fake.dir)}`,
          `DENO_DIR=${shellQuote(cacheDir)}`,
          "export FAKE_PCT_DIR DENO_DIR",
          `exec ${shellQuote(fake.pctPath)} "$@"`,
          "",
        ].join("\n"),
      );
      const membersFile = `${dir}/members.json`;
      await Deno.writeTextFile(membersFile, "");
      return {
        name,
        id: index + 1,
        ip: ips[index],
        port,
        fake,
        dir,
        membersFile,
        online: true,
        quorate: true,
        pid: 0,
        namespace: "",
        // Set by #startHolder, before anything reads them.
        holder: undefined as unknown as Deno.ChildProcess,
        holderStdin: undefined as unknown as WritableStreamDefaultWriter<Uint8Array>,
      };
    }));
    for (const node of nodes) this.#nodes.set(node.name, node);
    await this.#writeMembers();
    for (const node of this.#nodes.values()) await this.#startHolder(node);
    await Promise.all([...this.#nodes.values()].map((node) => this.#startSshd(node)));
  }

  async #startHolder(node: NodeState): Promise<void> {
    node.holder = new Deno.Command("unshare", {
      args: [
        "--mount",
        "--uts",
        "--propagation",
        "private",
        "--",
        "sh",
        "-c",
        HOLDER_SCRIPT,
        "holder",
        node.name,
        node.dir,
        this.sharedDir,
        node.membersFile,
        `${node.dir}/files`,
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    node.holderStdin = node.holder.stdin.getWriter();
    node.pid = node.holder.pid;
    await this.#recordPid(node.pid);
    // Both streams close once the setup is done: the holder's last command keeps neither.
    const [stdout, stderr] = await Promise.all([
      new Response(node.holder.stdout).text(),
      new Response(node.holder.stderr).text(),
    ]);
    if (stdout !== "ready\n") {
      const status = await node.holder.status;
      throw new Error(
        `Cannot set up node "${node.name}": its setup exited ${status.code}\n${stderr.trim()}`,
      );
    }
    node.namespace = (await mountNamespaceOf(node.pid)) ?? "";
    if (node.namespace === "" || node.namespace === await mountNamespaceOf(Deno.pid)) {
      throw new Error(`Cannot find the mount namespace of node "${node.name}"`);
    }
  }

  async #startSshd(node: NodeState): Promise<void> {
    const child = new Deno.Command(NSENTER, {
      args: [
        "--target",
        String(node.pid),
        "--mount",
        "--uts",
        "--",
        SSHD,
        "-D",
        "-e",
        "-f",
        `${node.dir}/sshd_config`,
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
      env: { PATH: ROOT_PATH },
      clearEnv: true,
    }).spawn();
    await this.#recordPid(child.pid);
    const log = await Deno.open(`${node.dir}/sshd.log`, { append: true, create: true });
    node.sshd = { child, logged: child.stderr.pipeTo(log.writable) };
    let exited = false;
    child.status.then(() => exited = true);
    const deadline = performance.now() + 10_000;
    for (;;) {
      try {
        (await Deno.connect({ hostname: node.ip, port: node.port })).close();
        return;
      } catch {
        if (exited || performance.now() > deadline) {
          const tail = (await this.sshdLog(node.name)).trim().split("\n").slice(-5).join("\n");
          throw new Error(
            `Cannot start sshd of node "${node.name}" on ${node.ip}:${node.port}\n${tail}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  }

  async #stopSshd(node: NodeState): Promise<void> {
    const sshd = node.sshd;
    if (!sshd) return;
    node.sshd = undefined;
    try {
      sshd.child.kill("SIGTERM");
    } catch {
      // It ended already.
    }
    await sshd.child.status;
    await sshd.logged.catch(() => {});
  }

  async #recordPid(pid: number): Promise<void> {
    await Deno.writeTextFile(`${this.root}/pids`, `${pid}\n`, { append: true });
  }

  #node(name: string): NodeState {
    const node = this.#nodes.get(name);
    if (!node) {
      throw new RangeError(
        `Cannot find node "${name}": the cluster has ${[...this.#nodes.keys()].join(", ")}`,
      );
    }
    return node;
  }

  /** The nodes, in the order given to `start`. */
  get nodes(): readonly ClusterNode[] {
    return [...this.#nodes.values()];
  }

  /**
   * One node: its address, port, fake `pct`, and whether it is online and quorate.
   *
   * @throws {RangeError} When the cluster has no such node.
   */
  node(name: string): ClusterNode {
    return this.#node(name);
  }

  /**
   * The argv that runs `command` on node `to` the way Proxmox does (`/usr/bin/ssh -e none -o
   * BatchMode=yes -o HostKeyAlias=<to> -o UserKnownHostsFile=/etc/pve/priv/known_hosts
   * root@<ip> …`); give it to {@linkcode exec} on another node. ssh joins the command's words
   * with spaces and the remote shell splits them again: quote what needs it.
   */
  sshArgv(to: string, ...command: string[]): string[] {
    const node = this.#node(to);
    return [
      "/usr/bin/ssh",
      "-e",
      "none",
      "-o",
      "BatchMode=yes",
      "-o",
      `HostKeyAlias=${node.name}`,
      "-o",
      "UserKnownHostsFile=/etc/pve/priv/known_hosts",
      `root@${node.ip}`,
      ...command,
    ];
  }

  #nodeArgv(node: NodeState, argv: readonly string[], env: Readonly<Record<string, string>>) {
    if (argv.length === 0 || argv[0].includes("=")) {
      throw new TypeError(`Cannot run "${argv.join(" ")}": expected a program name first`);
    }
    for (const name of Object.keys(env)) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
        throw new TypeError(`Cannot set environment variable "${name}": not a valid name`);
      }
    }
    return [
      NSENTER,
      "--target",
      String(node.pid),
      "--mount",
      "--uts",
      "--",
      "env",
      "-i",
      "-C",
      "/root",
      `PATH=${ROOT_PATH}`,
      "HOME=/root",
      "LANG=C.UTF-8",
      ...Object.entries(env).map(([name, value]) => `${name}=${value}`),
      ...argv,
    ];
  }

  /**
   * Runs argv on a node, as root, in `/root`, with exactly a root login's environment (`PATH`,
   * `HOME=/root`, `LANG=C.UTF-8`) plus `options.env`. Works on an offline node too.
   *
   * @returns Exit status (128 + n when killed by signal n) and output.
   */
  exec(
    name: string,
    argv: readonly string[],
    options: NodeCommandOptions = {},
  ): Promise<CommandResult> {
    const node = this.#node(name);
    const full = this.#nodeArgv(node, argv, options.env ?? {});
    return run(full, { stdin: options.stdin, timeoutMs: options.timeoutMs, env: {} });
  }

  /**
   * Starts argv on a node like {@linkcode exec} and returns the child at once, stdout and stderr
   * piped, stdin piped when `options.stdin` is given (written and closed) and null otherwise.
   * `nsenter` and `env` exec the program, so the child's pid is the program's own and a signal
   * sent to the child reaches it.
   */
  spawn(
    name: string,
    argv: readonly string[],
    options: NodeCommandOptions = {},
  ): Deno.ChildProcess {
    const node = this.#node(name);
    const [program, ...args] = this.#nodeArgv(node, argv, options.env ?? {});
    const child = new Deno.Command(program, {
      args,
      stdin: options.stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
      env: { PATH: ROOT_PATH },
      clearEnv: true,
    }).spawn();
    if (options.stdin !== undefined) {
      const writer = child.stdin.getWriter();
      writer.write(new TextEncoder().encode(options.stdin))
        .catch(() => {})
        .finally(() => writer.close().catch(() => {}));
    }
    return child;
  }

  async #installStaged(
    node: NodeState,
    staged: string,
    path: string,
    mode: number,
  ): Promise<void> {
    try {
      const result = await this.exec(node.name, [
        "install",
        "-D",
        "-m",
        mode.toString(8).padStart(4, "0"),
        staged,
        path,
      ]);
      if (result.code !== 0) {
        throw new Error(`Cannot write "${path}" on node "${node.name}": ${result.stderr.trim()}`);
      }
    } finally {
      await Deno.remove(staged).catch(() => {});
    }
  }

  #stagingPath(): string {
    return `${this.root}/staged-${++this.#staged}`;
  }

  /**
   * Writes a file on a node (parent directories made, 0755), as root inside the node: a path
   * under `/etc/pve` lands in the shared directory and fails on a node without quorum.
   *
   * @param mode Permissions; 0644 when absent.
   * @throws {Error} When the node cannot write it (the message quotes `install`).
   */
  async writeFile(
    name: string,
    path: string,
    content: string | Uint8Array,
    mode = 0o644,
  ): Promise<void> {
    const node = this.#node(name);
    const staged = this.#stagingPath();
    if (typeof content === "string") await Deno.writeTextFile(staged, content);
    else await Deno.writeFile(staged, content);
    await this.#installStaged(node, staged, path, mode);
  }

  /**
   * Copies a file of the host (a built executable, a script) onto a node, mode 0755.
   *
   * @throws {Error} When the host file cannot be read or the node cannot write it.
   */
  async installFile(name: string, hostPath: string, path: string, mode = 0o755): Promise<void> {
    const node = this.#node(name);
    const staged = this.#stagingPath();
    await Deno.copyFile(hostPath, staged);
    await this.#installStaged(node, staged, path, mode);
  }

  /**
   * Reads a text file as a node sees it.
   *
   * @throws {Error} When the node cannot read it.
   */
  async readFile(name: string, path: string): Promise<string> {
    const result = await this.exec(name, ["cat", "--", path]);
    if (result.code !== 0) {
      throw new Error(`Cannot read "${path}" on node "${name}": ${result.stderr.trim()}`);
    }
    return result.stdout;
  }

  /**
   * The host path of `relative` inside the shared `/etc/pve` (for a look from outside).
   *
   * @throws {RangeError} When `relative` is absolute or leaves the directory.
   */
  sharedPath(relative: string): string {
    if (relative.startsWith("/") || relative.split("/").includes("..")) {
      throw new RangeError(`Cannot use "${relative}": expected a path inside /etc/pve`);
    }
    return relative === "" ? this.sharedDir : `${this.sharedDir}/${relative}`;
  }

  /**
   * Reads the shared `/etc/pve` from outside the nodes: a file's text, or a directory's entry
   * names, sorted (`readShared("priv/lock")` is `[]` when no lock is held).
   */
  async readShared(relative: string): Promise<string | string[]> {
    const path = this.sharedPath(relative);
    if ((await Deno.stat(path)).isDirectory) {
      const names = [];
      for await (const entry of Deno.readDir(path)) names.push(entry.name);
      return names.sort();
    }
    return await Deno.readTextFile(path);
  }

  /** What a node's sshd logged (`LogLevel VERBOSE`), over all its starts. */
  async sshdLog(name: string): Promise<string> {
    try {
      return await Deno.readTextFile(`${this.#node(name).dir}/sshd.log`);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return "";
      throw error;
    }
  }

  /**
   * Moves a container from one node to another, as HA does: its entry leaves `from`'s fake
   * `pct` state and joins `to`'s (both under their locks, so no `pct` call sees it on both or
   * neither), then `/etc/pve/.vmlist` says `to` (written to a temp file and renamed).
   *
   * @throws {RangeError} When `from` does not hold the container, or `to` already does.
   */
  async moveContainer(ctid: string, from: string, to: string): Promise<void> {
    const source = this.#node(from);
    const target = this.#node(to);
    await source.fake.update(async (state) => {
      const container = state.containers[ctid];
      if (!container) {
        throw new RangeError(`Cannot move container ${ctid}: node "${from}" does not hold it`);
      }
      await target.fake.update((targetState) => {
        if (targetState.containers[ctid]) {
          throw new RangeError(`Cannot move container ${ctid}: node "${to}" holds it already`);
        }
        targetState.containers[ctid] = container;
      });
      delete state.containers[ctid];
    });
    const vmlist = JSON.parse(await Deno.readTextFile(`${this.sharedDir}/.vmlist`));
    const entry = vmlist.ids[ctid] ?? { type: "lxc", version: 0 };
    vmlist.ids[ctid] = { ...entry, node: to, version: entry.version + 1 };
    await this.#writeVmlist(vmlist.ids);
  }

  async #writeVmlist(ids: Record<string, unknown>): Promise<void> {
    const text = JSON.stringify({ version: this.#vmlistVersion++, ids }, null, 2) + "\n";
    const temp = `${this.sharedDir}/.vmlist.tmp.${crypto.randomUUID()}`;
    await Deno.writeTextFile(temp, text);
    await Deno.rename(temp, `${this.sharedDir}/.vmlist`);
  }

  /** Writes every node's `.members` from the nodes' current online and quorate flags. */
  async #writeMembers(): Promise<void> {
    const version = this.#membersVersion++;
    const nodes = [...this.#nodes.values()];
    const nodelist = Object.fromEntries(
      nodes.map((node) => [node.name, { id: node.id, online: node.online ? 1 : 0, ip: node.ip }]),
    );
    await Promise.all(nodes.map((node) => {
      const members = {
        nodename: node.name,
        version,
        cluster: {
          name: this.#name,
          version: 3,
          nodes: nodes.length,
          quorate: node.quorate ? 1 : 0,
        },
        nodelist,
      };
      return overwriteInPlace(node.membersFile, JSON.stringify(members, null, 2) + "\n");
    }));
  }

  /**
   * Takes a node off the network or brings it back: offline, its sshd is stopped (connections
   * to it are refused; sessions already open go on) and every node's `.members` says
   * `"online": 0` for it. Commands run with {@linkcode exec} on it still work.
   */
  async setOnline(name: string, online: boolean): Promise<void> {
    const node = this.#node(name);
    if (node.online === online) return;
    if (online) await this.#startSshd(node);
    else await this.#stopSshd(node);
    node.online = online;
    await this.#writeMembers();
  }

  /**
   * Takes quorum from a node or gives it back: without quorum its `/etc/pve` is read-only
   * (remounted inside its namespace; other nodes are unaffected) and its `.members` says
   * `"quorate": 0`.
   *
   * @throws {Error} When the remount fails.
   */
  async setQuorate(name: string, quorate: boolean): Promise<void> {
    const node = this.#node(name);
    if (node.quorate === quorate) return;
    const flags = `remount,bind,${quorate ? "rw" : "ro"}`;
    const result = await this.exec(name, ["mount", "-o", flags, "/etc/pve"]);
    if (result.code !== 0) {
      throw new Error(`Cannot remount /etc/pve of node "${name}": ${result.stderr.trim()}`);
    }
    node.quorate = quorate;
    await this.#writeMembers();
  }

  /**
   * Ends every process of every node (sshd, its sessions, what they started), which unmounts
   * everything the nodes mounted, and removes the temp directory and the fakes. Safe to call
   * twice.
   */
  stop(): Promise<void> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  async #stop(): Promise<void> {
    const errors: unknown[] = [];
    for (const node of this.#nodes.values()) {
      try {
        if (node.namespace !== "") await killNamespace(node.namespace);
      } catch (error) {
        errors.push(error);
      }
      await this.#stopSshd(node).catch((error) => errors.push(error));
      if (node.holder) {
        await node.holderStdin.close().catch(() => {});
        try {
          node.holder.kill("SIGKILL");
        } catch {
          // It ended already.
        }
        await node.holder.status;
      }
      await node.fake.cleanup().catch((error) => errors.push(error));
    }
    await Deno.remove(this.root, { recursive: true }).catch((error) => errors.push(error));
    if (errors.length > 0) {
      throw new AggregateError(errors, `Cannot stop the simulated cluster in "${this.root}"`);
    }
  }

  /** Same as {@linkcode stop}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  /**
   * Removes clusters left behind by test processes that died: kills the processes of their
   * namespaces (found through the pids they recorded, when those still run with the cluster's
   * directory on their command line) and removes their directories and their fakes'.
   */
  static async sweepStale(): Promise<void> {
    const tmp = Deno.env.get("TMPDIR") || "/tmp";
    for await (const entry of Deno.readDir(tmp)) {
      if (!entry.isDirectory || !entry.name.startsWith(CLUSTER_DIR_PREFIX)) continue;
      const root = `${tmp}/${entry.name}`;
      let owner: number;
      let pids: number[];
      try {
        owner = Number((await Deno.readTextFile(`${root}/owner.pid`)).trim());
        pids = (await Deno.readTextFile(`${root}/pids`).catch(() => ""))
          .split("\n").filter((line) => line !== "").map(Number);
      } catch {
        continue; // Not a cluster, or one still being set up.
      }
      if (await mountNamespaceOf(owner) !== undefined) continue; // Its owner still runs.
      for (const pid of pids) {
        if (!(await commandLineOf(pid)).includes(root)) continue;
        const namespace = await mountNamespaceOf(pid);
        if (namespace === undefined || namespace === await mountNamespaceOf(Deno.pid)) continue;
        if ((await processesIn(namespace)).length > 0) await killNamespace(namespace);
      }
      const fakes = await Deno.readTextFile(`${root}/fakes`).catch(() => "");
      for (const dir of fakes.split("\n").filter((line) => line.startsWith(tmp))) {
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      }
      await Deno.remove(root, { recursive: true }).catch(() => {});
    }
  }
}

async function probeAvailability(): Promise<string | undefined> {
  if (Deno.build.os !== "linux") return `needs Linux, not ${Deno.build.os}`;
  if (Deno.uid() !== 0) return `needs root (running as uid ${Deno.uid()})`;
  const missing = [];
  for (const path of ["/usr/bin/unshare", NSENTER, SSHD, "/usr/bin/ssh", "/usr/bin/ssh-keygen"]) {
    if (!(await isExecutable(path))) missing.push(path);
  }
  if (missing.length > 0) {
    return `missing ${missing.join(", ")} (apt-get install -y openssh-server util-linux)`;
  }
  const dir = await Deno.makeTempDir({ prefix: `${CLUSTER_DIR_PREFIX}probe-` });
  try {
    await Deno.mkdir(`${dir}/upper`);
    await Deno.mkdir(`${dir}/work`);
    const result = await run([
      "unshare",
      "--mount",
      "--propagation",
      "private",
      "--",
      "mount",
      "-t",
      "overlay",
      "overlay",
      "-o",
      `lowerdir=/etc,upperdir=${dir}/upper,workdir=${dir}/work`,
      "/etc",
    ]);
    if (result.code !== 0) {
      return `cannot mount an overlay over /etc in a new mount namespace: ${result.stderr.trim()}`;
    }
    return undefined;
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
