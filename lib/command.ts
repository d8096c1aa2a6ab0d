/**
 * Running host commands. Every command is an argv array handed to zx, which quotes each element;
 * nothing here glues a command line together. The runner is injected everywhere it is used, so
 * unit tests replace it and end-to-end tests replace `pct` on `PATH`.
 *
 * @module
 */

import { spawn as nodeSpawn, type SpawnOptions } from "node:child_process";
import { constants } from "node:os";
import process from "node:process";
import { Readable } from "node:stream";
import { $, type ProcessOutput } from "./deps/zx.ts";
import { SetupError } from "./errors.ts";
import { ExitCode } from "./exit_codes.ts";
import { formatDuration } from "./duration.ts";
import { DEFAULTS } from "./environment.ts";
import { startHeartbeat } from "./heartbeat.ts";
import type { Log } from "./logging.ts";
import type { Activity, RunRecord } from "./run_record.ts";
import type { RunSupervisor } from "./run_supervisor.ts";

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

/**
 * Shows a command for messages about what runs: a `pct exec` as the command inside the
 * container (`vllm --version in container 920`), anything else as {@linkcode displayCommand}.
 *
 * @example
 * ```ts
 * import { describeCommand } from "./command.ts";
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

/**
 * The deadline of a command whose caller gives none. Every command gets one: a `pct` that never
 * answers must not hold the run (and the orchestrator) for ever.
 */
export const DEFAULT_TIMEOUT_MS = 30 * 60_000;

/** How long coreutils' `timeout` waits after its TERM before it sends KILL. */
const KILL_AFTER_SECONDS = 10;

/** A command could not be started at all: no process ever ran. */
export class CommandStartError extends SetupError {
  /**
   * @param argv The command.
   * @param cause Why it could not start, e.g. too many open files.
   */
  constructor(argv: readonly string[], cause: unknown) {
    super(
      `Cannot start the command ${displayCommand(argv)}: ${describeStartFailure(cause)}. ` +
        "Nothing ran; check that the host can run commands (free file descriptors and " +
        "processes, a working bash) and try again",
      ExitCode.HostPrerequisite,
      { phase: "starting a command", cause },
    );
    this.name = "CommandStartError";
  }
}

function describeStartFailure(cause: unknown): string {
  const error = cause as { code?: string; message?: string };
  const words: Record<string, string> = {
    ENOENT: "bash was not found",
    EACCES: "permission denied",
    EMFILE: "too many open files",
    ENFILE: "too many open files on the host",
    EAGAIN: "the host cannot start more processes",
    ENOMEM: "not enough memory",
  };
  return (error?.code && words[error.code]) ?? "the system refused to start it";
}

/**
 * A timeout is enforced by coreutils' `timeout`: it kills the command's whole process group
 * (pct and the lxc-attach under it) and reports 124 as documented.
 */
function timeoutPrefix(timeoutMs: number): string[] {
  return ["timeout", `--kill-after=${KILL_AFTER_SECONDS}`, `${Math.max(timeoutMs, 1) / 1000}s`];
}

/** How {@linkcode createCommandRunner} runs commands. */
export interface CommandRunnerOptions {
  /**
   * The whole environment of every command. Default: the caller's own (for `build.ts`); a setup
   * run passes `commandEnvironment(...)`.
   */
  readonly env?: Readonly<Record<string, string>>;
  /** Tracks the running commands, so that a signal can stop them. */
  readonly supervisor?: RunSupervisor;
}

/**
 * A runner that runs commands with zx, without echoing them (logging is the caller's, via
 * {@linkcode loggingRunner}).
 *
 * Each command runs under `bash -c 'exec ...'` (zx's shell; `exec`, so no shell lingers), in a
 * process group of its own, with stdin at end-of-file unless given, and with a deadline: the
 * caller's `timeoutMs` or {@linkcode DEFAULT_TIMEOUT_MS}. Past the deadline and the kill grace,
 * the run stops waiting even if the process ignores every signal. A command that cannot be
 * started throws {@linkcode CommandStartError} at once: zx alone would never settle it.
 */
