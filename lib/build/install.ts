/**
 * Installing the built executables into the directory the orchestrator runs them from
 * (`--install`), and, on request, the names older generations of the orchestrator look for, as
 * links to them.
 *
 * Nothing is compiled before {@linkcode checkInstall} has passed: the directory exists or can be
 * created, can be written, and holds no file of an installed name that this build did not make
 * (recognised by {@linkcode isOurExecutable}) unless the caller allows replacing them; then each
 * replaced file is kept beside it as `<name>.before-phoenix-setup`.
 *
 * @module
 */

import { basename, dirname, join, resolve } from "node:path";
import { executableNameFor, lxcScriptNameFor } from "../core/ctid.ts";
import { atomicWrite } from "../core/atomic_write.ts";
import { describeIoError } from "../core/io_errors.ts";
import { isOurExecutable } from "./marker.ts";

/** What a file replaced but not made by this build is renamed to: its name plus this. */
export const BACKUP_SUFFIX = ".before-phoenix-setup";

/** One name `--install` puts into the directory. */
export interface InstallItem {
  readonly ctid: string;
  /** The file's name in the directory. */
  readonly name: string;
  /** For a link: the executable it leads to, a name in the same directory; else a copy. */
  readonly linkTo?: string;
  /** Who looks for a link's name, said when it is installed. */
  readonly why?: string;
}

/** What `--install` will put where, and the names it will not install, each with why. */
export interface InstallPlan {
  readonly dir: string;
  /** The executables first, then the links. */
  readonly items: readonly InstallItem[];
  /** One line per name left out, saying why. */
  readonly notInstalled: readonly string[];
}

/** Which names besides `phoenix_hypervisor_setup_<CTID>.sh` to install. */
export interface InstallChoices {
  /** Also `phoenix_hypervisor_lxc_<CTID>.sh` (the 2025-09-01 generation). */
  readonly lxcNames?: boolean;
  /**
   * Also each built entry's own `application_script` (the 2025-09-07 generation): every entry
   * of the config file (built or not), by CTID, with its `application_script` if it has one.
   */
  readonly applicationScripts?: ReadonlyMap<string, string | undefined>;
}

/** `--install` cannot go ahead; the message says why and what to do, in plain words. */
export class InstallError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "InstallError";
  }
}

/**
 * What installing the executables of `ctids` into `dir` puts there. An `application_script`
 * name is installed only when it belongs to its entry alone: a name that another entry of the
 * config also gives, or that is another entry's own executable name (either generation's), is
 * left out with a line saying whose it is, since one executable sets up one container.
 *
 * @example
 * ```ts
 * import { planInstall } from "./install.ts";
 * const scripts = new Map([
 *   ["950", "phoenix_hypervisor_lxc_950.sh"],
 *   ["910", "vllm.sh"],
 *   ["912", "vllm.sh"],
 * ]);
 * const plan = planInstall("/bin", ["950", "910"], { applicationScripts: scripts });
 * plan.items.map((item) => item.name);
 * // ["phoenix_hypervisor_setup_950.sh", "phoenix_hypervisor_setup_910.sh", "phoenix_hypervisor_lxc_950.sh"]
 * plan.notInstalled[0]; // "vllm.sh: not installed for container 910: it is the application_script or executable name of containers 910, 912, ..."
 * ```
 */
