/**
 * Real Debian 12 containers (systemd as PID 1, no network) in an LXC lab, made from the cached
 * image (`./image.ts`), for the real-Debian tier. The lab, its `pct` stand-in and the helpers
 * that read a container's state are the LXC tier's (`../lxc/harness.ts`); this module adds what
 * differs for Debian: the container config, the local apt and pip repositories bind-mounted
 * read-only, and waiting for systemd.
 *
 * @example
 * ```ts
 * import { withLab } from "../lxc/harness.ts";
 * import { debianImage } from "./image.ts";
 * import { createDebianContainer, startDebian } from "./harness.ts";
 * const image = await debianImage();
 * await withLab(async (lab) => {
 *   await createDebianContainer(lab, image, "900");
 *   await startDebian(lab, "900");
 * });
 * ```
 *
 * @module
 */

import { mustRun, run } from "../../support/commands.ts";
import { type LxcLab, type LxcSupport, lxcSupport } from "../lxc/harness.ts";
import { BUILD_TOOLS, type DebianImage, hostDebianMirror } from "./image.ts";

/** Where the local apt repository appears inside a container (`/etc/apt/sources.list`). */
export const REPO_IN_CONTAINER = "/srv/repo";
/** Where the pip find-links directory appears inside a container (`/etc/pip.conf`). */
export const WHEELS_IN_CONTAINER = "/srv/wheels";

/** Options of {@linkcode createDebianContainer}. */
export interface DebianContainerOptions {
  /**
   * Bind-mount the local apt repository (default true). Without it the container's apt source
   * points at a directory that does not exist: apt cannot reach any repository.
   */
  readonly aptRepository?: boolean;
  /**
   * A privileged config Docker Engine runs in (no capability dropped, cgroups, proc and sys
   * writable, every device, no seccomp), as Proxmox gives a container with `nesting=1`.
   */
  readonly docker?: boolean;
}

/**
 * Finds out once whether this machine can run the real-Debian tier: the LXC tier's support
 * (root, the LXC tools, a throwaway container), the image build's tools, and a Debian archive
 * named in the host's apt sources.
 *
 * @returns `{ ok: true }`, or `{ ok: false, reason }` saying what is missing.
 */
