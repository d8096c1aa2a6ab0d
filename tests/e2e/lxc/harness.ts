/**
 * Real LXC containers for end-to-end tests: a lab (its own LXC path and name prefix) that makes
 * busybox containers, and the environment under which the `pct` stand-in (`./pct`) drives them.
 *
 * Facts the helpers rely on (checked on Debian 12, LXC 5.0.2, busybox 1.35):
 * - busybox init halts on SIGUSR1 (the busybox template's `lxc.signal.halt`): it runs the
 *   `::shutdown:` actions, then SIGTERM, 1 s, SIGKILL, 1 s, so a clean `lxc-stop -t` takes ~2 s.
 *   SIGTERM would reboot it. A PID-namespace init never gets signals it has no handler for, so
 *   `lxc.signal.halt = SIGWINCH` makes a container that ignores shutdown requests.
 * - `lxc-snapshot` (dir backend, rsync) refuses running containers; snapshots live in
 *   `<lxcpath>/<name>/snaps/snapN/{rootfs,config,ts,comment}`.
 * - `lxc-snapshot -r` recreates the container directory: only `snaps/` survives a rollback.
 *
 * @example
 * ```ts
 * import { lxcSupport, withLab } from "./harness.ts";
 * const support = await lxcSupport();
 * Deno.test({
 *   name: "lxc: a container starts",
 *   ignore: !support.ok,
 *   fn: () =>
 *     withLab(async (lab) => {
 *       await lab.createContainer("950");
 *       await lab.pct(["start", "950"]);
 *     }),
 * });
 * ```
 *
 * @module
 */

import { type CommandResult, mustRun, run, type RunOptions } from "../../support/commands.ts";

/** Path of the `pct` stand-in script next to this module. */
export const PCT_STAND_IN: string = new URL("./pct", import.meta.url).pathname;

/** PATH inside the containers, as pct sets it for `pct exec`. */
export const CONTAINER_PATH = "/sbin:/bin:/usr/sbin:/usr/bin";

/** Temp directories of labs start with this; stale ones are swept by {@linkcode LxcLab.create}. */
const LAB_DIR_PREFIX = "phx-lxc-";

/** Tools the stand-in and the lab call. */
const REQUIRED_TOOLS = [
  "bash",
  "busybox",
  "rsync",
  "lxc-attach",
  "lxc-copy",
  "lxc-create",
  "lxc-destroy",
  "lxc-freeze",
  "lxc-info",
  "lxc-ls",
  "lxc-snapshot",
  "lxc-start",
  "lxc-stop",
  "lxc-unfreeze",
  "lxc-wait",
] as const;

async function onPath(tool: string): Promise<boolean> {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (!dir) continue;
    try {
      const info = await Deno.stat(`${dir}/${tool}`);
      if (info.isFile && ((info.mode ?? 0) & 0o111) !== 0) return true;
    } catch {
      // Not in this directory.
    }
  }
  return false;
}

/** Whether real LXC containers can be used here, and if not, why. */
export type LxcSupport = { ok: true } | { ok: false; reason: string };

let supportProbe: Promise<LxcSupport> | undefined;

/**
 * Finds out once per process whether this machine can run the LXC tests: Linux, root, the LXC
 * tools and busybox installed, and a throwaway container that can be created, started, entered,
 * snapshotted and destroyed.
 *
 * @returns `{ ok: true }`, or `{ ok: false, reason }` saying what is missing.
 *
 * @example
 * ```ts
 * import { lxcSupport } from "./harness.ts";
 * const support = await lxcSupport();
 * if (!support.ok) console.warn(`LXC tests skipped: ${support.reason}`);
 * ```
 */
export function lxcSupport(): Promise<LxcSupport> {
  supportProbe ??= probeSupport();
  return supportProbe;
}