export function planInstall(
  dir: string,
  ctids: readonly string[],
  choices: InstallChoices = {},
): InstallPlan {
  const items: InstallItem[] = ctids.map((ctid) => ({ ctid, name: executableNameFor(ctid) }));
  const notInstalled: string[] = [];
  const link = (ctid: string, name: string, why: string) => {
    if (items.some((item) => item.name === name && item.ctid === ctid)) return;
    items.push({ ctid, name, linkTo: executableNameFor(ctid), why });
  };
  if (choices.lxcNames) {
    for (const ctid of ctids) {
      link(ctid, lxcScriptNameFor(ctid), "the 2025-09-01 generation's name");
    }
  }
  const scripts = choices.applicationScripts;
  if (scripts) {
    // Whose each name is: every entry's own names, and the application_script it gives.
    const owners = new Map<string, Set<string>>();
    for (const ctid of new Set([...scripts.keys(), ...ctids])) {
      const names = [executableNameFor(ctid), lxcScriptNameFor(ctid), scripts.get(ctid)];
      for (const name of names) {
        if (name !== undefined) owners.set(name, (owners.get(name) ?? new Set()).add(ctid));
      }
    }
    for (const ctid of ctids) {
      const script = scripts.get(ctid);
      if (script === undefined) continue;
      const sharers = [...owners.get(script)!].sort((a, b) => Number(a) - Number(b));
      if (basename(script) !== script || script === "." || script === "..") {
        notInstalled.push(
          `${script}: not installed for container ${ctid}: its application_script is not a ` +
            "file name",
        );
      } else if (sharers.length > 1) {
        notInstalled.push(
          `${script}: not installed for container ${ctid}: it is the application_script or ` +
            `executable name of containers ${sharers.join(", ")}, and an executable sets up ` +
            "one container only",
        );
      } else {
        link(ctid, script, "the application_script of its entry, for the 2025-09-07 generation");
      }
    }
  }
  return { dir, items, notInstalled };
}

/** What is at an item's name in the directory now. */
export type Found = "nothing" | "ours" | "foreign";

/**
 * Checks that `plan` can be installed, before anything is built: the directory exists or can be
 * created (the nearest existing one is a directory that can be written: a file is created and
 * removed there), and every file already at an installed name was made by this build, or
 * `replaceForeign` allows replacing it. Returns what is at each name.
 *
 * @throws {InstallError} Saying what is wrong and what to do.
 */
export async function checkInstall(
  plan: InstallPlan,
  replaceForeign: boolean,
): Promise<Map<string, Found>> {
  const dir = resolve(plan.dir);
  await checkDirectory(dir);
  const found = new Map<string, Found>();
  const foreign: string[] = [];
  for (const item of plan.items) {
    const path = join(dir, item.name);
    let info: Deno.FileInfo;
    try {
      info = await Deno.lstat(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        found.set(item.name, "nothing");
        continue;
      }
      if (error instanceof Deno.errors.NotADirectory) throw notADirectory(dir);
      throw new InstallError(`Cannot install ${path}: ${describeIoError(error)}`);
    }
    if (info.isDirectory) {
      throw new InstallError(
        `Cannot install ${path}: a directory of that name is in the way; move it away`,
      );
    }
    if (await isOurExecutable(path)) {
      found.set(item.name, "ours");
    } else {
      found.set(item.name, "foreign");
      foreign.push(`  ${path} (${await describeFile(path, info)})`);
    }
  }
  if (foreign.length > 0 && !replaceForeign) {
    throw new InstallError(
      [
        `Refusing to replace ${foreign.length === 1 ? "a file" : `${foreign.length} files`} ` +
        `that phoenix-setup did not make:`,
        ...foreign,
        "Move " + (foreign.length === 1 ? "it" : "them") +
        " away, or give --replace-foreign to replace " + (foreign.length === 1 ? "it" : "them") +
        ` (each is kept beside as <name>${BACKUP_SUFFIX}).`,
      ].join("\n"),
    );
  }
  return found;
}

/**
 * Installs `plan` with the executables of `outDir`: each executable copied (temporary name,
 * mode 0755, then renamed into place), each link made the same way, each line logged, naming
 * every file replaced. Checks again first (the directory may have changed while compiling);
 * a file not made by this build is renamed to `<name>.before-phoenix-setup` (or `.2`, ...)
 * before its replacement goes in.
 *
 * @throws {InstallError} Saying which file could not be installed and why, in plain words.
 */
