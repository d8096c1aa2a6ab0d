/**
 * Running inside the container itself, as the newest orchestrator does
 * (`managers/lxc-manager.sh`: `pct push` the `application_script` into the container, then
 * `pct exec <CTID> -- /tmp/phoenix_run/<script> <CTID>`). There is no `pct` there: the commands a
 * run would send through `pct exec <CTID> --` run directly, and what only the host can do
 * (`pct config`, `pct set`, `pct shutdown`, `pct start`, `pct snapshot`) is refused.
 *
 * Detected, never assumed: no `pct` on `PATH`, and LXC's own mark on the machine: `container=lxc`
 * in init's environment (`/proc/1/environ`; LXC sets it for every container's init, Proxmox's
 * included) or systemd's `/run/systemd/container` saying `lxc`. Which container it is, is then
 * confirmed by its host name (`/etc/hostname`, which Proxmox writes from the entry's `name` at
 * every start; the kernel's host name when the file is missing), which must be the entry's
 * `name`: nothing inside an LXC container tells its CTID.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { type CommandRunner, displayCommand } from "../core/command_text.ts";
import { InvalidInputError } from "../core/errors.ts";
import { DEFAULT_PATH } from "./command_environment.ts";

/** The config file the newest orchestrator pushes beside the script in the container. */
export const PUSHED_CONFIG_NAME = "phoenix_lxc_configs.json";

async function isExecutableFile(path: string): Promise<boolean> {
  try {
    const info = await Deno.stat(path);
    return info.isFile && ((info.mode ?? 0) & 0o111) !== 0;
  } catch {
    return false;
  }
}

/** Whether an executable `pct` is on `path` (a `PATH` value). */
export async function pctOnPath(path: string): Promise<boolean> {
  for (const dir of path.split(":")) {
    if (dir !== "" && await isExecutableFile(join(dir, "pct"))) return true;
  }
  return false;
}

async function readOr(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch {
    return undefined;
  }
}

/**
 * Whether this run is inside an LXC container with no `pct`, and how that was told.
 *
 * @param env The caller's environment (its `PATH`).
 * @param root The machine's root (`PHOENIX_HOST_ROOT`; `/` outside tests).
 * @returns The evidence, for the log (`no pct on PATH; container=lxc in /proc/1/environ`), or
 *   `undefined`: `pct` is there, or nothing says this is an LXC container.
 */
export async function detectLocalContainer(
  env: Readonly<Record<string, string | undefined>>,
  root: string,
): Promise<string | undefined> {
  if (await pctOnPath(env.PATH || DEFAULT_PATH)) return undefined;
  const environ = await readOr(join(root, "proc/1/environ"));
  if (environ?.split("\0").includes("container=lxc")) {
    return "no pct on PATH; container=lxc in /proc/1/environ";
  }
  if ((await readOr(join(root, "run/systemd/container")))?.trim() === "lxc") {
    return "no pct on PATH; /run/systemd/container says lxc";
  }
  return undefined;
}

/**
 * The config file to read inside the container: `configured` (`LXC_CONFIG_FILE` or the default)
 * when it exists there; else the copy the newest orchestrator pushes beside the script, when it
 * is there (`pct exec` passes the host's `LXC_CONFIG_FILE`, a path the container lacks).
 *
 * @returns The file, and a sentence for the log when it is the pushed copy.
 */
export async function localConfigFile(
  configured: string,
  execPath: string,
): Promise<{ readonly file: string; readonly note?: string }> {
  if (await readOr(configured) !== undefined) return { file: configured };
  const pushed = join(dirname(execPath), PUSHED_CONFIG_NAME);
  if (pushed === configured || await readOr(pushed) === undefined) return { file: configured };
  return {
    file: pushed,
    note: `${configured} is not in the container; reading ${pushed}, the copy pushed beside ` +
      "the executable",
  };
}

/**
 * Confirms that the container this runs in is container `ctid`: its host name is the entry's
 * `name`.
 *
 * @returns The host name.
 * @throws {InvalidInputError} (exit 1) When the entry has no name or the host name differs.
 */
export async function confirmLocalContainer(
  ctid: string,
  entryName: string | undefined,
  root: string,
): Promise<string> {
  const file = (await readOr(join(root, "etc/hostname")))?.trim();
  const hostname = file || Deno.hostname();
  if (entryName === undefined) {
    throw new InvalidInputError(
      `Running inside an LXC container with no pct, but container ${ctid}'s entry has no ` +
        `"name" to confirm that this is container ${ctid} (its host name is ` +
        `${JSON.stringify(hostname)}): add the container's host name as "name" to the entry, ` +
        "or run this on the Proxmox host",
      { phase: "container check" },
    );
  }
  if (hostname !== entryName) {
    throw new InvalidInputError(
      `Running inside an LXC container with no pct whose host name is ` +
        `${JSON.stringify(hostname)}, but container ${ctid}'s entry names ` +
        `${JSON.stringify(entryName)}: this is not container ${ctid}. Run it inside container ` +
        `${ctid}, or on the Proxmox host, where pct is`,
      { phase: "container check" },
    );
  }
  return hostname;
}

/**
 * A runner for the `pct` client inside container `ctid`: `pct exec <ctid> -- argv` runs `argv`
 * here through `run`; `pct status <ctid>` (and `--verbose`, which a host run asks for the lock)
 * answers `running` with no lock (this runs in it); every other pct call fails, saying that only
 * the host can do it.
 */
export function localPct(run: CommandRunner, ctid: string): CommandRunner {
  return async (argv, options) => {
    const [, subcommand, target, separator, ...command] = argv;
    if (subcommand === "exec" && target === ctid && separator === "--") {
      return await run(command, options);
    }
    const answer = { argv, durationMs: 0, stdout: "", stderr: "", exitCode: 0 };
    const verbose = argv.length === 4 && argv[3] === "--verbose";
    if (subcommand === "status" && target === ctid && (argv.length === 3 || verbose)) {
      return { ...answer, stdout: "status: running\n" };
    }
    return {
      ...answer,
      exitCode: 1,
      stderr: `'${displayCommand(argv)}' is for the Proxmox host: there is no pct inside ` +
        `container ${ctid}`,
    };
  };
}

/** Where a run happens: on the host as documented, or inside the container itself. */
export interface Placement {
  /** Why this is a run inside the container (see {@linkcode detectLocalContainer}); else unset. */
  readonly inside?: string;
  /** The config file to read (see {@linkcode localConfigFile}). */
  readonly configFile: string;
  /** A sentence for the log when the config file is not the configured one. */
  readonly note?: string;
}

/**
 * Where this run happens, and the config file it reads there: the configured one on the host;
 * inside the container (the newest orchestrator), the one there or the copy pushed beside the
 * executable.
 */
export async function placementOf(
  env: Readonly<Record<string, string | undefined>>,
  settings: { readonly configFile: string; readonly hostRoot: string },
  execPath: string,
): Promise<Placement> {
  const inside = await detectLocalContainer(env, settings.hostRoot);
  if (!inside) return { configFile: settings.configFile };
  const local = await localConfigFile(settings.configFile, execPath);
  return { inside, configFile: local.file, ...(local.note && { note: local.note }) };
}
