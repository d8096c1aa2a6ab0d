/**
 * `parseArguments`: the command line of a setup executable. The orchestrator passes exactly one
 * argument, the CTID; `--help`, `--version` and `--dry-run` are for people.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { InvalidInputError } from "./errors.ts";

/** What the command line asks for. */
export type Arguments =
  | { readonly action: "help" }
  | { readonly action: "version" }
  | { readonly action: "setup"; readonly ctid: string; readonly dryRun: boolean };

/**
 * The usage text for the executable called `name`.
 *
 * @param name The executable's file name, e.g. `phoenix_hypervisor_setup_920.sh`.
 * @param ctid The CTID the executable is built for.
 */
export function usage(name: string, ctid: string): string {
  return [
    `Usage: ${name} [--dry-run] ${ctid}`,
    `       ${name} --help | --version`,
    "",
    `Finishes the setup of Proxmox container ${ctid}: runs its setup steps (skipping those already`,
    "done), verifies the result and, for a template, takes the snapshot clones are made from.",
    "",
    "Options:",
    "  --dry-run   Run only read-only checks and print what would be done.",
    "  --help      Print this help and exit.",
    "  --version   Print the version and exit.",
    "",
    "Environment: LXC_CONFIG_FILE, MAIN_LOG_FILE, PHOENIX_DEBUG (see the README).",
  ].join("\n");
}

/**
 * Parses the command line. Throws {@linkcode InvalidInputError} (exit 1) for anything but
 * exactly one positional argument plus the known options.
 *
 * @param args The arguments after the program name.
 * @returns The requested action; the CTID is returned as given, unvalidated.
 *
 * @example
 * ```ts
 * import { parseArguments } from "./arguments.ts";
 * parseArguments(["920"]); // { action: "setup", ctid: "920", dryRun: false }
 * ```
 */
export function parseArguments(args: readonly string[]): Arguments {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      strict: true,
      options: {
        "help": { type: "boolean", short: "h" },
        "version": { type: "boolean" },
        "dry-run": { type: "boolean" },
      },
    });
  } catch (error) {
    // node:util's messages ("Unknown option '--x'") already name the culprit.
    throw new InvalidInputError(`${(error as Error).message}`, { phase: "argument parsing" });
  }
  const { values, positionals } = parsed;
  if (values.help) return { action: "help" };
  if (values.version) return { action: "version" };
  if (positionals.length !== 1) {
    const found = positionals.length === 0
      ? "none"
      : `${positionals.length}: ${positionals.map((p) => JSON.stringify(p)).join(" ")}`;
    throw new InvalidInputError(
      `Expected exactly one argument, the CTID; found ${found}`,
      { phase: "argument parsing" },
    );
  }
  return { action: "setup", ctid: positionals[0], dryRun: values["dry-run"] ?? false };
}
