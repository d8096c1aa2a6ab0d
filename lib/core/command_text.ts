/**
 * The words every layer uses for a host command: what it returned, how it is run, how it is
 * shown in log lines and messages. No process is started here (the runner is `host/command.ts`),
 * so importing these loads no zx.
 *
 * @module
 */

import type { Readable } from "node:stream";

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
  /**
   * Kill the command after this many milliseconds; it then fails with exit code 124. Default
   * {@linkcode DEFAULT_TIMEOUT_MS}.
   */
  readonly timeoutMs?: number;
  /**
   * Called with each line of the command's output as it arrives (not at the end), so that a
   * long command can be followed while it runs. The full output is still in the result.
   */
  readonly onOutput?: (stream: OutputStream, line: string) => void;
  /**
   * The output is data the caller reads (a file's content, possibly a secret), not progress:
   * {@linkcode loggingRunner} logs none of it.
   */
  readonly hideOutput?: boolean;
  /**
   * What the command does, in words, for a command whose argv says little to a reader (a script):
   * `11 checks in one call in container 950`. Log lines at INFO, heartbeats included, show it
   * instead of the argv, which goes to DEBUG only; and its end is logged at INFO even while a
   * check runs, as it stands for many commands.
   */
  readonly label?: string;
  /**
   * Standard input that the caller goes on writing while the command runs (a session with a
   * program at the other end); ending the stream gives the command end-of-file. Wins over
   * `input`.
   */
  readonly stdin?: Readable;
  /**
   * How a signal or the watchdog stops this command instead of passing the signal on: `stop` is
   * called, and the command gets `graceMs` to end by itself before it is killed (a remote run
   * told to stop cleans up and reports first).
   */
  readonly stop?: GracefulStop;
}

/** How a command is asked to stop, and how long it may take (see `RunOptions.stop`). */
export interface GracefulStop {
  stop(): void;
  readonly graceMs: number;
}

/**
 * Told what becomes of the batches of checks that `Pct.prefetch` arranges (one `pct exec` for
 * many read-only commands), for the log.
 */
export interface BatchObserver {
  /**
   * A `pct exec` a batch answered instead of a call of its own (for the log and the run
   * record), with the options the caller gave (`hideOutput`).
   */
  answered(result: CommandResult, options: RunOptions): void;
  /**
   * A batch of `checks` checks in container `ctid` gave no usable answer (`why`): each command
   * runs on its own from then on, one pct call each, which on a real host is much slower.
   */
  unusable(ctid: string, checks: number, why: string): void;
}

/** Which of a command's output streams a line came from. */
export type OutputStream = "stdout" | "stderr";

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
 * import { outputTail } from "./command_text.ts";
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

/**
 * Shows a command for messages about what runs: a `pct exec` as the command inside the
 * container (`vllm --version in container 920`), anything else as {@linkcode displayCommand}.
 *
 * @example
 * ```ts
 * import { describeCommand } from "./command_text.ts";
 * describeCommand(["pct", "exec", "920", "--", "vllm", "--version"]); // "vllm --version in container 920"
 * describeCommand(["pct", "start", "920"]); // "pct start 920"
 * ```
 */
export function describeCommand(argv: readonly string[]): string {
  if (argv[0] === "pct" && argv[1] === "exec" && argv[3] === "--") {
    return `${displayCommand(argv.slice(4))} in container ${argv[2]}`;
  }
  return displayCommand(argv);
}

/** Splits output into lines; a carriage return alone ends one too (progress bars redraw with it). */
export function splitLines(text: string): string[] {
  return text.split(/\r\n|\n|\r/);
}
