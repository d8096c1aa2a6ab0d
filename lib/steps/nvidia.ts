/**
 * NVIDIA drivers: the host's kernel module (read under the host root, `PHOENIX_HOST_ROOT`) and
 * the container's user-space driver, which must be exactly the same version. A host without the
 * driver makes a GPU container fail early, with {@linkcode ExitCode.HostPrerequisite}.
 *
 * @module
 */

import { join } from "node:path";
import type { SetupContext, Step, Verification } from "../module/container_module.ts";
import { SetupError } from "../core/errors.ts";
import { ExitCode } from "../core/exit_codes.ts";
import { describeIoError } from "../core/io_errors.ts";

/** Where the loaded kernel module reports its version, relative to the host root. */
export const DRIVER_VERSION_FILE = "proc/driver/nvidia/version";

const VERSION_LINE = /^NVRM version:.*?\s(\d+\.\d+(?:\.\d+)?)\s/m;

/**
 * Parses the content of `/proc/driver/nvidia/version` into the driver version.
 *
 * @returns The version, or `undefined` when the text has no `NVRM version:` line with one.
 *
 * @example
 * ```ts
 * import { parseDriverVersion } from "./nvidia.ts";
 * parseDriverVersion(
 *   "NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.76.05  Thu Jul 24 18:36:23 UTC 2025\n",
 * ); // "580.76.05"
 * ```
 */
export function parseDriverVersion(text: string): string | undefined {
  return VERSION_LINE.exec(text)?.[1];
}

/**
 * The version of the NVIDIA kernel module loaded on the host, from
 * `<hostRoot>/proc/driver/nvidia/version`.
 *
 * @param hostRoot The host's root directory (`ctx.hostRoot`).
 * @throws {SetupError} With {@linkcode ExitCode.HostPrerequisite} when the file is missing (no
 *   driver loaded) or names no version.
 *
 * @example
 * ```ts ignore
 * await hostNvidiaDriverVersion("/"); // "580.76.05"
 * ```
 */
export async function hostNvidiaDriverVersion(hostRoot: string): Promise<string> {
  const path = join(hostRoot, DRIVER_VERSION_FILE);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw hostReadError(path, error);
    throw new SetupError(
      `The host has no NVIDIA driver loaded (${path} missing): install the NVIDIA driver on ` +
        "the Proxmox host first",
      ExitCode.HostPrerequisite,
    );
  }
  const version = parseDriverVersion(text);
  if (!version) {
    throw new SetupError(
      `Cannot read the host's NVIDIA driver version from ${path}: expected a line like ` +
        `"NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.76.05 ...", found ` +
        JSON.stringify(text.split("\n")[0]),
      ExitCode.HostPrerequisite,
    );
  }
  return version;
}

/** The device nodes other than the per-GPU `/dev/nvidia<N>`, in passthrough order. */
export const NVIDIA_CONTROL_DEVICES = [
  "/dev/nvidiactl",
  "/dev/nvidia-uvm",
  "/dev/nvidia-uvm-tools",
  "/dev/nvidia-modeset",
] as const;

/** A host file that exists but cannot be read: said in plain words, as a host problem. */
function hostReadError(path: string, error: unknown): SetupError {
  return new SetupError(
    `Cannot read ${path} on the host: ${describeIoError(error)}`,
    ExitCode.HostPrerequisite,
    { cause: error },
  );
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw hostReadError(path, error);
  }
}

/**
 * The NVIDIA device nodes present on the host: `/dev/nvidia<N>` in numeric order, then those of
 * {@linkcode NVIDIA_CONTROL_DEVICES} that exist. Paths are as the host (and the container) name
 * them, without `hostRoot`.
 *
 * @param hostRoot The host's root directory (`ctx.hostRoot`).
 *
 * @example
 * ```ts ignore
 * await hostNvidiaDevices("/"); // ["/dev/nvidia0", "/dev/nvidiactl", "/dev/nvidia-uvm", ...]
 * ```
 */
