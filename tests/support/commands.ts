/**
 * Running a command from a test and reading what it gave back: `run` never throws on the exit
 * status, `mustRun` does unless it exits 0. The LXC and Debian tiers run the LXC tools, tar and
 * the image build with them.
 *
 * @module
 */

/** What a finished command gave back. */
export interface CommandResult {
  /** Exit status; 128 + n when killed by signal n. */
  readonly code: number;
  /** Standard output, decoded as UTF-8. */
  readonly stdout: string;
  /** Standard error, decoded as UTF-8. */
  readonly stderr: string;
  /** Wall-clock run time in milliseconds. */
  readonly durationMs: number;
}

/** Options for running a command. */
export interface RunOptions {
  /** Text for standard input (stdin is empty otherwise). */
  readonly stdin?: string;
  /** Extra environment variables (on top of this process's environment). */
  readonly env?: Readonly<Record<string, string>>;
  /** Kill the command after this many milliseconds (default 60 000). */
  readonly timeoutMs?: number;
  /** The working directory (default: this process's). */
  readonly cwd?: string;
}

/**
 * Runs argv with piped stdin/stdout/stderr (so nothing gets a pty) and never throws on the exit
 * status.
 *
 * @param argv Program and arguments.
 * @param options Input, extra environment, timeout.
 * @returns The exit status and the decoded output.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { run } from "./commands.ts";
 *
 * const { code, stdout } = await run(["sh", "-c", "read line; echo \"$line\"; exit 3"], {
 *   stdin: "hello\n",
 * });
 * assert.deepEqual([code, stdout], [3, "hello\n"]);
 * ```
 */
export async function run(
  argv: readonly string[],
  options: RunOptions = {},
): Promise<CommandResult> {
  const started = performance.now();
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), options.timeoutMs ?? 60_000);
  let output: Deno.CommandOutput;
  try {
    const child = new Deno.Command(argv[0], {
      args: argv.slice(1),
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: options.env ? { ...options.env } : undefined,
      cwd: options.cwd,
      signal: abort.signal,
    }).spawn();
    const writer = child.stdin.getWriter();
    try {
      if (options.stdin !== undefined) await writer.write(new TextEncoder().encode(options.stdin));
    } catch {
      // The command exited without reading its input; its status tells what happened.
    } finally {
      await writer.close().catch(() => {});
    }
    output = await child.output();
  } finally {
    clearTimeout(timer);
  }
  const decoder = new TextDecoder();
  return {
    code: output.signal ? 128 + signalNumber(output.signal) : output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
    durationMs: performance.now() - started,
  };
}

function signalNumber(signal: Deno.Signal): number {
  const numbers: Partial<Record<Deno.Signal, number>> = {
    SIGHUP: 1,
    SIGINT: 2,
    SIGQUIT: 3,
    SIGABRT: 6,
    SIGKILL: 9,
    SIGUSR1: 10,
    SIGSEGV: 11,
    SIGUSR2: 12,
    SIGPIPE: 13,
    SIGALRM: 14,
    SIGTERM: 15,
  };
  return numbers[signal] ?? 0;
}

/**
 * Runs argv like {@linkcode run}, and throws, quoting the end of its stderr (or stdout), unless it
 * exits 0.
 */
export async function mustRun(
  argv: readonly string[],
  options: RunOptions = {},
): Promise<CommandResult> {
  const result = await run(argv, options);
  if (result.code !== 0) {
    const tail = (result.stderr.trim() || result.stdout.trim()).split("\n").slice(-5).join("\n");
    throw new Error(`Cannot run "${argv.join(" ")}": exit ${result.code}\n${tail}`);
  }
  return result;
}
