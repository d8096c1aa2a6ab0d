/**
 * `parseArguments`: the command line of a setup executable. The orchestrator passes exactly one
 * argument, the CTID; `--help`, `--version` and `--dry-run` are for people. Under the 2025-09-01
 * orchestrator's name the CTID may be followed by the four values that generation passes for a
 * GPU container (`OrchestratorArguments`), which the run checks against the config.
 *
 * @module
 */

import { parseArgs } from "node:util";
import type { OrchestratorArguments } from "../config/orchestrator_arguments.ts";
import { InvalidInputError } from "../core/errors.ts";

/** What the command line asks for. */
export type Arguments =
  | { readonly action: "help" }
  | { readonly action: "version" }
  | {
    readonly action: "setup";
    readonly ctid: string;
    readonly dryRun: boolean;
    /** `--check`: read-only; the exit code says whether a run would change anything. */
    readonly check?: boolean;
    /** `--refresh`: rebuild a complete template and replace its snapshot. */
    readonly refresh?: boolean;
    /** `--report <file>`: where to write the run report. */
    readonly reportFile?: string;
    /** The 2025-09-01 orchestrator's four values after the CTID, when it passed them. */
    readonly orchestrator?: OrchestratorArguments;
  };

/** What the command line asks for when it asks for a setup. */
export type SetupArguments = Extract<Arguments, { readonly action: "setup" }>;

/** The options, for the parser and for messages about options it does not know. */
const OPTIONS = {
  "help": { type: "boolean", short: "h" },
  "version": { type: "boolean" },
  "dry-run": { type: "boolean" },
  "check": { type: "boolean" },
  "refresh": { type: "boolean" },
  "report": { type: "string" },
} as const;

/**
 * The usage text for the executable called `name`.
 *
 * @param name The executable's file name, e.g. `phoenix_hypervisor_setup_920.sh`.
 * @param ctid The CTID the executable is built for.
 */
export function usage(name: string, ctid: string): string {
  return [
    `Usage: ${name} [--dry-run | --check] [--refresh] [--report <file>] ${ctid}`,
    `       ${name} --help | --version`,
    "",
    `Finishes the setup of Proxmox container ${ctid}: runs its setup steps (skipping those already`,
    "done), verifies the result and, for a template, takes the snapshot clones are made from.",
    "",
    "Options:",
    "  --dry-run          Run only read-only checks and print the plan: what would be done.",
    "  --check            Read-only: exit 0 when the container is what this executable makes,",
    "                     12 when a run would change it (each difference on its own line).",
    "  --refresh          Rebuild a complete template in place and replace its snapshot.",
    "  --report <file>    Write the run report (JSON) to <file>; as PHOENIX_REPORT_FILE.",
    "  --help             Print the full help (steps, environment, exit codes) and exit.",
    "  --version          Print the version and exit.",
  ].join("\n");
}

/** Options of {@linkcode parseArguments}. */
export interface ParseOptions {
  /**
   * The executable was invoked as `phoenix_hypervisor_lxc_<CTID>.sh`: the 2025-09-01
   * orchestrator's five-argument form is accepted too.
   */
  readonly fiveArgumentForm?: boolean;
}

/**
 * Parses the command line. Throws {@linkcode InvalidInputError} (exit 1) for anything but
 * exactly one positional argument plus the known options (or five, with `fiveArgumentForm`).
 *
 * @param args The arguments after the program name.
 * @param options Whether the five-argument form is accepted.
 * @returns The requested action; the CTID and the other values are returned as given, unchecked.
 *
 * @example
 * ```ts
 * import { parseArguments } from "./arguments.ts";
 * parseArguments(["920"]); // { action: "setup", ctid: "920", dryRun: false }
 * ```
 */
export function parseArguments(args: readonly string[], options: ParseOptions = {}): Arguments {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      strict: true,
      options: OPTIONS,
    });
  } catch (error) {
    throw new InvalidInputError(describeParseError(error), { phase: "argument parsing" });
  }
  const { values, positionals } = parsed;
  if (values.help) return { action: "help" };
  if (values.version) return { action: "version" };
  const fiveArguments = options.fiveArgumentForm && positionals.length === 5;
  if (positionals.length !== 1 && !fiveArguments) {
    const found = positionals.length === 0
      ? "none"
      : `${positionals.length}: ${positionals.map((p) => JSON.stringify(p)).join(" ")}`;
    throw new InvalidInputError(
      options.fiveArgumentForm
        ? "Expected the CTID alone, or the CTID followed by the GPU assignment, the NVIDIA " +
          `driver version, the NVIDIA repository URL and the runfile URL; found ${found}`
        : `Expected exactly one argument, the CTID; found ${found}`,
      { phase: "argument parsing" },
    );
  }
  const reportFile = values.report;
  if (reportFile !== undefined && reportFile.trim() === "") {
    throw new InvalidInputError("Option --report needs a file name", { phase: "argument parsing" });
  }
  if (values.check && values["dry-run"]) {
    throw new InvalidInputError(
      "Options --check and --dry-run do not go together: --check is a dry run whose exit code " +
        "answers; use one of them",
      { phase: "argument parsing" },
    );
  }
  return {
    action: "setup",
    ctid: positionals[0],
    dryRun: values["dry-run"] ?? false,
    ...(values.check && { check: true }),
    ...(values.refresh && { refresh: true }),
    ...(reportFile !== undefined && { reportFile }),
    ...(fiveArguments && {
      orchestrator: {
        gpuAssignment: positionals[1],
        nvidiaDriverVersion: positionals[2],
        nvidiaRepoUrl: positionals[3],
        nvidiaRunfileUrl: positionals[4],
      },
    }),
  };
}

/** The options as a person types them: `--dry-run, --report <file>, --help, --version`. */
function knownOptions(): string {
  return Object.entries(OPTIONS)
    .map(([name, option]) => `--${name}${option.type === "string" ? " <file>" : ""}`)
    .join(", ");
}

/**
 * Our own words for node:util's parse errors, whose text talks about JavaScript
 * ("To specify a positional argument starting with a '-', place it at the end ...").
 */
function describeParseError(error: unknown): string {
  const { code, message } = error as { code?: string; message?: string };
  const option = /'(?:-\w, )?(--?[\w-]+)/.exec(message ?? "")?.[1];
  switch (code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return `Unknown option ${JSON.stringify(option)}; the options are ${knownOptions()}`;
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      return option && OPTIONS[option.replace(/^--/, "") as keyof typeof OPTIONS]?.type === "string"
        ? `Option ${option} needs a file name`
        : `Option ${option ?? ""} takes no value; the options are ${knownOptions()}`;
    default:
      return `Cannot read the command line: ${message ?? error}`;
  }
}
