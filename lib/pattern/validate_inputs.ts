/**
 * `validateInputs`: the executable checks that it is being run as itself, for its own container,
 * before it touches anything. A copy or symlink under another CTID's name refuses to run, so a
 * misnamed file can never set up the wrong container.
 *
 * @module
 */

import { basename } from "node:path";
import { ctidOfExecutableName, describeInvalidCtid, executableNameFor } from "../core/ctid.ts";
import { InvalidInputError } from "../core/errors.ts";

/** How the process was started. */
export interface Invocation {
  /** The name it was invoked by (`process.argv0`; symlinks not resolved). */
  readonly argv0: string;
  /** Its real file (`Deno.execPath()`; symlinks resolved). */
  readonly execPath: string;
}

/**
 * Throws {@linkcode InvalidInputError} unless `ctid` is a valid CTID equal to `moduleCtid` and
 * both the invoked name and the real file are named `phoenix_hypervisor_setup_<moduleCtid>.sh`.
 *
 * @example
 * ```ts
 * import { validateInputs } from "./validate_inputs.ts";
 * const path = "/usr/local/phoenix_hypervisor/bin/phoenix_hypervisor_setup_920.sh";
 * validateInputs("920", "920", { argv0: path, execPath: path }); // passes
 * ```
 */
export function validateInputs(ctid: string, moduleCtid: string, invocation: Invocation): void {
  const invalid = describeInvalidCtid(ctid);
  if (invalid) throw new InvalidInputError(invalid);
  // The name first: under another container's name, "run that container's executable" would
  // tell the user to do exactly what they just did.
  const misnamed = describeMisnamed(moduleCtid, invocation);
  if (misnamed) throw new InvalidInputError(misnamed);
  if (ctid !== moduleCtid) {
    throw new InvalidInputError(
      `This executable sets up container ${moduleCtid} only, but was asked for ${ctid}; ` +
        `run ${executableNameFor(ctid)} for container ${ctid}`,
    );
  }
}

/** Why the executable may not run under the names it has, or `undefined` when they are right. */
function describeMisnamed(moduleCtid: string, invocation: Invocation): string | undefined {
  const expected = executableNameFor(moduleCtid);
  const { argv0, execPath } = invocation;
  let how: string;
  let path: string;
  if (basename(argv0) !== expected) {
    path = argv0;
    how = basename(execPath) === expected && argv0 !== execPath ? "linked as" : "installed as";
  } else if (basename(execPath) !== expected) {
    path = execPath;
    how = "whose real file is";
  } else {
    return undefined;
  }
  const other = ctidOfExecutableName(basename(path));
  const fix = other && other !== moduleCtid && path === argv0
    ? `for container ${other}, install its own executable as ${JSON.stringify(path)} ` +
      `(deno task build --config <phoenix_lxc_configs.json> --ctid ${other} --install)`
    : `reinstall it as ${expected}`;
  return `Refusing to run: this file is the ${moduleCtid} executable, ${how} ` +
    `${JSON.stringify(path)}; it sets up container ${moduleCtid} only and runs only as ` +
    `${expected}: ${fix}`;
}