export function createCommandRunner(options: CommandRunnerOptions = {}): CommandRunner {
  return async (argv, runOptions = {}) => {
    const timeoutMs = runOptions.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const tracked = options.supervisor?.begin(argv);
    const started = performance.now();
    let failedToStart!: (error: unknown) => void;
    const startFailure = new Promise<never>((_, reject) => failedToStart = reject);
    let childPid: number | undefined;
    const spawn = ((command: string, args: string[], spawnOptions: SpawnOptions) => {
      const child = nodeSpawn(command, args, spawnOptions);
      childPid = child.pid;
      const onOutput = runOptions.onOutput;
      if (onOutput) {
        forEachLine(child.stdout, (line) => onOutput("stdout", line));
        forEachLine(child.stderr, (line) => onOutput("stderr", line));
      }
      if (child.pid === undefined) child.once("error", failedToStart);
      else tracked?.started(child.pid);
      return child;
    }) as typeof nodeSpawn;
    let deadlineTimer: number | undefined;
    const pastDeadline = new Promise<"deadline">((resolve) => {
      deadlineTimer = setTimeout(
        () => resolve("deadline"),
        timeoutMs + (KILL_AFTER_SECONDS + 5) * 1000,
      );
    });
    try {
      const output = await Promise.race([
        // In a function, so that a spawn that throws at once is reported like one that fails
        // later.
        (async () =>
          await $({
            nothrow: true,
            quiet: true,
            verbose: false,
            env: { ...(options.env ?? Deno.env.toObject()) },
            detached: true,
            spawn,
            // stdin always reaches end-of-file: left open, a command that reads it would wait.
            input: runOptions.input || Readable.from([]),
          })`${["exec", ...timeoutPrefix(timeoutMs), ...argv]}`)(),
        startFailure,
        pastDeadline,
      ]).catch((error) => {
        throw new CommandStartError(argv, error);
      });
      const durationMs = Math.round(performance.now() - started);
      if (output === "deadline") {
        killGroup(childPid, "SIGKILL");
        return {
          argv,
          exitCode: TIMEOUT_EXIT_CODE,
          stdout: "",
          stderr: `Still running ${durationMs} ms after its ${timeoutMs} ms timeout; killed`,
          durationMs,
        };
      }
      return resultOf(argv, output, timeoutMs, durationMs);
    } finally {
      clearTimeout(deadlineTimer);
      tracked?.ended();
    }
  };
}

/** Splits output into lines; a carriage return alone ends one too (progress bars redraw with it). */
function splitLines(text: string): string[] {
  return text.split(/\r\n|\n|\r/);
}

/**
 * Calls `onLine` with each non-blank line `stream` delivers, as it arrives. A carriage return
 * ends a line too: progress bars redraw with it, and the latest state is what a person wants.
 * Listening beside zx is safe: both see every chunk, and zx still collects the whole output.
 */
function forEachLine(
  stream: Readable | null,
  onLine: (line: string) => void,
): void {
  if (!stream) return;
  const decoder = new TextDecoder();
  let partial = "";
  const emit = (text: string) => {
    const lines = splitLines(text);
    partial = lines.pop()!;
    for (const line of lines) if (line.trim()) onLine(line);
  };
  stream.on("data", (chunk: Uint8Array | string) => {
    emit(partial + (typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true })));
  });
  stream.on("end", () => {
    emit(partial + decoder.decode() + "\n");
  });
}

function killGroup(pid: number | undefined, signal: Deno.Signal): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch { /* gone already */ }
}

function resultOf(
  argv: readonly string[],
  output: ProcessOutput,
  timeoutMs: number,
  durationMs: number,
): CommandResult {
  if (output.exitCode !== null) {
    const timedOut = output.exitCode === TIMEOUT_EXIT_CODE && durationMs >= timeoutMs;
    return {
      argv,
      exitCode: output.exitCode,
      stdout: output.stdout,
      stderr: output.stderr + (timedOut ? `Killed after the ${timeoutMs} ms timeout` : ""),
      durationMs,
    };
  }
  // No exit code: killed by a signal (reported as a shell would, 128 + n).
  const signal = output.signal ?? "an unknown signal";
  return {
    argv,
    exitCode: 128 + (constants.signals[signal as keyof typeof constants.signals] ?? 0),
    stdout: output.stdout,
    stderr: `${output.stderr}Killed by ${signal}`,
    durationMs,
  };
}

/** Runs commands with zx in the caller's own environment; `build.ts` uses it. */
export const zxRunner: CommandRunner = createCommandRunner();

