/**
 * Debian/Ubuntu packages inside the container. `apt-get update` runs at most once per run (and
 * again only after an apt source changed), everything runs noninteractively, and a held dpkg lock
 * or a network failure is retried with exponential backoff.
 *
 * @module
 */

import type { CommandResult } from "../core/command_text.ts";
import type { SetupContext, Step } from "../module/container_module.ts";
import { fileInContainer } from "./files.ts";
import { failedWith, type RetryOptions, retryTransient } from "./_retry.ts";

export type { RetryOptions } from "./_retry.ts";

/** apt's output when a retry may succeed: another dpkg holds the lock, or the network failed. */
export const APT_TRANSIENT_ERRORS: readonly RegExp[] = [
  /Could not get lock/,
  /Unable to acquire the dpkg frontend lock/,
  /Temporary failure resolving/,
  /Failed to fetch/,
  /Could not connect to/,
  /Connection timed out/,
];

/**
 * apt's output when no retry can help although a pattern above matched: a `file:` source whose
 * directory is not there (`Failed to fetch file:/srv/repo/./Packages  File not found - ...`), as
 * when a local repository's mount is missing. Waiting does not make it appear.
 */
export const APT_PERMANENT_ERRORS: readonly RegExp[] = [
  /Failed to fetch file:\S*\s+File not found/,
];

const APT_GET = ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get"] as const;
const UPDATE_TIMEOUT_MS = 10 * 60_000;
const INSTALL_TIMEOUT_MS = 30 * 60_000;

/** Package names as dpkg accepts them, optionally with an architecture (`libc6:i386`). */
const PACKAGE = /^[a-z0-9][a-z0-9+.-]+(:[a-z0-9-]+)?$/;

/**
 * Runs of `apt-get update`, by the container a run works on (`ctx.container`, one per run): a
 * run updates the lists once, whichever of its features asks first.
 */
const updates = new WeakMap<object, Promise<void>>();

const isTransient = (result: CommandResult) =>
  failedWith(result, APT_TRANSIENT_ERRORS) && !failedWith(result, APT_PERMANENT_ERRORS);

/**
 * Runs `apt-get update` in the container unless this run (this `ctx.container`) already did since the
 * last {@linkcode markAptListsStale}. A failed update is not remembered, so the next caller tries
 * again.
 */
export function aptUpdateOnce<S>(ctx: SetupContext<S>, retry: RetryOptions = {}): Promise<void> {
  let update = updates.get(ctx.container);
  if (!update) {
    update = retryTransient(
      ctx,
      "apt-get update",
      () => ctx.container.exec([...APT_GET, "update"], { timeoutMs: UPDATE_TIMEOUT_MS }),
      isTransient,
      retry,
    ).then(() => {}, (error) => {
      updates.delete(ctx.container);
      throw error;
    });
    updates.set(ctx.container, update);
  }
  return update;
}

/** Makes the next {@linkcode aptUpdateOnce} of this run update again (an apt source changed). */
export function markAptListsStale<S>(ctx: SetupContext<S>): void {
  updates.delete(ctx.container);
}

/** Options of {@linkcode aptPackages}. */
export interface AptPackagesOptions extends RetryOptions {
  /** The step's name; default `Install <packages>`. */
  readonly name?: string;
}

function validatePackages(packages: readonly string[]): void {
  if (packages.length === 0) throw new TypeError("Cannot install an empty list of apt packages");
  for (const name of packages) {
    if (!PACKAGE.test(name)) {
      throw new TypeError(
        `Cannot use apt package name "${name}": expected a Debian package name such as "curl"`,
      );
    }
  }
}

/** The command {@linkcode aptPackagesInstalled} runs: the dpkg status of each package. */
export function dpkgQueryArgv(packages: readonly string[]): string[] {
  return ["dpkg-query", "-W", "-f=${Status}\\n", ...packages];
}

/**
 * Whether every package in `packages` is installed: `dpkg-query` reports
 * `install ok installed` for each. Read-only.
 */
export async function aptPackagesInstalled<S>(
  ctx: SetupContext<S>,
  packages: readonly string[],
): Promise<boolean> {
  const result = await ctx.container.exec(dpkgQueryArgv(packages));
  if (result.exitCode !== 0) return false;
  const states = result.stdout.split("\n").filter((line) => line !== "");
  return states.length >= packages.length &&
    states.every((state) => state === "install ok installed");
}

