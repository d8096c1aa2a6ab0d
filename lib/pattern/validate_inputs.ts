/**
 * `validateInputs`: the executable checks that it is being run as itself, for its own container,
 * before it touches anything. A copy or symlink under another CTID's name refuses to run, so a
 * misnamed file can never set up the wrong container.
 *
 * Its own names: the documented `phoenix_hypervisor_setup_<CTID>.sh`; the 2025-09-01
 * orchestrator's `phoenix_hypervisor_lxc_<CTID>.sh`; and the `application_script` its own config
 * entry names (the 2025-09-07 and newest orchestrators), given by the caller when it has read it.
 * Its real file (symlinks resolved) is named `phoenix_hypervisor_setup_<CTID>.sh`, or the
 * `application_script` (the newest orchestrator copies the script into the container).
 *
 * @module
 */

import { basename } from "node:path";
import {
  ctidOfExecutableName,
  ctidOfLxcScriptName,
  describeInvalidCtid,
  executableNameFor,
  lxcScriptNameFor,
} from "../core/ctid.ts";
import { InvalidInputError } from "../core/errors.ts";

/** How the process was started. */
export interface Invocation {
  /** The name it was invoked by (`process.argv0`; symlinks not resolved). */
  readonly argv0: string;
  /** Its real file (`Deno.execPath()`; symlinks resolved). */
  readonly execPath: string;
}

/** Whether the executable for `moduleCtid` answers to `name` without reading its config. */
export function isFixedName(name: string, moduleCtid: string): boolean {
  return name === executableNameFor(moduleCtid) || name === lxcScriptNameFor(moduleCtid);
}

/**
 * Whether `invocation` needs the entry's `application_script` to be judged: its name is not one
 * of the fixed ones, or its real file is not named `phoenix_hypervisor_setup_<CTID>.sh`.
 */
export function needsApplicationScript(moduleCtid: string, invocation: Invocation): boolean {
  return !isFixedName(basename(invocation.argv0), moduleCtid) ||
    basename(invocation.execPath) !== executableNameFor(moduleCtid);
}

/**
 * Throws {@linkcode InvalidInputError} unless `ctid` is a valid CTID equal to `moduleCtid`, the
 * invoked name is one of the executable's own names and its real file is named as one.
 *
 * @param applicationScript The `application_script` of `moduleCtid`'s entry, when the caller
 *   read it ({@linkcode needsApplicationScript}); `note` says why it could not.
 *
 * @example
 * ```ts
 * import { validateInputs } from "./validate_inputs.ts";
 * const path = "/usr/local/phoenix_hypervisor/bin/phoenix_hypervisor_setup_920.sh";
 * validateInputs("920", "920", { argv0: path, execPath: path }); // passes
 * ```
 */
export function validateInputs(
  ctid: string,
  moduleCtid: string,
  invocation: Invocation,
  applicationScript: { readonly name?: string; readonly note?: string } = {},
): void {
  const invalid = describeInvalidCtid(ctid);
  if (invalid) throw new InvalidInputError(invalid);
  // The name first: under another container's name, "run that container's executable" would
  // tell the user to do exactly what they just did.
  const misnamed = describeMisnamed(moduleCtid, invocation, applicationScript);
  if (misnamed) throw new InvalidInputError(misnamed);
  if (ctid !== moduleCtid) {
    throw new InvalidInputError(
      `This executable sets up container ${moduleCtid} only, but was asked for ${ctid}; ` +
        `run ${executableNameFor(ctid)} for container ${ctid}`,
    );
  }
}

/** Why the executable may not run under the names it has, or `undefined` when they are right. */
function describeMisnamed(
  moduleCtid: string,
  invocation: Invocation,
  applicationScript: { readonly name?: string; readonly note?: string },
): string | undefined {
  const expected = executableNameFor(moduleCtid);
  const own = applicationScript.name;
  const { argv0, execPath } = invocation;
  const realFileOk = (name: string) => name === expected || name === own;
  let how: string;
  let path: string;
  if (!isFixedName(basename(argv0), moduleCtid) && basename(argv0) !== own) {
    path = argv0;
    how = realFileOk(basename(execPath)) && argv0 !== execPath ? "linked as" : "installed as";
  } else if (!realFileOk(basename(execPath))) {
    path = execPath;
    how = "whose real file is";
  } else {
    return undefined;
  }
  const other = ctidOfExecutableName(basename(path)) ?? ctidOfLxcScriptName(basename(path));
  const fix = other && other !== moduleCtid && path === argv0
    ? `for container ${other}, install its own executable as ${JSON.stringify(path)} ` +
      `(deno task build --config <phoenix_lxc_configs.json> --ctid ${other} --install)`
    : `reinstall it as ${expected}`;
  const entryName = own
    ? `, or as ${own} (the application_script of its config entry)`
    : `, or as the application_script its config entry names (${
      applicationScript.note ?? "it names none"
    })`;
  return `Refusing to run: this file is the ${moduleCtid} executable, ${how} ` +
    `${JSON.stringify(path)}; it sets up container ${moduleCtid} only and runs only as ` +
    `${expected} (or a link to it named ${lxcScriptNameFor(moduleCtid)}${entryName}): ${fix}`;
}