export async function installPlan(
  plan: InstallPlan,
  outDir: string,
  replaceForeign: boolean,
  log: (line: string) => void = (line) => console.log(line),
): Promise<void> {
  const dir = resolve(plan.dir);
  const found = await checkInstall(plan, replaceForeign);
  await attempt(dir, () => Deno.mkdir(dir, { recursive: true }));
  for (const item of plan.items) {
    const path = join(dir, item.name);
    let replacing = "";
    if (found.get(item.name) === "foreign") {
      let backup = "";
      await attempt(path, async () => {
        backup = await backupName(path);
        await Deno.rename(path, backup);
      });
      log(`Kept ${path}, not made by phoenix-setup, as ${backup}`);
    } else if (found.get(item.name) === "ours") {
      replacing = ", replacing the phoenix-setup file that was there";
    }
    await attempt(path, () =>
      atomicWrite(path, async (temporary) => {
        if (item.linkTo === undefined) {
          await Deno.copyFile(join(outDir, item.name), temporary);
          await Deno.chmod(temporary, 0o755);
        } else {
          await Deno.symlink(item.linkTo, temporary);
        }
      }));
    log(
      item.linkTo === undefined
        ? `Installed ${path}${replacing}`
        : `Linked ${path} -> ${item.linkTo} (${item.why})${replacing}`,
    );
  }
}

/** Throws unless `dir`, or the nearest directory it would be created in, can be written. */
async function checkDirectory(dir: string): Promise<void> {
  let existing = dir;
  for (;;) {
    try {
      if (!(await Deno.stat(existing)).isDirectory) throw notADirectory(dir, existing);
      break;
    } catch (error) {
      if (error instanceof InstallError) throw error;
      // Not there, or a file on the way to it: the walk up names the file.
      if (!(error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory)) {
        throw new InstallError(`Cannot install into ${dir}: ${describeIoError(error)}`);
      }
      existing = dirname(existing);
    }
  }
  try {
    await Deno.remove(await Deno.makeTempFile({ dir: existing, prefix: ".phoenix-setup-probe-" }));
  } catch (error) {
    const where = existing === dir ? "" : ` (it would be created in ${existing})`;
    throw new InstallError(
      `Cannot install into ${dir}${where}: cannot write to ${existing}: ` +
        `${describeIoError(error)}${advice(error)}.`,
    );
  }
}

function notADirectory(dir: string, file?: string): InstallError {
  return new InstallError(
    `Cannot install into ${dir}: ${
      file === undefined || file === dir ? "it" : file
    } is a file, not a directory. Give --install a directory.`,
  );
}

/** What to do about a failed write, where there is something to say. */
function advice(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  if (code === "EROFS") return "; give --install a directory on a writable file system";
  if (code === "EACCES" || error instanceof Deno.errors.PermissionDenied) {
    return "; run the build as root, or give --install a directory you can write to";
  }
  return "";
}

/** Runs `action` on `path`; a failure becomes an {@linkcode InstallError} in plain words. */
async function attempt(path: string, action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (error) {
    throw new InstallError(`Cannot install ${path}: ${describeIoError(error)}${advice(error)}`, {
      cause: error,
    });
  }
}

/** A file at `path` described for the refusal: a link and where it leads, or its size. */
async function describeFile(path: string, info: Deno.FileInfo): Promise<string> {
  if (info.isSymlink) return `a link to ${await Deno.readLink(path)}`;
  return `${info.size} bytes, not a phoenix-setup executable`;
}

/** `path` + {@linkcode BACKUP_SUFFIX}, or with `.2`, `.3`, ... after it when that is taken. */
async function backupName(path: string): Promise<string> {
  for (let n = 1;; n++) {
    const candidate = `${path}${BACKUP_SUFFIX}${n === 1 ? "" : `.${n}`}`;
    try {
      await Deno.lstat(candidate);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return candidate;
      throw error;
    }
  }
}
