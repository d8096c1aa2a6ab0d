/**
 * The real-Debian tier's image: a Debian 12 (bookworm) base rootfs, a local apt repository with
 * what the shipped containers install that the base lacks, and a pip find-links directory with a
 * stub `vllm` wheel. Built once by `./build_image.sh` and cached outside the clone, keyed by the
 * recipe's content, so it survives between runs and CI's empty HOME.
 *
 * A cache entry is complete only when its `COMPLETE` marker names the recipe key and every file
 * matches `SHA256SUMS`; anything else (a killed build, a truncated file) is removed and rebuilt.
 * A build goes into a temporary directory that is renamed into place when complete, under an
 * exclusive lock, so concurrent test processes build it once.
 *
 * @module
 */

import { BASE_PACKAGES as BASE_SETUP_PACKAGES } from "../../../lib/catalog/features/base_setup.ts";
import { run } from "../../support/commands.ts";

/** Where cached images live unless `PHOENIX_TEST_CACHE` says otherwise: not under HOME. */
export const DEFAULT_CACHE_ROOT = "/var/cache/phoenix-setup-tests";

/**
 * What the base holds beyond debootstrap's minbase: roughly a Proxmox debian-12-standard
 * template (systemd, python3, curl, locales, CA certificates). Not 900's other tools, not
 * python3-venv/pip, no generated locale: those are what the executables must install.
 */
export const BASE_PACKAGES: readonly string[] = [
  "systemd",
  "systemd-sysv",
  "dbus",
  "iproute2",
  "procps",
  "python3",
  "curl",
  "ca-certificates",
  "locales",
];

/**
 * What the shipped containers install (900's tools, 920's Python, 902's Docker Engine): the
 * local repository holds these and their dependencies, minus what the base has.
 */
export const REPOSITORY_PACKAGES: readonly string[] = [
  ...BASE_SETUP_PACKAGES,
  "python3-venv",
  "python3-pip",
  "docker.io",
];

/** Tools the build needs on the host. */
export const BUILD_TOOLS: readonly string[] = [
  "debootstrap",
  "apt-ftparchive",
  "zstd",
  "tar",
  "chroot",
  "sha256sum",
];

const BUILD_SCRIPT = new URL("./build_image.sh", import.meta.url).pathname;
const WHEEL_SCRIPT = new URL("./vllm_stub_wheel.py", import.meta.url).pathname;

/** A complete cached image. */
export interface DebianImage {
  /** The cache entry's directory. */
  readonly dir: string;
  /** The base rootfs, a zstd tarball (numeric owners, xattrs). */
  readonly rootfsTarball: string;
  /** The apt repository (`Packages`, `Release`, the `.deb` files). */
  readonly repo: string;
  /** The pip find-links directory with the stub `vllm` wheel. */
  readonly wheels: string;
  /** Whether this call built it (false: taken from the cache). */
  readonly built: boolean;
  /** Milliseconds spent building or validating it. */
  readonly durationMs: number;
}

/**
 * The Debian archive to bootstrap from: the first `URIs:` of the host's deb822 source for
 * bookworm (not the security archive), else the first `deb` line of `/etc/apt/sources.list`.
 * Read at run time, never written into the code.
 *
 * @throws {Error} When the host names no Debian archive.
 */
export async function hostDebianMirror(etc = "/etc/apt"): Promise<string> {
  const deb822 = await Deno.readTextFile(`${etc}/sources.list.d/debian.sources`).catch(() => "");
  for (const stanza of deb822.split(/\n\s*\n/)) {
    const uris = /^URIs:\s*(\S+)/m.exec(stanza)?.[1];
    const suites = /^Suites:\s*(.+)$/m.exec(stanza)?.[1]?.split(/\s+/) ?? [];
    if (uris && suites.includes("bookworm")) return uris;
  }
  const list = await Deno.readTextFile(`${etc}/sources.list`).catch(() => "");
  const line = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+bookworm\s/m.exec(list);
  if (line) return line[1];
  throw new Error(
    `Cannot find a Debian bookworm archive in ${etc}/sources.list.d/debian.sources or ` +
      `${etc}/sources.list to bootstrap the test image from`,
  );
}

/**
 * The recipe's key: a digest of the build script, the stub wheel's source and the package lists.
 * Changing any of them makes a new cache entry.
 */
