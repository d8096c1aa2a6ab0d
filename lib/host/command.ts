/**
 * Running host commands. Every command is an argv array handed to zx, which quotes each element;
 * nothing here glues a command line together. The runner is injected everywhere it is used, so
 * unit tests replace it and end-to-end tests replace `pct` on `PATH`. The words for a command
 * (`CommandResult`, `CommandRunner`, ...) are `core/command_text.ts`; logging every command is
 * `report/logging_runner.ts`.
 *
 * @module
 */

import { spawn as nodeSpawn, type SpawnOptions } from "node:child_process";
import { constants } from "node:os";
import process from "node:process";
import { Readable } from "node:stream";
import { $, type ProcessOutput } from "../deps/zx.ts";
import { SetupError } from "../core/errors.ts";
import { ExitCode } from "../core/exit_codes.ts";
import {
  type CommandResult,
  type CommandRunner,
  displayCommand,
  splitLines,
  TIMEOUT_EXIT_CODE,
} from "../core/command_text.ts";
import type { RunSupervisor } from "./run_supervisor.ts";

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
 * `loggingRunner` (`report/logging_runner.ts`)).
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
    const tracked = options.supervisor?.begin(argv, runOptions.stop);
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
            input: runOptions.stdin ?? (runOptions.input || Readable.from([])),
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