async function probeSupport(): Promise<LxcSupport> {
  if (Deno.build.os !== "linux") return { ok: false, reason: `needs Linux, not ${Deno.build.os}` };
  if (Deno.uid() !== 0) return { ok: false, reason: `needs root (running as uid ${Deno.uid()})` };
  const missing = [];
  for (const tool of REQUIRED_TOOLS) if (!(await onPath(tool))) missing.push(tool);
  if (missing.length > 0) {
    return {
      ok: false,
      reason: `missing ${missing.join(", ")} (apt-get install -y lxc busybox-static rsync)`,
    };
  }
  try {
    await withLab(async (lab) => {
      await lab.createContainer("100");
      await lab.start("100");
      const result = await lab.attach("100", ["true"]);
      if (result.code !== 0) throw new Error(`lxc-attach ran "true" with exit ${result.code}`);
      await lab.kill("100");
      await mustRun(["lxc-snapshot", "-P", lab.lxcPath, "-n", lab.containerName("100")]);
    });
    return { ok: true };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { ok: false, reason: `cannot run a throwaway busybox container: ${message}` };
  }
}

/** Options of {@linkcode LxcLab.createContainer}. */
export interface ContainerOptions {
  /**
   * Make init ignore the halt signal (`lxc.signal.halt = SIGWINCH`), so `pct shutdown` times out
   * and only `--forceStop 1` or `pct stop` brings the container down.
   */
  readonly initIgnoresShutdown?: boolean;
  /** Host name (`lxc.uts.name`, the Name column of `pct list`); default `ct<ctid>`. */
  readonly hostname?: string;
}

/** A snapshot as LXC stores it, labelled with its pct name. */
export interface SnapshotInfo {
  /** The pct name (`base-snapshot`); LXC's own name when pct did not make it. */
  readonly name: string;
  /** LXC's name, `snapN`. */
  readonly lxcName: string;
  /** `YYYY-MM-DD HH:MM:SS`, host time zone. */
  readonly time: string;
  /** The description (`--description`), `""` when none. */
  readonly description: string;
  /** The snapshot's root file system on the host. */
  readonly rootfs: string;
}

/** Files written into every lab container's rootfs. */
const ROOTFS_FILES: ReadonlyArray<{ path: string; mode: number; text: string }> = [
  {
    // No getty or console shell: nothing but init and what the tests start.
    path: "etc/inittab",
    mode: 0o644,
    text: "::sysinit:/etc/init.d/rcS\n::shutdown:/etc/init.d/rcK\n",
  },
  {
    path: "etc/init.d/rcS",
    mode: 0o755,
    text: [
      "#!/bin/sh",
      "rm -f /var/run/lab-booted /var/log/lab-clean-shutdown",
      "/bin/mount -a",
      "/bin/ip link set lo up",
      // Which boot this was: init's start time, as the host sees it too (/proc/<pid>/stat).
      "awk '{ print $22 }' /proc/1/stat > /var/run/lab-booted",
      "",
    ].join("\n"),
  },
  {
    // Run by busybox init on a clean halt only; a kill leaves no trace.
    path: "etc/init.d/rcK",
    mode: 0o755,
    text: "#!/bin/sh\ndate +%s > /var/log/lab-clean-shutdown\n",
  },
  { path: "etc/hosts", mode: 0o644, text: "127.0.0.1 localhost\n::1 localhost\n" },
  { path: "www/index.html", mode: 0o644, text: "ok\n" },
];

/** The node name the lab's `pct` puts in its error messages (unless `PCT_NODE` says another). */
export const LAB_NODE = "pve-test";

/**
 * A private LXC path with its own container name prefix, plus a `bin/` directory holding the
 * `pct` stand-in. Everything it makes is removed by {@linkcode LxcLab.destroy}; prefer
 * {@linkcode withLab}, which calls it whatever happens.
 *
 * @example
 * ```ts
 * import { LxcLab } from "./harness.ts";
 * const lab = await LxcLab.create();
 * try {
 *   await lab.createContainer("950");
 *   await lab.start("950");
 *   const { stdout } = await lab.pct(["exec", "950", "--", "hostname"]);
 * } finally {
 *   await lab.destroy();
 * }
 * ```
 */