/** How {@linkcode loggingRunner} logs. */
export interface LoggingRunnerOptions {
  /** Records every call and tells which step runs (for the log lines' prefix, and checks). */
  readonly record?: RunRecord;
  /** How often a long command says it is still running. Default `PHOENIX_HEARTBEAT_INTERVAL`'s. */
  readonly heartbeatIntervalMs?: number;
}

/**
 * Wraps a runner so every command is logged with its duration and exit code, and a failed
 * command's stderr tail with it; its output lines go to the log file as they arrive (the
 * console shows them with PHOENIX_DEBUG=true), and a long one beats (see `heartbeat.ts`).
 *
 * The commands of a step's check are logged at DEBUG: a non-zero exit there is the answer
 * "not done yet", which the step reports in its own words. Elsewhere non-zero is logged as
 * information, not as a warning: whoever needed success reports the failure. The log masks
 * secrets, heartbeats included; secrets must not be in argv anyway.
 */
export function loggingRunner(
  run: CommandRunner,
  log: Log,
  options: LoggingRunnerOptions = {},
): CommandRunner {
  const intervalMs = options.heartbeatIntervalMs ?? DEFAULTS.heartbeatSeconds * 1000;
  return async (argv, runOptions) => {
    const activity = options.record?.activity;
    const prefix = activity ? `${activity.label}: ` : "";
    log.debug(`Running: ${displayCommand(argv)}`);
    const heartbeat = startHeartbeat(
      describeCommand(argv),
      intervalMs,
      (text) => log.info(prefix + text),
    );
    const onOutput = outputLogger(log, activity, argv, runOptions, heartbeat.output);
    let streamed = false;
    let result: CommandResult;
    try {
      result = await run(argv, {
        ...runOptions,
        onOutput: (stream, line) => {
          streamed = true;
          onOutput(stream, line);
        },
      });
    } finally {
      heartbeat.stop();
    }
    // A runner that cannot stream (a test double) still gets its output into the log.
    if (!streamed) logOutput(result, onOutput);
    options.record?.commandEnded(runOptions?.hideOutput ? { ...result, stdout: "" } : result);
    logEnd(log, activity, result, formatDuration(result.durationMs));
    return result;
  };
}

/**
 * Logs what a batch of checks answered for one command (`Pct.prefetch`) as
 * {@linkcode loggingRunner} logs a command that ran: its output lines, its exit code, and for a
 * check the answer "no" it gave. No pct call is recorded: none was made.
 */
export function logBatchAnswer(
  log: Log,
  record: RunRecord | undefined,
): (result: CommandResult, options: RunOptions) => void {
  return (result, options) => {
    const activity = record?.activity;
    logOutput(result, outputLogger(log, activity, result.argv, options));
    record?.checkAnswered(options.hideOutput ? { ...result, stdout: "" } : result);
    logEnd(log, activity, result, "answered by the batch of checks");
  };
}

/** The log line of each output line of `argv` (none when its output is hidden). */
function outputLogger(
  log: Log,
  activity: Activity | undefined,
  argv: readonly string[],
  runOptions: RunOptions | undefined,
  heartbeat?: (line: string) => void,
): (stream: OutputStream, line: string) => void {
  const outputLabel = activity?.label ?? describeCommand(argv);
  return (stream, line) => {
    if (runOptions?.hideOutput) return;
    heartbeat?.(line);
    log.output(`${outputLabel} ${stream === "stdout" ? "|" : "stderr|"} ${line}`);
    runOptions?.onOutput?.(stream, line);
  };
}

function logOutput(
  result: CommandResult,
  onOutput: (stream: OutputStream, line: string) => void,
): void {
  for (const stream of ["stdout", "stderr"] as const) {
    for (const line of splitLines(result[stream])) if (line.trim()) onOutput(stream, line);
  }
}

/** The line that ends a command: at DEBUG for a check's (its "no" is an answer), else INFO. */
function logEnd(
  log: Log,
  activity: Activity | undefined,
  result: CommandResult,
  how: string,
): void {
  const say = (message: string) => activity?.checking ? log.debug(message) : log.info(message);
  say(`${displayCommand(result.argv)} (exit ${result.exitCode}, ${how})`);
  const tail = result.exitCode === 0 ? "" : outputTail(result.stderr);
  if (tail) say(`stderr: ${tail}`);
}
