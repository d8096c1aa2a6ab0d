/**
 * systemd units inside the container: the unit file (written only when it differs, then
 * `daemon-reload`, and a restart of a running service so the change takes effect) and the
 * service enabled and running.
 *
 * @module
 */

import type { SetupContext, Step } from "../module/container_module.ts";
import { fileIsCurrent, fileIsCurrentProbes, writeFileInContainer } from "./files.ts";

const UNIT_NAME = /^[A-Za-z0-9:_.@-]+\.(service|socket|timer|target|path|mount)$/;

function validateUnitName(name: string): void {
  if (!UNIT_NAME.test(name)) {
    throw new TypeError(
      `Cannot use systemd unit name "${name}": expected a name with its type, e.g. "vllm.service"`,
    );
  }
}

/**
 * Restarts `unit` when it is active, so a changed unit or configuration takes effect; leaves a
 * stopped unit alone. Meant for `onChange` of files the service reads.
 *
 * @example
 * ```ts
 * import { fileInContainer } from "./files.ts";
 * import { restartIfActive } from "./systemd.ts";
 * const step = fileInContainer({
 *   path: "/etc/vllm/env",
 *   content: "VLLM_LOGGING_LEVEL=INFO\n",
 *   onChange: (ctx) => restartIfActive(ctx, "vllm.service"),
 * });
 * ```
 */
export async function restartIfActive<S>(ctx: SetupContext<S>, unit: string): Promise<void> {
  validateUnitName(unit);
  if (await ctx.container.succeeds(["systemctl", "is-active", "--quiet", unit])) {
    ctx.log.info(`Restarting ${unit} in container ${ctx.ctid}: its configuration changed`);
    await ctx.container.run(["systemctl", "restart", unit], { timeoutMs: 300_000 });
  }
}

/** A systemd unit file for {@linkcode systemdUnit}. */
export interface UnitSpec<S> {
  /** The unit's name with its type, e.g. `vllm.service`; written to `/etc/systemd/system/`. */
  readonly name: string;
  /** The unit file's text, fixed or derived from the settings. */
  readonly content: string | ((ctx: SetupContext<S>) => string);
}

/**
 * The unit file `/etc/systemd/system/<name>`, loaded by systemd. Check: the file holds the
 * content (mode 0644) and systemd does not report `NeedDaemonReload=yes` for it. Action: write
 * it when it differs, `systemctl daemon-reload`, and `systemctl restart` when the service is
 * active. So a service restarts only when its unit changed.
 *
 * @example
 * ```ts
 * import { systemdUnit } from "./systemd.ts";
 * const step = systemdUnit({
 *   name: "hello.service",
 *   content: "[Service]\nExecStart=/bin/sleep infinity\n[Install]\nWantedBy=multi-user.target\n",
 * });
 * ```
 */
export function systemdUnit<S>(spec: UnitSpec<S>): Step<S> {
  validateUnitName(spec.name);
  const path = `/etc/systemd/system/${spec.name}`;
  const contentOf = (ctx: SetupContext<S>) =>
    typeof spec.content === "string" ? spec.content : spec.content(ctx);
  const needsReload = ["systemctl", "show", "--property=NeedDaemonReload", "--value", spec.name];
  const loaded = async (ctx: SetupContext<S>) => {
    const result = await ctx.container.exec(needsReload);
    return result.exitCode === 0 && result.stdout.trim() === "no";
  };
  return {
    name: `Install the systemd unit ${spec.name}`,
    probes: () => [...fileIsCurrentProbes(path), needsReload],
    check: async (ctx) =>
      await fileIsCurrent(ctx, path, contentOf(ctx), "0644") && await loaded(ctx),
    action: async (ctx) => {
      const content = contentOf(ctx);
      if (!(await fileIsCurrent(ctx, path, content, "0644"))) {
        await writeFileInContainer(ctx, path, content, "0644");
      }
      await ctx.container.run(["systemctl", "daemon-reload"]);
      await restartIfActive(ctx, spec.name);
    },
  };
}

/**
 * The service `name` enabled at boot and running. Check: `systemctl is-enabled --quiet` and
 * `systemctl is-active --quiet`; action: `systemctl enable --now`.
 *
 * @example
 * ```ts
 * import { serviceEnabledAndRunning } from "./systemd.ts";
 * const step = serviceEnabledAndRunning("docker.service");
 * ```
 */
export function serviceEnabledAndRunning<S>(name: string): Step<S> {
  validateUnitName(name);
  const enabled = ["systemctl", "is-enabled", "--quiet", name];
  const active = ["systemctl", "is-active", "--quiet", name];
  return {
    name: `Enable and start ${name}`,
    probes: () => [enabled, active],
    check: async (ctx) =>
      await ctx.container.succeeds(enabled) && await ctx.container.succeeds(active),
    action: async (ctx) => {
      await ctx.container.run(["systemctl", "enable", "--now", name], { timeoutMs: 300_000 });
    },
  };
}