export class LxcLab {
  /** The lab's temp directory: `lxc/`, `bin/`, `owner.pid`. */
  readonly root: string;
  /** The LXC path (`-P`, `PCT_LXC_PATH`). */
  readonly lxcPath: string;
  /** The container name prefix (`PCT_LXC_PREFIX`). */
  readonly prefix: string;
  /** The directory that holds only `pct`, first on PATH in {@linkcode LxcLab.env}. */
  readonly binDir: string;
  readonly #created = new Set<string>();
  #destroyed: Promise<void> | undefined;

  private constructor(root: string, prefix: string) {
    this.root = root;
    this.lxcPath = `${root}/lxc`;
    this.binDir = `${root}/bin`;
    this.prefix = prefix;
  }

  /**
   * Makes a lab in a new temp directory with a unique prefix (LXC's cgroups are named after the
   * container, so names must not clash with other labs running at the same time). Labs left
   * behind by a killed test process are destroyed first.
   *
   * @returns The new, empty lab.
   */
  static async create(): Promise<LxcLab> {
    await LxcLab.sweepStale();
    const root = await Deno.makeTempDir({ prefix: LAB_DIR_PREFIX });
    const id = crypto.randomUUID().replaceAll("-", "").slice(0, 6);
    const lab = new LxcLab(root, `phx${id}-`);
    await Deno.mkdir(lab.lxcPath);
    await Deno.mkdir(lab.binDir);
    // A wrapper that knows its lab, as real pct knows its node: the executables give `pct` only
    // the environment they choose (PATH, HOME, TZ, locale), so PCT_LXC_* from the caller would
    // not reach it.
    await Deno.writeTextFile(
      `${lab.binDir}/pct`,
      [
        "#!/bin/sh",
        `: "\${PCT_LXC_PREFIX:=${lab.prefix}}" "\${PCT_LXC_PATH:=${lab.lxcPath}}"` +
        ` "\${PCT_NODE:=${LAB_NODE}}"`,
        "export PCT_LXC_PREFIX PCT_LXC_PATH PCT_NODE",
        `exec ${PCT_STAND_IN} "$@"`,
        "",
      ].join("\n"),
      { mode: 0o755 },
    );
    await Deno.writeTextFile(`${root}/owner.pid`, `${Deno.pid}\n`);
    return lab;
  }

  /**
   * Destroys labs in the temp directory whose owning process is gone (a test run that was
   * killed before its `finally`).
   */
  static async sweepStale(): Promise<void> {
    const tmp = Deno.env.get("TMPDIR") || "/tmp";
    for await (const entry of Deno.readDir(tmp)) {
      if (!entry.isDirectory || !entry.name.startsWith(LAB_DIR_PREFIX)) continue;
      const root = `${tmp}/${entry.name}`;
      let owner: number;
      try {
        owner = Number((await Deno.readTextFile(`${root}/owner.pid`)).trim());
      } catch {
        continue; // Not a lab, or one still being set up.
      }
      if (!Number.isInteger(owner) || owner <= 0 || owner === Deno.pid) continue;
      if (await exists(`/proc/${owner}`)) continue;
      // destroy() finds the containers with lxc-ls; the prefix does not matter.
      await new LxcLab(root, "").destroy().catch(() => {});
    }
  }

  /** @returns The LXC name of CTID `ctid`: prefix + ctid. */
  containerName(ctid: string): string {
    return `${this.prefix}${ctid}`;
  }

  /** @returns The host directory of the container's root file system. */
  rootfs(ctid: string): string {
    return `${this.lxcPath}/${this.containerName(ctid)}/rootfs`;
  }

  /**
   * The environment under which a program's `pct` is the stand-in driving this lab.
   *
   * @returns `PATH` (the stand-in's directory first), `PCT_LXC_PREFIX`, `PCT_LXC_PATH`.
   */
  env(): Record<string, string> {
    return {
      PATH: `${this.binDir}:${Deno.env.get("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin"}`,
      PCT_LXC_PREFIX: this.prefix,
      PCT_LXC_PATH: this.lxcPath,
    };
  }

