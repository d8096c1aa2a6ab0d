/**
 * Running host commands. Every command is an argv array handed to zx, which quotes each element;
 * nothing here glues a command line together. The runner is injected everywhere it is used, so
 * unit tests replace it and end-to-end tests replace `pct` on `PATH`.
 *
 * @module
 */

import { constants } from "node:os";
import { Readable } from "node:stream";
import { $ } from "./deps.ts";
import type { Log } from "./logging.ts";
import { isSecretName } from "./secrets.ts";

/** What a finished command returned. */
export interface CommandResult {
  readonly argv: readonly string[];
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
}

/** Options for one command. */
export interface RunOptions {
  /** Text written to the command's standard input (never logged). */
  readonly input?: string;
  /** Kill the command after this many milliseconds; it then fails with exit code 124. */
  readonly timeoutMs?: number;
}

/** Runs `argv` to completion and reports how it went; never throws for a non-zero exit. */
export type CommandRunner = (
  argv: readonly string[],
  options?: RunOptions,
) => Promise<CommandResult>;

/** The exit code of a command killed by its timeout: coreutils' `timeout` reports it. */
export const TIMEOUT_EXIT_CODE = 124;

/** How many lines of a failed command's output an error message quotes. */
const TAIL_LINES = 15;

/**
 * The last lines of a command's output, for error messages.
 *
 * @example
 * ```ts
 * import { outputTail } from "./command.ts";
 * outputTail("a\nb\nc\n", 2); // "b\nc"
 * ```
 */
export function outputTail(text: string, lines = TAIL_LINES): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

/** A command that exited non-zero when it had to succeed. */
export class CommandError extends Error {
  /** The result of the failed command. */
  readonly result: CommandResult;

  /** @param what What the command was for, e.g. `pct start 920`. */
  constructor(what: string, result: CommandResult) {
    const tail = outputTail(result.stderr) || outputTail(result.stdout);
    super(`${what} failed with exit code ${result.exitCode}${tail ? `: ${tail}` : ""}`);
    this.name = "CommandError";
    this.result = result;
  }
}

/** Shows `argv` as a person would type it, for log lines. */
export function displayCommand(argv: readonly string[]): string {
  return argv.map((arg) => /^[A-Za-z0-9_./:=@%+,-]+$/.test(arg) ? arg : JSON.stringify(arg))
    .join(" ");
}

/** Locale variables, which bash checks at start-up. */
const LOCALE_VARIABLE = /^(LANG|LANGUAGE|LC_[A-Z]+)$/;

/**
 * The environment commands run with, in two parts.
 *
 * Secrets (`HF_TOKEN`, ...) are left out: `pct exec` hands the caller's environment to every
 * process in the container, and no command needs them (the steps that do write them into a
 * root-only file).
 *
 * zx runs every command through bash, and bash prints `warning: setlocale: LC_ALL: cannot change
 * locale` into the command's stderr when the orchestrator's `LC_ALL=en_US.UTF-8` is not generated
 * on the host. So bash starts without the locale variables and `env` hands them, unchanged, to
 * the command itself.
 */
function childEnvironment(): { shellEnv: Record<string, string>; localePrefix: string[] } {
  const shellEnv: Record<string, string> = {};
  const localePrefix: string[] = [];
  for (const [name, value] of Object.entries(Deno.env.toObject())) {
    if (isSecretName(name)) continue;
    if (LOCALE_VARIABLE.test(name)) localePrefix.push(`${name}=${value}`);
    else shellEnv[name] = value;
  }
  return { shellEnv, localePrefix: localePrefix.length ? ["env", ...localePrefix] : [] };
}

/**
 * A timeout is enforced by coreutils' `timeout`, not by zx: it kills the command's whole process
 * group (pct and the lxc-attach under it), reports 124 as documented, and needs no permission to
 * run `ps` or signal other processes, which the compiled executables do not have.
 */
function timeoutPrefix(timeoutMs: number | undefined): string[] {
  if (timeoutMs === undefined) return [];
  return ["timeout", "--kill-after=10", `${Math.max(timeoutMs, 1) / 1000}s`];
}

/** Runs commands with zx, without echoing them (logging is the caller's, via `log`). */
export const zxRunner: CommandRunner = async (argv, options = {}) => {
  const started = performance.now();
  const { shellEnv, localePrefix } = childEnvironment();
  // `exec`: bash replaces itself with the command, so no shell lingers between us and it.
  const command = ["exec", ...localePrefix, ...timeoutPrefix(options.timeoutMs), ...argv];
  const output = await $({
    nothrow: true,
    quiet: true,
    verbose: false,
    env: shellEnv,
    // stdin always reaches end-of-file: left open, a command that reads it would wait forever.
    input: options.input || Readable.from([]),
  })`${command}`;
  const durationMs = Math.round(performance.now() - started);
  const timedOut = options.timeoutMs !== undefined && output.exitCode === TIMEOUT_EXIT_CODE &&
    durationMs >= options.timeoutMs;
  if (output.exitCode !== null) {
    const note = timedOut ? `Killed after the ${options.timeoutMs} ms timeout` : "";
    return {
      argv,
      exitCode: output.exitCode,
      stdout: output.stdout,
      stderr: output.stderr + note,
      durationMs,
    };
  }
  // No exit code: killed by a signal (reported as a shell would, 128 + n), or never started (127).
  if (output.signal) {
    return {
      argv,
      exitCode: 128 + (constants.signals[output.signal] ?? 0),
      stdout: output.stdout,
      stderr: `${output.stderr}Killed by ${output.signal}`,
      durationMs,
    };
  }
  return {
    argv,
    exitCode: 127,
    stdout: output.stdout,
    stderr: `${output.stderr}Could not run the command: ${
      output.message.trim() || "unknown error"
    }`,
    durationMs,
  };
};

/**
 * Wraps a runner so every command is logged with its duration and exit code, and a failed
 * command's stderr tail with it. Non-zero is logged as information, not as a warning: a check
 * that answers "not yet" is normal, and a real failure is reported by whoever needed success.
 * The log masks secrets; secrets must not be in argv anyway.
 */
export function loggingRunner(run: CommandRunner, log: Log): CommandRunner {
  return async (argv, options) => {
    log.debug(`Running: ${displayCommand(argv)}`);
    const result = await run(argv, options);
    log.info(`${displayCommand(argv)} (exit ${result.exitCode}, ${result.durationMs} ms)`);
    const tail = result.exitCode === 0 ? "" : outputTail(result.stderr);
    if (tail) log.info(`stderr: ${tail}`);
    return result;
  };
}
