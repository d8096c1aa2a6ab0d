/**
 * GPU passthrough through Proxmox's own device entries (`pct set <CTID> --devN /dev/nvidiaX`),
 * never raw `lxc.*` lines: the container config is read first and only what differs changes.
 *
 * @module
 */

import { join } from "node:path";
import type { SetupContext, Step } from "../module/container_module.ts";
import { SetupError } from "../core/errors.ts";
import { ExitCode } from "../core/exit_codes.ts";
import { markStarted, markStopped } from "../host/power_state.ts";
import { hostNvidiaDevices, hostNvidiaDriverVersion } from "./nvidia.ts";

/**
 * The device path of a `devN` value: `/dev/nvidia0` from `/dev/nvidia0,gid=44` or from
 * `path=/dev/nvidia0,mode=0666`.
 *
 * @example
 * ```ts
 * import { devicePath } from "./gpu.ts";
 * devicePath("/dev/nvidia0,gid=44"); // "/dev/nvidia0"
 * ```
 */
export function devicePath(value: string): string | undefined {
  const items = value.split(",").map((item) => item.trim());
  const named = items.find((item) => item.startsWith("path="));
  return named ? named.slice("path=".length) : items.find((item) => !item.includes("="));
}

/** The `devN` entries of a parsed `pct config`: key → device path. */
export function deviceEntries(config: Map<string, string[]>): Map<string, string> {
  const entries = new Map<string, string>();
  for (const [key, values] of config) {
    const path = /^dev\d+$/.test(key) ? devicePath(values[0] ?? "") : undefined;
    if (path) entries.set(key, path);
  }
  return entries;
}

/** What has to change in the config so that exactly the wanted GPUs are passed through. */
export interface PassthroughPlan {
  /** New entries, e.g. `{ dev2: "/dev/nvidia1" }`. */
  readonly add: Record<string, string>;
  /** Entries of GPUs not assigned to this container, e.g. `["dev3"]`. */
  readonly remove: string[];
}

/**
 * Plans the config change: every device in `needed` without an entry gets the lowest free
 * `devN`; entries of `/dev/nvidia<N>` not in `needed` are removed. Other entries stay.
 */
export function planPassthrough(
  entries: ReadonlyMap<string, string>,
  needed: readonly string[],
): PassthroughPlan {
  const present = new Set(entries.values());
  const remove = [...entries].filter(([, path]) =>
    /^\/dev\/nvidia\d+$/.test(path) && !needed.includes(path)
  ).map(([key]) => key);
  const used = new Set(entries.keys());
  const add: Record<string, string> = {};
  let n = 0;
  for (const device of needed) {
    if (present.has(device)) continue;
    while (used.has(`dev${n}`)) n++;
    add[`dev${n}`] = device;
    used.add(`dev${n}`);
  }
  return { add, remove };
}

/**
 * The device nodes the GPUs `indices` need: `/dev/nvidia<i>` for each, `/dev/nvidiactl`,
 * `/dev/nvidia-uvm`, `/dev/nvidia-uvm-tools`, and `/dev/nvidia-modeset` when the host has it.
 * Fails early when the host lacks the driver or one of the nodes.
 *
 * @throws {SetupError} With {@linkcode ExitCode.HostPrerequisite}, naming what is missing.
 */
export async function neededGpuDevices(
  hostRoot: string,
  indices: readonly number[],
): Promise<string[]> {
  if (indices.length === 0) {
    throw new RangeError("Cannot pass through GPUs: no GPU indices were given");
  }
  for (const index of indices) {
    if (!Number.isInteger(index) || index < 0) {
      throw new RangeError(`Cannot pass through GPU ${index}: expected an index such as 0`);
    }
  }
  await hostNvidiaDriverVersion(hostRoot);
  const present = await hostNvidiaDevices(hostRoot);
  const needed = [
    ...[...new Set(indices)].map((index) => `/dev/nvidia${index}`),
    "/dev/nvidiactl",
    "/dev/nvidia-uvm",
    "/dev/nvidia-uvm-tools",
  ];
  const missing = needed.filter((device) => !present.includes(device));
  if (missing.length > 0) {
    throw new SetupError(
      `The host lacks ${missing.map((d) => join(hostRoot, d)).join(", ")}, needed to pass ` +
        `GPU ${indices.join(", ")} through: check the GPU index in gpu_assignment against ` +
        '"nvidia-smi -L" on the host; /dev/nvidia-uvm* appear after "nvidia-modprobe -u -c=0" ' +
        "(or any CUDA program) runs on the host",
      ExitCode.HostPrerequisite,
    );
  }
  if (present.includes("/dev/nvidia-modeset")) needed.push("/dev/nvidia-modeset");
  return needed;
}

