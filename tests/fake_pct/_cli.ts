/**
 * Command-line parsing of the fake `pct`, modelled on what Proxmox's `PVE::JSONSchema::get_options`
 * does with Getopt::Long: options anywhere among the arguments (`--name value`, `-name value`,
 * `--name=value`), names case-insensitive, booleans taking an optional value, and the error texts
 * and order of checks pct prints (unknown options, then argument count, then parameter checks).
 *
 * @module
 */

/** A failure of a pct call: what it writes to stderr and its exit code. */
export class PctError extends Error {
  /** The process exit code. */
  readonly exitCode: number;
  /** The complete stderr text, newline-terminated. */
  readonly stderr: string;

  /**
   * @param exitCode The process exit code.
   * @param stderr The stderr text; a final newline is added when missing.
   */
  constructor(exitCode: number, stderr: string) {
    const text = stderr === "" || stderr.endsWith("\n") ? stderr : `${stderr}\n`;
    super(text.trimEnd());
    this.name = "PctError";
    this.exitCode = exitCode;
    this.stderr = text;
  }
}

/**
 * Exit code of parameter and usage errors. Real pct dies in Perl there, which exits 255; pct.md
 * only promises "non-zero", and 255 is what every other pct failure uses.
 */
export const PARAMETER_ERROR_EXIT = 255;

/** The type of an option, which decides how its value is read and checked. */
export type OptionType = "boolean" | "integer" | "string";

/** What a subcommand accepts. */
export interface CommandSpec {
  /** Names of the positional arguments, in order. */
  readonly args: readonly string[];
  /** Options by lowercase name. */
  readonly options: Readonly<Record<string, OptionType>>;
  /** `pct set` accepts any option name (the real one accepts every config key). */
  readonly anyOption?: boolean;
  /** `pct exec` takes the command after `--`. */
  readonly extraArgs?: boolean;
}

/** The subcommands the fake implements, with their arguments and options. */
export const COMMANDS: Readonly<Record<string, CommandSpec>> = {
  config: { args: ["vmid"], options: { current: "boolean", snapshot: "string" } },
  delsnapshot: { args: ["vmid", "snapname"], options: { force: "boolean" } },
  exec: { args: ["vmid"], options: { "keep-env": "boolean" }, extraArgs: true },
  list: { args: [], options: {} },
  listsnapshot: { args: ["vmid"], options: {} },
  pull: {
    args: ["vmid", "path", "destination"],
    options: { group: "string", perms: "string", user: "string" },
  },
  push: {
    args: ["vmid", "file", "destination"],
    options: { group: "string", perms: "string", user: "string" },
  },
  rollback: { args: ["vmid", "snapname"], options: { start: "boolean" } },
  set: { args: ["vmid"], options: { delete: "string" }, anyOption: true },
  shutdown: { args: ["vmid"], options: { forcestop: "boolean", timeout: "integer" } },
  snapshot: { args: ["vmid", "snapname"], options: { description: "string" } },
  start: { args: ["vmid"], options: { debug: "boolean", skiplock: "boolean" } },
  status: { args: ["vmid"], options: { verbose: "boolean" } },
  unlock: { args: ["vmid"], options: {} },
  stop: {
    args: ["vmid"],
    options: { "overrule-shutdown": "boolean", skiplock: "boolean", timeout: "integer" },
  },
};

/** Config keys of `pct set` that are booleans (and so may be given as a bare flag). */
const BOOLEAN_CONFIG_KEYS = new Set([
  "console",
  "debug",
  "onboot",
  "protection",
  "template",
  "unprivileged",
]);

/** A parsed command line: positional arguments by name, options by lowercase name. */
export interface ParsedCommand {
  /** The subcommand, e.g. `status`. */
  readonly command: string;
  /** Positional arguments by their name in {@linkcode CommandSpec.args}. */
  readonly args: Readonly<Record<string, string>>;
  /** Options by lowercase name; booleans are `"1"` or `"0"`. */
  readonly options: Readonly<Record<string, string>>;
  /** `exec`: what came after `--`. */
  readonly extra: readonly string[];
  /** `exec`: positionals beyond the VMID that came before `--` (or without one). */
  readonly leftover: readonly string[];
  /** Whether the arguments contained `--`. */
  readonly dashDash: boolean;
}

/** The usage line pct prints under a parameter error, e.g. `pct status <vmid> [OPTIONS]`. */
export function usageLine(command: string): string {
  const spec = COMMANDS[command];
  const parts = ["pct", command, ...spec.args.map((arg) => `<${arg}>`)];
  if (spec.extraArgs) parts.push("[<extra-args>]");
  if (spec.anyOption || Object.keys(spec.options).length > 0) parts.push("[OPTIONS]");
  return parts.join(" ");
}

/** pct's answer to an unknown or missing subcommand. */
export function unknownCommand(argv: readonly string[]): PctError {
  const head = argv.length === 0
    ? "ERROR: no command specified"
    : `ERROR: unknown command 'pct ${argv[0]}'`;
  const usage = Object.keys(COMMANDS).map((name, index) =>
    `${index === 0 ? "USAGE: " : "       "}${usageLine(name)}`
  );
  return new PctError(PARAMETER_ERROR_EXIT, [head, ...usage].join("\n"));
}

/**
 * `400 Parameter verification failed.` with one `param: message` line per problem, sorted by
 * parameter as pct sorts them, then the usage line.
 */
export function parameterError(command: string, problems: Record<string, string>): PctError {
  const lines = Object.keys(problems).sort().map((param) => `${param}: ${problems[param]}`);
  return new PctError(
    PARAMETER_ERROR_EXIT,
    ["400 Parameter verification failed.", ...lines, usageLine(command)].join("\n"),
  );
}

