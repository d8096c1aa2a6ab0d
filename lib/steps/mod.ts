/**
 * The step library: idempotent steps (a read-only `check` and an `action`) and verifications
 * that container modules list in their runbook. Every command is an argv array run inside the
 * container through `pct exec`; shell is used only through `runScript`, with values as
 * positional parameters.
 *
 * @example
 * ```ts
 * import { aptPackages, fileInContainer, serviceEnabledAndRunning } from "./mod.ts";
 * const steps = [
 *   aptPackages(["nginx"]),
 *   fileInContainer({ path: "/var/www/html/index.html", content: "hello\n" }),
 *   serviceEnabledAndRunning("nginx.service"),
 * ];
 * ```
 *
 * @module
 */

export * from "./apt.ts";
export * from "./commands.ts";
export * from "./docker.ts";
export * from "./files.ts";
export * from "./gpu.ts";
export * from "./locale.ts";
export * from "./nvidia.ts";
export * from "./probes.ts";
export * from "./python.ts";
export * from "./systemd.ts";