/** Options of {@linkcode gpuPassthrough}. */
export interface GpuPassthroughOptions {
  /** Seconds a clean shutdown may take when the container must restart. Default 60. */
  readonly shutdownTimeoutSeconds?: number;
}

/**
 * The NVIDIA GPUs `indices` (from `gpu_assignment`) passed through to the container with
 * Proxmox `devN` entries. Check: the host has the driver and the device nodes (else a
 * {@linkcode SetupError} with {@linkcode ExitCode.HostPrerequisite}), and `pct config` has a
 * `devN` entry for each needed node and none for a GPU not assigned. Action: one `pct set` adding
 * the missing entries at free `devN` and deleting the others; when the container was running,
 * it is restarted, because Proxmox applies device changes to a running container only at its
 * next start.
 *
 * @param indices The GPU indices, or a function of the context giving them.
 *
 * @example
 * ```ts
 * import { gpuPassthrough } from "./gpu.ts";
 * const step = gpuPassthrough<{ gpus: number[] }>((ctx) => ctx.settings.gpus);
 * ```
 */
export function gpuPassthrough<S>(
  indices: readonly number[] | ((ctx: SetupContext<S>) => readonly number[]),
  options: GpuPassthroughOptions = {},
): Step<S> {
  const indicesOf = (ctx: SetupContext<S>) =>
    typeof indices === "function" ? indices(ctx) : indices;
  const plan = async (ctx: SetupContext<S>) => {
    const needed = await neededGpuDevices(ctx.hostRoot, indicesOf(ctx));
    return planPassthrough(deviceEntries(await ctx.pct.config(ctx.ctid)), needed);
  };
  return {
    name: "Pass the assigned NVIDIA GPUs through",
    hostSide: "device passthrough",
    check: async (ctx) => {
      const { add, remove } = await plan(ctx);
      return Object.keys(add).length === 0 && remove.length === 0;
    },
    action: async (ctx) => {
      const { add, remove } = await plan(ctx);
      if (Object.keys(add).length === 0 && remove.length === 0) return;
      const wasRunning = (await ctx.pct.status(ctx.ctid)) === "running";
      await ctx.pct.set(ctx.ctid, {
        ...add,
        ...(remove.length > 0 && { delete: remove.join(",") }),
      });
      ctx.log.info(
        `Container ${ctx.ctid}: passed through ${
          Object.values(add).join(", ") || "no new device"
        }` +
          (remove.length > 0 ? `; removed ${remove.join(", ")}` : ""),
      );
      if (wasRunning) await restartForDevices(ctx, options.shutdownTimeoutSeconds ?? 60);
    },
  };
}

/**
 * The one place a step restarts the container: Proxmox records `devN` changes on a running
 * container but creates the device nodes inside only when it starts, so the container is shut
 * down cleanly and started again.
 */
async function restartForDevices<S>(ctx: SetupContext<S>, timeoutSeconds: number): Promise<void> {
  ctx.log.info(`Restarting container ${ctx.ctid} so that its new devices appear inside`);
  try {
    // Recorded before the shutdown is sent, so that a failure or a signal from here on starts it
    // again (restoring looks at its real state first).
    markStopped(ctx.power);
    await ctx.pct.shutdown(ctx.ctid, { timeoutSeconds });
    await ctx.pct.start(ctx.ctid);
    markStarted(ctx.power);
  } catch (error) {
    throw new SetupError(
      `Cannot restart container ${ctx.ctid} after changing its devices: ${
        (error as Error).message
      }`,
      ExitCode.Lifecycle,
      { cause: error },
    );
  }
}