/** Parses the arguments after the subcommand, or throws the {@linkcode PctError} pct prints. */
export function parseCommand(command: string, argv: readonly string[]): ParsedCommand {
  const spec = COMMANDS[command];
  const { positionals, optionList, extra, dashDash, getoptErrors } = splitArguments(spec, argv);
  if (getoptErrors.length > 0) {
    throw new PctError(
      PARAMETER_ERROR_EXIT,
      [...getoptErrors, "400 unable to parse option", usageLine(command)].join("\n"),
    );
  }
  // Without extra args (every command but exec) pct takes what follows `--` as positionals.
  const all = spec.extraArgs ? positionals : [...positionals, ...extra];
  if (all.length < spec.args.length) usageError(command, "not enough arguments");
  if (all.length > spec.args.length && !spec.extraArgs) usageError(command, "too many arguments");

  const args: Record<string, string> = {};
  spec.args.forEach((name, index) => args[name] = all[index]);
  const options: Record<string, string> = {};
  const problems: Record<string, string> = {};
  for (const [typed, raw] of optionList) {
    const name = typed.toLowerCase();
    const checked = checkValue(optionType(spec, name), raw);
    if (checked.ok) options[name] = checked.value;
    else problems[name] = checked.problem;
  }
  const vmidProblem = "vmid" in args ? checkVmid(args.vmid) : undefined;
  if (vmidProblem) problems.vmid = vmidProblem;
  const snapnameProblem = "snapname" in args ? checkSnapshotName(args.snapname) : undefined;
  if (snapnameProblem) problems.snapname = snapnameProblem;
  if (Object.keys(problems).length > 0) throw parameterError(command, problems);
  return {
    command,
    args,
    options,
    extra: spec.extraArgs ? extra : [],
    leftover: spec.extraArgs ? positionals.slice(spec.args.length) : [],
    dashDash,
  };
}

function usageError(command: string, message: string): never {
  throw new PctError(PARAMETER_ERROR_EXIT, `400 ${message}\n${usageLine(command)}`);
}

function optionType(spec: CommandSpec, name: string): OptionType | undefined {
  if (Object.hasOwn(spec.options, name)) return spec.options[name];
  if (!spec.anyOption) return undefined;
  return BOOLEAN_CONFIG_KEYS.has(name) ? "boolean" : "string";
}

interface SplitArguments {
  positionals: string[];
  optionList: [string, string][];
  extra: string[];
  dashDash: boolean;
  getoptErrors: string[];
}

/**
 * Separates options from positionals the way Getopt::Long does in its default (permute) mode:
 * options may come anywhere, `--` ends them. A boolean's value is optional (Perl's `name:s`): it
 * takes the next argument unless that looks like an option; other options always take the next
 * argument.
 */
function splitArguments(spec: CommandSpec, argv: readonly string[]): SplitArguments {
  const result: SplitArguments = {
    positionals: [],
    optionList: [],
    extra: [],
    dashDash: false,
    getoptErrors: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i];
    if (token === "--") {
      result.extra = argv.slice(i + 1);
      result.dashDash = true;
      break;
    }
    if (!token.startsWith("-") || token === "-") {
      result.positionals.push(token);
      continue;
    }
    const body = token.replace(/^--?/, "");
    const equals = body.indexOf("=");
    const name = equals === -1 ? body : body.slice(0, equals);
    const type = optionType(spec, name.toLowerCase());
    if (type === undefined) {
      result.getoptErrors.push(`Unknown option: ${name}`);
      continue;
    }
    if (equals !== -1) {
      result.optionList.push([name, body.slice(equals + 1)]);
    } else if (type === "boolean") {
      const next = argv[i + 1];
      const takesNext = next !== undefined && !next.startsWith("-");
      result.optionList.push([name, takesNext ? next : ""]);
      if (takesNext) i++;
    } else if (i + 1 < argv.length) {
      result.optionList.push([name, argv[++i]]);
    } else {
      result.getoptErrors.push(`Option ${name} requires an argument`);
    }
  }
  return result;
}

type Checked = { ok: true; value: string } | { ok: false; problem: string };

function checkValue(type: OptionType | undefined, raw: string): Checked {
  if (type === "boolean") {
    if (raw === "" || /^(1|on|yes|true)$/i.test(raw)) return { ok: true, value: "1" };
    if (/^(0|off|no|false)$/i.test(raw)) return { ok: true, value: "0" };
    return { ok: false, problem: `type check ('boolean') failed - got '${raw}'` };
  }
  if (type === "integer" && !/^[+-]?\d+$/.test(raw)) {
    return { ok: false, problem: `type check ('integer') failed - got '${raw}'` };
  }
  return { ok: true, value: raw };
}

/** The problem with a VMID, as pct words it, or `undefined` when it is valid. */
function checkVmid(vmid: string): string | undefined {
  if (!/^[+-]?\d+$/.test(vmid)) return `type check ('integer') failed - got '${vmid}'`;
  if (!/^[1-9][0-9]{2,8}$/.test(vmid)) {
    return "invalid format - value does not look like a valid VM ID";
  }
  return undefined;
}

/**
 * The problem with a snapshot name (pve-configid format, at most 40 characters), as pct words
 * it, or `undefined` when it is valid.
 */
function checkSnapshotName(name: string): string | undefined {
  if (name.length > 40) return "value may only be 40 characters long";
  if (!/^[a-z][a-z0-9_-]+$/i.test(name)) {
    return `invalid format - invalid configuration ID '${name}'`;
  }
  return undefined;
}