/**
 * Installs apt packages in the container. Check: `dpkg-query` says each is installed.
 * Action: `apt-get update` (once per run), then
 * `apt-get install -y --no-install-recommends <packages>`, both with
 * `DEBIAN_FRONTEND=noninteractive` and retried on lock and network errors.
 *
 * @param packages Debian package names.
 * @param options Step name and retry behaviour (attempts, backoff, injectable clock).
 * @returns The step.
 *
 * @example
 * ```ts
 * import { aptPackages } from "./apt.ts";
 * const step = aptPackages(["curl", "jq"]);
 * ```
 */
export function aptPackages<S>(
  packages: readonly string[],
  options: AptPackagesOptions = {},
): Step<S> {
  validatePackages(packages);
  const list = [...packages];
  return {
    name: options.name ?? `Install ${list.join(", ")}`,
    check: (ctx) => aptPackagesInstalled(ctx, list),
    probes: () => [dpkgQueryArgv(list)],
    action: async (ctx) => {
      await aptUpdateOnce(ctx, options);
      await retryTransient(
        ctx,
        `apt-get install ${list.join(" ")}`,
        () =>
          ctx.container.exec([...APT_GET, "install", "-y", "--no-install-recommends", ...list], {
            timeoutMs: INSTALL_TIMEOUT_MS,
          }),
        isTransient,
        options,
      );
    },
  };
}

/** Where {@linkcode aptUpgrade} records that it upgraded the container after an update. */
export const APT_UPGRADE_STAMP = "/var/lib/phoenix-setup/apt-upgraded";

/**
 * Upgrades every installed package. Check: this library upgraded the container before (its
 * stamp file exists) and `apt-get -s upgrade` against the current lists would install nothing.
 * The stamp matters because a fresh container's lists may be empty or stale, in which case the
 * simulation alone would find nothing to do. Action: `apt-get update` (once per run), then
 * `apt-get -y upgrade` keeping changed config files, then the stamp.
 *
 * @example
 * ```ts
 * import { aptUpgrade } from "./apt.ts";
 * const step = aptUpgrade();
 * ```
 */
export function aptUpgrade<S>(options: AptPackagesOptions = {}): Step<S> {
  const stamped = ["test", "-e", APT_UPGRADE_STAMP];
  const simulate = ["env", "LC_ALL=C", "apt-get", "-s", "-o", "Debug::NoLocking=1", "upgrade"];
  return {
    name: options.name ?? "Upgrade the installed packages",
    probes: () => [stamped, simulate],
    check: async (ctx) => {
      if (!(await ctx.container.succeeds(stamped))) return false;
      const simulation = await ctx.container.exec(simulate, { timeoutMs: UPDATE_TIMEOUT_MS });
      return simulation.exitCode === 0 && !/^Inst /m.test(simulation.stdout);
    },
    action: async (ctx) => {
      await aptUpdateOnce(ctx, options);
      await retryTransient(
        ctx,
        "apt-get upgrade",
        () =>
          ctx.container.exec([
            ...APT_GET,
            "-y",
            "-o",
            "Dpkg::Options::=--force-confdef",
            "-o",
            "Dpkg::Options::=--force-confold",
            "upgrade",
          ], { timeoutMs: INSTALL_TIMEOUT_MS }),
        isTransient,
        options,
      );
      await ctx.container.run(["mkdir", "-p", "/var/lib/phoenix-setup"]);
      await ctx.container.run(["touch", APT_UPGRADE_STAMP]);
    },
  };
}

/**
 * An apt source file (e.g. `/etc/apt/sources.list.d/nvidia-container-toolkit.list`): written
 * like {@linkcode fileInContainer}, and when it changes, the next package step of the run
 * updates the lists again.
 *
 * @example
 * ```ts
 * import { aptSourceFile } from "./apt.ts";
 * const step = aptSourceFile({
 *   path: "/etc/apt/sources.list.d/example.list",
 *   content: "deb [signed-by=/etc/apt/keyrings/example.asc] https://example.org/apt stable main\n",
 * });
 * ```
 */
export function aptSourceFile<S>(
  spec: { readonly path: string; readonly content: string | ((ctx: SetupContext<S>) => string) },
): Step<S> {
  return fileInContainer<S>({
    ...spec,
    name: `Add the apt source ${spec.path}`,
    onChange: (ctx) => Promise.resolve(markAptListsStale(ctx)),
  });
}