  /**
   * Runs the stand-in (`pct ...args`) against this lab.
   *
   * @param args The pct arguments, e.g. `["status", "950"]`.
   * @param options Input, extra environment, timeout.
   * @returns Exit status and output.
   */
  pct(args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    return run([`${this.binDir}/pct`, ...args], {
      ...options,
      env: { ...this.env(), ...options.env },
    });
  }

  /**
   * Creates a stopped busybox container for CTID `ctid` with `lxc-create -t busybox`: no network
   * but `lo` (up once booted), busybox `httpd` usable (`httpd -p 127.0.0.1:8080 -h /www`, and
   * `localhost` in /etc/hosts), nothing running but init, and a clean-shutdown marker.
   *
   * @param ctid The CTID, e.g. `"950"`.
   * @param options Make init ignore shutdown; the host name.
   */
  async createContainer(ctid: string, options: ContainerOptions = {}): Promise<void> {
    const name = this.containerName(ctid);
    const base = `${this.root}/base.conf`;
    // Replaces /etc/lxc/default.conf, whose veth needs an lxcbr0 bridge that does not exist.
    await Deno.writeTextFile(base, "lxc.net.0.type = empty\nlxc.apparmor.profile = unconfined\n");
    this.#created.add(name);
    await mustRun(["lxc-create", "-P", this.lxcPath, "-n", name, "-f", base, "-t", "busybox"]);

    const configFile = `${this.lxcPath}/${name}/config`;
    const lines = (await Deno.readTextFile(configFile)).split("\n")
      .filter((line) => !/^\s*lxc\.(signal\.halt|uts\.name)\s*=/.test(line));
    lines.push(
      `lxc.signal.halt = ${options.initIgnoresShutdown ? "SIGWINCH" : "SIGUSR1"}`,
      `lxc.uts.name = ${options.hostname ?? `ct${ctid}`}`,
      "",
    );
    await Deno.writeTextFile(configFile, lines.join("\n").replace(/\n+$/, "\n"));

    const rootfs = this.rootfs(ctid);
    for (const file of ROOTFS_FILES) {
      const path = `${rootfs}/${file.path}`;
      await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
      await Deno.writeTextFile(path, file.text);
      await Deno.chmod(path, file.mode);
    }
    await Deno.remove(`${this.lxcPath}/.pct-state/${name}`, { recursive: true }).catch(() => {});
  }

  /**
   * Starts the container directly with LXC and waits until its boot script has run (`lo` up).
   *
   * @param ctid The CTID.
   * @param timeoutMs How long to wait for the boot to finish.
   */
  async start(ctid: string, timeoutMs = 10_000): Promise<void> {
    await mustRun(["lxc-start", "-P", this.lxcPath, "-n", this.containerName(ctid)]);
    await this.waitForBoot(ctid, timeoutMs);
  }

