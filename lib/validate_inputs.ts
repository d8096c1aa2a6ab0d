/**
 * `validateInputs`: the executable checks that it is being run as itself, for its own container,
 * before it touches anything. A copy or symlink under another CTID's name refuses to run, so a
 * misnamed file can never set up the wrong container.
 *
 * @module
 */

import { basename } from "node:path";
import { describeInvalidCtid, executableNameFor } from "./ctid.ts";
import { InvalidInputError } from "./errors.ts";

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
  const expected = executableNameFor(moduleCtid);
  if (ctid !== moduleCtid) {
    throw new InvalidInputError(
      `This executable sets up container ${moduleCtid} only, but was asked for ${ctid}; ` +
        `run ${executableNameFor(ctid)} for container ${ctid}`,
    );
  }
  for (const [what, path] of [["invoked as", invocation.argv0], ["file is", invocation.execPath]]) {
    if (basename(path) !== expected) {
      throw new InvalidInputError(
        `Refusing to run: this executable is for container ${moduleCtid} and must be named ` +
          `${expected}, but its ${what} ${JSON.stringify(path)}; reinstall it under its own name`,
      );
    }
  }
}