export async function hostNvidiaDevices(hostRoot: string): Promise<string[]> {
  const gpus: number[] = [];
  try {
    for await (const entry of Deno.readDir(join(hostRoot, "dev"))) {
      const match = /^nvidia(\d+)$/.exec(entry.name);
      if (match) gpus.push(Number(match[1]));
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw hostReadError(join(hostRoot, "dev"), error);
  }
  const devices = gpus.sort((a, b) => a - b).map((gpu) => `/dev/nvidia${gpu}`);
  for (const device of NVIDIA_CONTROL_DEVICES) {
    if (await exists(join(hostRoot, device))) devices.push(device);
  }
  return devices;
}

/** The `nvidia-smi` query for the driver version of each GPU. */
const QUERY_DRIVER_VERSION = [
  "nvidia-smi",
  "--query-gpu=driver_version",
  "--format=csv,noheader",
] as const;

/** The `nvidia-smi` query that lists the GPUs. */
const LIST_GPUS = ["nvidia-smi", "--query-gpu=index,name,driver_version", "--format=csv,noheader"];

/**
 * The user-space driver version `nvidia-smi` reports in the container (one per GPU, all equal
 * on a working system), or `undefined` with the reason when it cannot tell.
 */
export async function containerDriverVersions<S>(
  ctx: SetupContext<S>,
): Promise<{ versions: string[] } | { versions: undefined; problem: string }> {
  const result = await ctx.container.exec(QUERY_DRIVER_VERSION, { timeoutMs: 60_000 });
  if (result.exitCode !== 0) {
    const said = (result.stdout.trim() || result.stderr.trim()).split("\n").slice(0, 3)
      .map((line) => line.trim()).join("; ");
    return {
      versions: undefined,
      problem: `nvidia-smi failed with exit code ${result.exitCode}${said ? `: ${said}` : ""}`,
    };
  }
  const versions = result.stdout.split("\n").map((line) => line.trim()).filter(Boolean);
  if (versions.length === 0) return { versions: undefined, problem: "nvidia-smi lists no GPU" };
  return { versions };
}

/** What {@linkcode nvidiaUserspaceDriver} installs. */
export interface UserspaceDriverSpec<S> {
  /**
   * The version the config asks for (`nvidia_driver_version`). It must equal the host's kernel
   * module version; when omitted, the host's version is used.
   */
  readonly version?: string | ((ctx: SetupContext<S>) => string | undefined);
  /**
   * NVIDIA's `.run` installer (`nvidia_runfile_url`). `{version}` in it is replaced with the
   * version; without the placeholder the URL must name the version.
   */
  readonly runfileUrl: string | ((ctx: SetupContext<S>) => string);
}

/** The installer's options: user-space only, no questions, no UI. */
export const RUNFILE_OPTIONS = [
  "--no-kernel-module",
  "--silent",
  "--no-questions",
  "--ui=none",
] as const;

/**
 * The version to install: the host's, after making sure the config asks for the same.
 *
 * @throws {SetupError} {@linkcode ExitCode.HostPrerequisite} when the host has no driver or a
 *   different one than the config names.
 */
export async function wantedDriverVersion<S>(
  ctx: SetupContext<S>,
  version?: UserspaceDriverSpec<S>["version"],
): Promise<string> {
  const host = await hostNvidiaDriverVersion(ctx.hostRoot);
  const configured = typeof version === "function" ? version(ctx) : version;
  if (configured !== undefined && configured !== host) {
    throw new SetupError(
      `The config asks for NVIDIA driver ${configured}, but the host's kernel module is ${host}: ` +
        "the container's user-space driver must match the host's exactly; set " +
        `nvidia_driver_version (and nvidia_runfile_url) to ${host}, or install ${configured} on ` +
        "the host",
      ExitCode.HostPrerequisite,
    );
  }
  return host;
}

/**
 * A requirement rather than a change: the host has the NVIDIA driver loaded, and it is the
 * version the config asks for. Its check passes, or fails the run with
 * {@linkcode ExitCode.HostPrerequisite}; there is nothing for its action to do. Listed first, it
 * makes a GPU container fail before anything changed (and a dry run say so).
 *
 * @example
 * ```ts
 * import { nvidiaHostDriver } from "./nvidia.ts";
 * const step = nvidiaHostDriver<{ driverVersion: string }>({
 *   version: (ctx) => ctx.settings.driverVersion,
 * });
 * ```
 */
export function nvidiaHostDriver<S>(
  spec: Pick<UserspaceDriverSpec<S>, "version"> = {},
): Step<S> {
  return {
    name: "Check the host's NVIDIA driver",
    check: async (ctx) => {
      const version = await wantedDriverVersion(ctx, spec.version);
      ctx.log.info(`The host's NVIDIA driver is ${version}`);
      return true;
    },
    action: () => Promise.resolve(),
  };
}

/**
 * The runfile URL for `version`: `{version}` replaced, or the URL as given when it names the
 * version.
 *
 * @throws {Error} When the URL names neither the placeholder nor the version.
 */
export function runfileUrlFor(url: string, version: string): string {
  if (url.includes("{version}")) return url.replaceAll("{version}", version);
  if (!url.includes(version)) {
    throw new Error(
      `The NVIDIA runfile URL ${url} is not for driver ${version} (the host's version): ` +
        `set nvidia_runfile_url to the installer of ${version}`,
    );
  }
  return url;
}

/**
 * NVIDIA's user-space driver in the container, exactly the host's version. Check: every GPU
 * `nvidia-smi` lists reports the host's version (so the GPU devices must already be passed
 * through: put `gpuPassthrough` from `gpu.ts` first). Action: download the runfile into `/tmp`,
 * run it with {@linkcode RUNFILE_OPTIONS} (no kernel module: the host's is used), remove it.
 * Fails early with {@linkcode ExitCode.HostPrerequisite} when the host has no driver, or when
 * the configured version is not the host's.
 *
 * @example
 * ```ts
 * import { nvidiaUserspaceDriver } from "./nvidia.ts";
 * const step = nvidiaUserspaceDriver({
 *   version: "580.76.05",
 *   runfileUrl: "https://us.download.nvidia.com/XFree86/Linux-x86_64/{version}/NVIDIA-Linux-x86_64-{version}.run",
 * });
 * ```
 */
export function nvidiaUserspaceDriver<S>(spec: UserspaceDriverSpec<S>): Step<S> {
  return {
    name: "Install the NVIDIA user-space driver matching the host",
    probes: () => [QUERY_DRIVER_VERSION],
    check: async (ctx) => {
      const wanted = await wantedDriverVersion(ctx, spec.version);
      const found = await containerDriverVersions(ctx);
      return found.versions !== undefined && found.versions.every((v) => v === wanted);
    },
    action: async (ctx) => {
      const version = await wantedDriverVersion(ctx, spec.version);
      const template = typeof spec.runfileUrl === "function"
        ? spec.runfileUrl(ctx)
        : spec.runfileUrl;
      const url = runfileUrlFor(template, version);
      const runfile = `/tmp/NVIDIA-Linux-x86_64-${version}.run`;
      try {
        await ctx.container.run(["curl", "-fsSL", "--retry", "3", "-o", runfile, url], {
          timeoutMs: 30 * 60_000,
        });
        await ctx.container.run(["sh", runfile, ...RUNFILE_OPTIONS], { timeoutMs: 30 * 60_000 });
      } finally {
        await ctx.container.exec(["rm", "-f", runfile]);
      }
    },
  };
}

/**
 * A verification that `nvidia-smi` works in the container and lists at least one GPU (or
 * exactly `gpus` when given: a number, or a function of the context such as the count of
 * `gpu_assignment`).
 *
 * @example
 * ```ts
 * import { nvidiaSmiWorks } from "./nvidia.ts";
 * const verification = nvidiaSmiWorks({ gpus: 2 });
 * const fromSettings = nvidiaSmiWorks<{ gpus: number[] }>({
 *   gpus: (ctx) => ctx.settings.gpus.length,
 * });
 * ```
 */
export function nvidiaSmiWorks<S>(
  options: { readonly gpus?: number | ((ctx: SetupContext<S>) => number) } = {},
): Verification<S> {
  return {
    name: "nvidia-smi lists the GPUs",
    probes: () => [LIST_GPUS],
    run: async (ctx) => {
      const listed = await ctx.container.output(LIST_GPUS, { timeoutMs: 60_000 });
      const gpus = listed.split("\n").map((line) => line.trim()).filter(Boolean);
      if (gpus.length === 0) throw new Error("nvidia-smi lists no GPU");
      const wanted = typeof options.gpus === "function" ? options.gpus(ctx) : options.gpus;
      if (wanted !== undefined && gpus.length !== wanted) {
        throw new Error(
          `nvidia-smi lists ${gpus.length} GPU(s), expected ${wanted}: ${gpus.join("; ")}`,
        );
      }
      ctx.log.info(`GPUs in container ${ctx.ctid}: ${gpus.join("; ")}`);
    },
  };
}

/**
 * A verification that the container's user-space driver is the host kernel module's version;
 * the message says both versions when they differ.
 *
 * @example
 * ```ts
 * import { nvidiaVersionsMatch } from "./nvidia.ts";
 * const verification = nvidiaVersionsMatch();
 * ```
 */
export function nvidiaVersionsMatch<S>(): Verification<S> {
  return {
    name: "The container's NVIDIA driver matches the host's",
    probes: () => [QUERY_DRIVER_VERSION],
    run: async (ctx) => {
      const host = await hostNvidiaDriverVersion(ctx.hostRoot);
      const found = await containerDriverVersions(ctx);
      if (found.versions === undefined) {
        const mismatch = /version mismatch/i.test(found.problem)
          ? " (NVML reports a driver/library version mismatch)"
          : "";
        throw new Error(
          `Cannot read the NVIDIA driver version in container ${ctx.ctid}${mismatch}: ` +
            `${found.problem}; the host's kernel module is ${host}`,
        );
      }
      const other = found.versions.find((version) => version !== host);
      if (other !== undefined) {
        throw new Error(
          `Container ${ctx.ctid} has NVIDIA user-space driver ${other}, but the host's kernel ` +
            `module is ${host}: install the ${host} runfile with --no-kernel-module in the container`,
        );
      }
    },
  };
}