  /**
   * Waits until the current boot of a container started by any means (e.g. `pct start`) has run
   * its boot script. A marker left by an earlier boot does not count.
   *
   * @param ctid The CTID.
   * @param timeoutMs How long to wait.
   */
  async waitForBoot(ctid: string, timeoutMs = 10_000): Promise<void> {
    const marker = `${this.rootfs(ctid)}/var/run/lab-booted`;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const boot = await this.#initStartTime(ctid);
      if (boot !== undefined && (await readTextOr(marker, "")).trim() === boot) return;
      if (Date.now() > deadline) {
        throw new Error(`Container ${ctid} did not finish booting within ${timeoutMs} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Start time (field 22 of /proc/<pid>/stat) of the container's init; undefined if none. */
  async #initStartTime(ctid: string): Promise<string | undefined> {
    return (await this.bootId(ctid))?.split("@")[1];
  }

  /**
   * Identifies the container's current boot: its init's host PID and start time, as
   * `<pid>@<start>`. Equal before and after something means the container was not stopped (or
   * restarted) in between.
   *
   * @param ctid The CTID.
   * @returns The boot's identity, or undefined when the container is not running.
   */
  async bootId(ctid: string): Promise<string | undefined> {
    const info = await run(["lxc-info", "-P", this.lxcPath, "-n", this.containerName(ctid), "-pH"]);
    const pid = info.stdout.trim();
    if (info.code !== 0 || !/^\d+$/.test(pid)) return undefined;
    const stat = await readTextOr(`/proc/${pid}/stat`, "");
    if (!stat) return undefined;
    // Fields after "(comm)" start with field 3.
    return `${pid}@${stat.slice(stat.lastIndexOf(")") + 2).split(" ")[22 - 3]}`;
  }

  /**
   * Hard-stops the container directly with LXC (no-op when it is stopped).
   *
   * @param ctid The CTID.
   */
  async kill(ctid: string): Promise<void> {
    const name = this.containerName(ctid);
    await run(["lxc-unfreeze", "-P", this.lxcPath, "-n", name]);
    if ((await this.status(ctid)) !== "stopped") {
      await mustRun(["lxc-stop", "-P", this.lxcPath, "-n", name, "-k"]);
    }
  }

  /**
   * Runs argv inside the container directly with `lxc-attach` (clean environment, pct's PATH).
   *
   * @param ctid The CTID.
   * @param argv Program and arguments, run without a shell.
   * @param options Input, timeout.
   * @returns The command's exit status and output.
   */
  attach(ctid: string, argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    return run([
      "lxc-attach",
      "-P",
      this.lxcPath,
      "-n",
      this.containerName(ctid),
      "--clear-env",
      "--set-var",
      `PATH=${CONTAINER_PATH}`,
      "--",
      ...argv,
    ], options);
  }

  /**
   * The container's LXC state, lower case: `running`, `stopped`, `frozen`, ...; `missing` when
   * there is no such container.
   *
   * @param ctid The CTID.
   */
  async status(ctid: string): Promise<string> {
    const name = this.containerName(ctid);
    if (!(await exists(`${this.lxcPath}/${name}/config`))) return "missing";
    const result = await mustRun(["lxc-info", "-P", this.lxcPath, "-n", name, "-s", "-H"]);
    return result.stdout.trim().toLowerCase();
  }

  /**
   * Whether the container's last stop was a clean shutdown (init ran its shutdown actions)
   * rather than a kill. Only meaningful while it is stopped.
   *
   * @param ctid The CTID.
   */
  shutDownCleanly(ctid: string): Promise<boolean> {
    return exists(`${this.rootfs(ctid)}/var/log/lab-clean-shutdown`);
  }

  /**
   * The container's snapshots as LXC has them (from `lxc-snapshot -L`), oldest first.
   *
   * @param ctid The CTID.
   */
  async snapshots(ctid: string): Promise<SnapshotInfo[]> {
    const name = this.containerName(ctid);
    const listing = await mustRun(["lxc-snapshot", "-P", this.lxcPath, "-n", name, "-L"]);
    const snapshots: SnapshotInfo[] = [];
    for (const line of listing.stdout.split("\n")) {
      const match = /^(\S+) \((.*)\) (\d{4}):(\d\d):(\d\d) (\d\d:\d\d:\d\d)$/.exec(line);
      if (!match) continue;
      const [, lxcName, snapsDir, year, month, day, clock] = match;
      const dir = `${snapsDir}/${lxcName}`;
      const pctName = (await readTextOr(`${dir}/pct-name`, "")).trim();
      const config = await Deno.readTextFile(`${dir}/config`);
      const rootfs = /^\s*lxc\.rootfs\.path\s*=\s*(?:dir:)?(.+?)\s*$/m.exec(config)?.[1] ??
        `${dir}/rootfs`;
      snapshots.push({
        name: pctName || lxcName,
        lxcName,
        time: `${year}-${month}-${day} ${clock}`,
        description: (await readTextOr(`${dir}/comment`, "")).replace(/\n$/, ""),
        rootfs,
      });
    }
    return snapshots.sort((a, b) =>
      a.time.localeCompare(b.time) || snapIndex(a.lxcName) - snapIndex(b.lxcName)
    );
  }

  /**
   * Reads a file as it is in a snapshot.
   *
   * @param ctid The CTID.
   * @param snapshot The pct name (or LXC `snapN` name) of the snapshot.
   * @param path Absolute path inside the container.
   * @returns The file's text.
   * @throws {Error} When the snapshot or the file does not exist, or the path leads outside it.
   */
  async readSnapshotFile(ctid: string, snapshot: string, path: string): Promise<string> {
    const found = (await this.snapshots(ctid)).find((s) =>
      s.name === snapshot || s.lxcName === snapshot
    );
    if (!found) throw new Error(`Container ${ctid} has no snapshot "${snapshot}"`);
    return readInside(found.rootfs, path);
  }

  /**
   * Replaces a snapshot's description, where the pct stand-in keeps it (its `comment` file), as
   * an older or another maker of the snapshot would have left it.
   *
   * @param ctid The CTID.
   * @param snapshot The pct name of the snapshot.
   * @param description The new description.
   */
  async setSnapshotDescription(ctid: string, snapshot: string, description: string) {
    const found = (await this.snapshots(ctid)).find((s) => s.name === snapshot);
    if (!found) throw new Error(`Container ${ctid} has no snapshot "${snapshot}"`);
    const dir = `${this.lxcPath}/${this.containerName(ctid)}/snaps/${found.lxcName}`;
    await Deno.writeTextFile(`${dir}/comment`, `${description}\n`);
  }

  /**
   * Reads a file from the container's current root file system on the host side (the container
   * need not run).
   *
   * @param ctid The CTID.
   * @param path Absolute path inside the container.
   * @returns The file's text.
   */
  readFile(ctid: string, path: string): Promise<string> {
    return readInside(this.rootfs(ctid), path);
  }

  /**
   * Sets or clears the lock pct reports (`CT is locked (<lock>)`, Lock column, `lock:` lines).
   *
   * @param ctid The CTID.
   * @param lock E.g. `"backup"`; `null` removes it.
   */
  async setLock(ctid: string, lock: string | null): Promise<void> {
    const dir = this.#stateDir(ctid);
    if (lock === null) {
      await Deno.remove(`${dir}/lock`).catch(() => {});
      return;
    }
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(`${dir}/lock`, `${lock}\n`);
  }

  /**
   * Makes snapshot `snapshot` half-made, as a `pct snapshot` that died between its prepare and
   * commit phases leaves it: `snapstate` in its section, `lock: snapshot` on the container, and
   * its time set to `time` (`YYYY-MM-DD HH:MM:SS`, local), which says how long ago it was begun.
   *
   * @param ctid The CTID.
   * @param snapshot The pct name of the snapshot.
   */
  async halfMakeSnapshot(ctid: string, snapshot: string, time: string): Promise<void> {
    const found = (await this.snapshots(ctid)).find((s) => s.name === snapshot);
    if (!found) throw new Error(`Container ${ctid} has no snapshot "${snapshot}"`);
    const dir = `${this.lxcPath}/${this.containerName(ctid)}/snaps/${found.lxcName}`;
    await Deno.writeTextFile(`${dir}/pct-snapstate`, "prepare\n");
    // lxc-snapshot keeps the time in `ts` as `YYYY:MM:DD HH:MM:SS`.
    await Deno.writeTextFile(`${dir}/ts`, time.replace(/^(\d{4})-(\d\d)-(\d\d)/, "$1:$2:$3"));
    await this.setLock(ctid, "snapshot");
  }

  /**
   * Makes the container's storage (not) support snapshots; unsupported gives pct's
   * `snapshot feature is not available`, as on dir or NFS storage.
   *
   * @param ctid The CTID.
   * @param available Whether `pct snapshot` works.
   */
  async setSnapshotFeature(ctid: string, available: boolean): Promise<void> {
    const dir = this.#stateDir(ctid);
    const marker = `${dir}/snapshot-unavailable`;
    if (available) {
      await Deno.remove(marker).catch(() => {});
      return;
    }
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(marker, "");
  }

  #stateDir(ctid: string): string {
    return `${this.lxcPath}/.pct-state/${this.containerName(ctid)}`;
  }

  /**
   * Kills and destroys every container of the lab (also ones it did not create itself) and
   * removes its directory. Safe to call more than once and concurrently.
   *
   * @throws {Error} When something could not be removed (after trying everything).
   */
  destroy(): Promise<void> {
    this.#destroyed ??= this.#destroy();
    return this.#destroyed;
  }

  /** Lets `await using lab = await LxcLab.create()` clean up. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.destroy();
  }

  async #destroy(): Promise<void> {
    const names = new Set(this.#created);
    const listed = await run(["lxc-ls", "-P", this.lxcPath, "-1"]);
    if (listed.code === 0) {
      for (const name of listed.stdout.split(/\s+/)) if (name) names.add(name);
    }
    const problems: string[] = [];
    for (const name of names) {
      if (!(await exists(`${this.lxcPath}/${name}/config`))) continue;
      const lxc = ["-P", this.lxcPath, "-n", name];
      await run(["lxc-unfreeze", ...lxc]);
      await run(["lxc-stop", ...lxc, "-k"]);
      const destroyed = await run(["lxc-destroy", ...lxc, "-s"]);
      if (destroyed.code !== 0) problems.push(`lxc-destroy ${name}: ${destroyed.stderr.trim()}`);
    }
    try {
      await Deno.remove(this.root, { recursive: true });
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) problems.push(`remove ${this.root}: ${error}`);
    }
    if (problems.length > 0) {
      throw new Error(`Cannot clean up LXC lab ${this.root}:\n${problems.join("\n")}`);
    }
  }
}

/**
 * A `Deno.test` named `lxc: <name>` that runs `fn` with a fresh lab ({@linkcode withLab}), and is
 * ignored (reported as such) where `support` says this machine cannot run LXC containers.
 *
 * @param support What {@linkcode lxcSupport} found.
 */
export function lxcTest(
  support: LxcSupport,
  name: string,
  fn: (lab: LxcLab) => Promise<void>,
): void {
  Deno.test({ name: `lxc: ${name}`, ignore: !support.ok, fn: () => withLab(fn) });
}

/**
 * Runs `fn` with a fresh lab and destroys the lab afterwards, whether `fn` succeeded or not. A
 * failure of `fn` is never hidden by a cleanup failure (both are reported).
 *
 * @param fn The test body.
 * @returns What `fn` returned.
 *
 * @example
 * ```ts
 * import { withLab } from "./harness.ts";
 * await withLab(async (lab) => {
 *   await lab.createContainer("950");
 * });
 * ```
 */
export async function withLab<T>(fn: (lab: LxcLab) => Promise<T>): Promise<T> {
  const lab = await LxcLab.create();
  let result: T;
  try {
    result = await fn(lab);
  } catch (error) {
    try {
      await lab.destroy();
    } catch (cleanupError) {
      throw new AggregateError([error, cleanupError], "Test failed, then its cleanup failed");
    }
    throw error;
  }
  await lab.destroy();
  return result;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

async function readTextOr(path: string, fallback: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return fallback;
    throw error;
  }
}

function snapIndex(lxcName: string): number {
  return Number(/^snap(\d+)$/.exec(lxcName)?.[1] ?? Number.MAX_SAFE_INTEGER);
}

/** Reads `path` (absolute, inside a container) below `rootfs`, refusing symlinks that leave it. */
async function readInside(rootfs: string, path: string): Promise<string> {
  if (!path.startsWith("/")) {
    throw new TypeError(`Cannot read "${path}": expected an absolute path`);
  }
  const root = await Deno.realPath(rootfs);
  const real = await Deno.realPath(`${root}${path}`);
  if (real !== root && !real.startsWith(`${root}/`)) {
    throw new Error(`Cannot read "${path}": it resolves to "${real}", outside ${rootfs}`);
  }
  return await Deno.readTextFile(real);
}
