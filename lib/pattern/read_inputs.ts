/**
 * `readInputs`: the part of a run that needs nothing but the executable's own facts (its CTID,
 * kind and help text): parseArguments, `--help`, `--version`, validateInputs, and the end of a
 * run refused for invalid input (usage, CTID, executable name: exit 1, logged and reported).
 *
 * The executable's entry calls it before it loads the rest of the program, so these answers
 * start as fast as a bare program: this module and its imports load neither zx, zod nor the
 * container module (`build.ts` computes the help text when it builds the executable). `main`
 * calls it too, which keeps one behaviour for `deno run` and for the executables.
 *
 * @module
 */

import { RunRecord } from "../report/run_record.ts";
import { basename } from "node:path";
import process from "node:process";
import { type Arguments, parseArguments, type SetupArguments, usage } from "./arguments.ts";
import type { ContainerKind, ContainerModule } from "../module/container_module.ts";
import { executableNameFor, lxcScriptNameFor } from "../core/ctid.ts";
import { readLogSettings, readPaths, readReportFile } from "../config/environment.ts";
import { applicationScriptOf } from "../config/application_script.ts";
import { placementOf } from "../host/local_container.ts";
import { ExitCode } from "../core/exit_codes.ts";
import { describeFailure, finishRun } from "./finish_run.ts";
import { checkReportFile } from "../report/run_report.ts";
import { helpText } from "./help.ts";
import { setupLogging } from "../report/logging.ts";
import { registerSecretsFromEnv } from "../core/secrets.ts";
import { type Invocation, needsApplicationScript, validateInputs } from "./validate_inputs.ts";
import { versionLine } from "../core/version.ts";

/** What an executable knows of its container before it loads the container module. */
export interface ExecutableFacts {
  readonly ctid: string;
  readonly kind: ContainerKind;
  /** What `--help` prints: `helpText` of the container module. */
  readonly help: string;
}

/**
 * The facts of `module`'s executable. `build.ts` computes them when it builds the executable
 * and `main` when it runs, so both print the same help.
 *
 * @example
 * ```ts ignore
 * import container from "../../containers/920.ts";
 * import { executableFacts } from "./read_inputs.ts";
 * executableFacts(container).kind; // "template"
 * ```
 */
export function executableFacts<S>(module: ContainerModule<S>): ExecutableFacts {
  return { ctid: module.ctid, kind: module.kind, help: helpText(module) };
}

/** What `readInputs` takes from the outside world; each part is injectable for tests. */
export interface InputOptions {
  readonly args?: readonly string[];
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly invocation?: Invocation;
  readonly exit?: (code: number) => never;
}

/**
 * Reads the command line of the executable described by `facts`: answers `--help` and
 * `--version` and exits 0; ends the run for invalid input (exit 1: the usage for a command line
 * that cannot be parsed, the error logged to the console and the log file, the run report when
 * asked for), a report file that cannot be written included, so that no run does its work
 * without the report asked for; else returns the setup's arguments, checked.
 *
 * @example
 * ```ts ignore
 * import { readInputs } from "./read_inputs.ts";
 * const { ctid, dryRun } = await readInputs({ ctid: "920", kind: "template", help: "..." });
 * ```
 */
export async function readInputs(
  facts: ExecutableFacts,
  options: InputOptions = {},
): Promise<SetupArguments> {
  const startedAt = Date.now();
  const env = options.env ?? Deno.env.toObject();
  const exit = options.exit ?? Deno.exit;
  const reportFileOf = (parsed?: SetupArguments) => parsed?.reportFile || readReportFile(env);
  const refuse = (
    error: unknown,
    parsed?: SetupArguments,
    reportFile: string | null | undefined = reportFileOf(parsed),
  ) => endRefused(error, facts, { env, exit, startedAt, parsed, reportFile });
  const invocation = options.invocation ?? { argv0: process.argv0, execPath: Deno.execPath() };
  let parsed: Arguments;
  try {
    parsed = parseArguments(options.args ?? Deno.args, {
      fiveArgumentForm: basename(invocation.argv0) === lxcScriptNameFor(facts.ctid),
    });
  } catch (error) {
    return await refuse(error);
  }
  if (parsed.action === "help") {
    console.log(facts.help);
    return exit(ExitCode.Success);
  }
  if (parsed.action === "version") {
    console.log(versionLine(facts.ctid));
    return exit(ExitCode.Success);
  }
  try {
    const applicationScript = needsApplicationScript(facts.ctid, invocation)
      ? await readApplicationScript(facts.ctid, env, invocation.execPath)
      : {};
    validateInputs(parsed.ctid, facts.ctid, invocation, applicationScript);
  } catch (error) {
    return await refuse(error, parsed);
  }
  const reportFile = reportFileOf(parsed);
  try {
    if (reportFile) {
      checkReportFile(reportFile, parsed.reportFile ? "--report" : "PHOENIX_REPORT_FILE");
    }
  } catch (error) {
    // Ended without the report that cannot be written (`null`: not the default, the asked one).
    return await refuse(error, parsed, null);
  }
  return parsed;
}

/**
 * The `application_script` of container `ctid`'s entry, read from the file the run would read
 * (inside the container, the copy pushed beside the executable when that is the one there).
 */
async function readApplicationScript(
  ctid: string,
  env: Readonly<Record<string, string | undefined>>,
  execPath: string,
): Promise<{ name?: string; note?: string }> {
  const file = (await placementOf(env, readPaths(env), execPath)).configFile;
  const found = await applicationScriptOf(file, ctid);
  if ("problem" in found) return { note: found.problem };
  return found.name ? { name: found.name } : { note: `${file} names none for ${ctid}` };
}

/**
 * Ends a run refused at its input, as any other failed run ends. The usage is printed when the
 * command line could not be parsed (`parsed` is undefined), not for a wrong CTID or name.
 */
async function endRefused(
  error: unknown,
  facts: ExecutableFacts,
  run: {
    readonly env: Readonly<Record<string, string | undefined>>;
    readonly exit: (code: number) => never;
    readonly startedAt: number;
    readonly parsed?: SetupArguments;
    /** Where to write the run report; none when `undefined` or `null`. */
    readonly reportFile: string | null | undefined;
  },
): Promise<never> {
  const name = executableNameFor(facts.ctid);
  registerSecretsFromEnv(run.env);
  const log = await setupLogging({ source: name, ...readLogSettings(run.env) });
  if (!run.parsed) console.error(usage(name, facts.ctid));
  return await finishRun(...describeFailure(error, log), {
    subject: { ctid: facts.ctid, kind: facts.kind },
    executable: name,
    record: new RunRecord(() => run.startedAt),
    reportFile: run.reportFile ?? undefined,
    dryRun: false,
    log,
    exit: run.exit,
  });
}