export async function recipeKey(): Promise<string> {
  const recipe = [
    await Deno.readTextFile(BUILD_SCRIPT),
    await Deno.readTextFile(WHEEL_SCRIPT),
    BASE_PACKAGES.join(","),
    REPOSITORY_PACKAGES.join(","),
  ].join("\0");
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(recipe));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("")
    .slice(0, 16);
}

let cached: Promise<DebianImage> | undefined;

/**
 * The image, from the cache or built now (about two minutes), once per process.
 *
 * @param cacheRoot Where cache entries live; default `PHOENIX_TEST_CACHE` or
 *   {@linkcode DEFAULT_CACHE_ROOT}.
 * @returns The complete image.
 * @throws {Error} When the build fails (with the tail of its output).
 */
export function debianImage(cacheRoot?: string): Promise<DebianImage> {
  cached ??= ensureImage(
    cacheRoot ?? Deno.env.get("PHOENIX_TEST_CACHE") ?? DEFAULT_CACHE_ROOT,
  );
  return cached;
}

/**
 * Returns the cache entry for the current recipe under `cacheRoot`, building it unless it is
 * complete and intact.
 *
 * @param cacheRoot The cache's directory (created when missing).
 * @param build Builds an image into an empty directory; the default runs `./build_image.sh`.
 */
export async function ensureImage(
  cacheRoot: string,
  build: (outDir: string) => Promise<void> = buildImage,
): Promise<DebianImage> {
  const started = performance.now();
  const key = await recipeKey();
  const name = `debian-12-${key}`;
  const dir = `${cacheRoot}/${name}`;
  await Deno.mkdir(cacheRoot, { recursive: true });
  // Exclusive: one process builds, the others wait and then find it complete.
  const lock = await Deno.open(`${cacheRoot}/${name}.lock`, { create: true, write: true });
  try {
    await lock.lock(true);
    let built = false;
    if (!(await isComplete(dir, key))) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      // Leftovers of builds that were killed: whoever held the lock then is gone.
      for await (const entry of Deno.readDir(cacheRoot)) {
        if (entry.name.startsWith(`.tmp-${name}-`)) {
          await Deno.remove(`${cacheRoot}/${entry.name}`, { recursive: true }).catch(() => {});
        }
      }
      const tmp = await Deno.makeTempDir({ dir: cacheRoot, prefix: `.tmp-${name}-` });
      try {
        await build(tmp);
        await Deno.writeTextFile(`${tmp}/COMPLETE`, `${key}\n`);
        if (!(await isComplete(tmp, key))) {
          throw new Error(`The image built in ${tmp} fails its own checksums`);
        }
        await Deno.rename(tmp, dir);
      } catch (error) {
        await Deno.remove(tmp, { recursive: true }).catch(() => {});
        throw error;
      }
      built = true;
    }
    return {
      dir,
      rootfsTarball: `${dir}/rootfs.tar.zst`,
      repo: `${dir}/repo`,
      wheels: `${dir}/wheels`,
      built,
      durationMs: performance.now() - started,
    };
  } finally {
    lock.close();
  }
}

/** Whether `dir` is a complete entry for `key`: its marker names it and every checksum holds. */
async function isComplete(dir: string, key: string): Promise<boolean> {
  const marker = await Deno.readTextFile(`${dir}/COMPLETE`).catch(() => "");
  if (marker.trim() !== key) return false;
  const sums = await Deno.readTextFile(`${dir}/SHA256SUMS`).catch(() => "");
  // An empty list would check nothing.
  if (!/ rootfs\.tar\.zst$/m.test(sums) || !/ wheels\/\S+\.whl$/m.test(sums)) return false;
  const check = await run(["sha256sum", "--check", "--quiet", "--strict", "SHA256SUMS"], {
    cwd: dir,
    timeoutMs: 120_000,
  });
  return check.code === 0;
}

/** Runs `./build_image.sh` into `outDir` with the host's Debian archive. */
async function buildImage(outDir: string): Promise<void> {
  const result = await run([
    BUILD_SCRIPT,
    outDir,
    await hostDebianMirror(),
    BASE_PACKAGES.join(","),
    REPOSITORY_PACKAGES.join(","),
  ], { timeoutMs: 30 * 60_000 });
  if (result.code !== 0) {
    const tail = `${result.stdout}${result.stderr}`.trim().split("\n").slice(-20).join("\n");
    throw new Error(
      `Cannot build the Debian test image: build_image.sh exited ${result.code}\n${tail}`,
    );
  }
}