export async function debianSupport(): Promise<LxcSupport> {
  // On by default, as CI runs it; PHOENIX_TEST_DEBIAN=0 leaves it out (reported as ignored).
  if (Deno.env.get("PHOENIX_TEST_DEBIAN") === "0") {
    return { ok: false, reason: "PHOENIX_TEST_DEBIAN=0 leaves the real-Debian tier out" };
  }
  const lxc = await lxcSupport();
  if (!lxc.ok) return lxc;
  const missing = [];
  for (const tool of BUILD_TOOLS) {
    if ((await run(["sh", "-c", 'command -v "$1"', "sh", tool])).code !== 0) missing.push(tool);
  }
  if (missing.length > 0) {
    return {
      ok: false,
      reason: `missing ${missing.join(", ")} (apt-get install -y debootstrap apt-utils zstd)`,
    };
  }
  try {
    await hostDebianMirror();
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
  return { ok: true };
}

/**
 * Creates a stopped Debian container for CTID `ctid` in `lab`: the image's rootfs extracted into
 * a dir-backed container (as `pct` sees it, the same as the LXC tier's), host name `ct<ctid>`,
 * no network but loopback, systemd as init (halted with SIGRTMIN+3), and the local apt and pip
 * repositories mounted read-only.
 *
 * @param lab The lab.
 * @param image The cached image.
 * @param ctid The CTID.
 * @param options Whether apt's repository is there; Docker's privileges.
 */
export async function createDebianContainer(
  lab: LxcLab,
  image: DebianImage,
  ctid: string,
  options: DebianContainerOptions = {},
): Promise<void> {
  const dir = `${lab.lxcPath}/${lab.containerName(ctid)}`;
  const rootfs = `${dir}/rootfs`;
  await Deno.mkdir(rootfs, { recursive: true, mode: 0o755 });
  await mustRun([
    "tar",
    "--numeric-owner",
    "--xattrs",
    "--xattrs-include=*",
    "-I",
    "zstd",
    "-xpf",
    image.rootfsTarball,
    "-C",
    rootfs,
  ], { timeoutMs: 120_000 });
  const lines = [
    "lxc.include = /usr/share/lxc/config/debian.common.conf",
    "lxc.arch = linux64",
    `lxc.rootfs.path = dir:${rootfs}`,
    `lxc.uts.name = ct${ctid}`,
    "lxc.net.0.type = empty",
    // /etc/lxc/default.conf says `generated`, which this kernel (no AppArmor) cannot load.
    "lxc.apparmor.profile = unconfined",
    "lxc.autodev = 1",
    // systemd's clean shutdown.
    "lxc.signal.halt = SIGRTMIN+3",
    `lxc.mount.entry = ${image.wheels} ${WHEELS_IN_CONTAINER.slice(1)} none bind,ro,create=dir 0 0`,
  ];
  if (options.aptRepository ?? true) {
    lines.push(
      `lxc.mount.entry = ${image.repo} ${REPO_IN_CONTAINER.slice(1)} none bind,ro,create=dir 0 0`,
    );
  }
  if (options.docker) {
    lines.push(
      "lxc.cap.drop =",
      "lxc.mount.auto = cgroup:rw proc:rw sys:rw",
      "lxc.cgroup.devices.allow = a",
      "lxc.cgroup2.devices.allow = a",
      "lxc.seccomp.profile =",
    );
  }
  await Deno.writeTextFile(`${dir}/config`, lines.join("\n") + "\n");
}

/**
 * Starts the container directly with LXC and waits until systemd says the system is running.
 *
 * @param lab The lab.
 * @param ctid The CTID.
 */
export async function startDebian(lab: LxcLab, ctid: string): Promise<void> {
  await mustRun(["lxc-start", "-P", lab.lxcPath, "-n", lab.containerName(ctid)], {
    timeoutMs: 120_000,
  });
  await waitForSystemd(lab, ctid);
}

/**
 * Waits until the container's systemd has finished booting (`systemctl is-system-running
 * --wait`), however it was started (e.g. by `pct start`).
 *
 * @param lab The lab.
 * @param ctid The CTID.
 * @param timeoutMs How long to wait.
 * @throws {Error} When the boot does not finish in time, or ends degraded (naming the failed
 *   units).
 */
export async function waitForSystemd(lab: LxcLab, ctid: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // lxc-attach fails while init is still setting up its namespaces.
    const state = await lab.attach(ctid, ["systemctl", "is-system-running", "--wait"], {
      timeoutMs: Math.max(deadline - Date.now(), 1),
    });
    const said = state.stdout.trim();
    if (said === "running") return;
    if (said === "degraded") {
      const failed = await lab.attach(ctid, ["systemctl", "--failed", "--no-legend"]);
      throw new Error(`Container ${ctid} booted degraded: ${failed.stdout.trim()}`);
    }
    if (Date.now() > deadline) {
      throw new Error(`Container ${ctid}'s systemd did not finish booting: ${said}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * A systemd unit's properties inside the container (`systemctl show`).
 *
 * @param lab The lab.
 * @param ctid The CTID.
 * @param unit E.g. `vllm.service`.
 * @param properties E.g. `["ActiveState", "MainPID"]`.
 * @returns Property name → value.
 */
export async function unitProperties(
  lab: LxcLab,
  ctid: string,
  unit: string,
  properties: readonly string[],
): Promise<Record<string, string>> {
  const shown = await lab.attach(ctid, [
    "systemctl",
    "show",
    unit,
    `--property=${properties.join(",")}`,
  ]);
  if (shown.code !== 0) throw new Error(`systemctl show ${unit} exited ${shown.code}`);
  return Object.fromEntries(
    shown.stdout.trim().split("\n").map((line) => {
      const at = line.indexOf("=");
      return [line.slice(0, at), line.slice(at + 1)];
    }),
  );
}

/**
 * Runs a command inside the container (clean environment, pct's PATH) that must succeed.
 *
 * @returns Its standard output.
 * @throws {Error} With its exit code and output otherwise.
 */
export async function attachOutput(
  lab: LxcLab,
  ctid: string,
  argv: readonly string[],
): Promise<string> {
  const result = await lab.attach(ctid, argv, { timeoutMs: 120_000 });
  if (result.code !== 0) {
    throw new Error(
      `In container ${ctid}: ${
        argv.join(" ")
      } exited ${result.code}\n${result.stdout}${result.stderr}`,
    );
  }
  return result.stdout;
}
