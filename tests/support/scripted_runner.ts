/**
 * A recording {@linkcode CommandRunner} that answers from a function: for tests of the plumbing
 * around commands (argv, options, how an answer is read), where any answer may be scripted. A
 * test that needs `pct` itself uses the fake pct (`../fake_pct/in_memory.ts`) instead.
 *
 * @module
 */

import type { CommandResult, CommandRunner, RunOptions } from "../../lib/core/command_text.ts";

/** One recorded call of a runner. */
export interface Call {
  readonly argv: readonly string[];
  readonly options: RunOptions | undefined;
}

/** What a scripted command returns; missing fields default to exit 0 and empty output. */
export interface Answer {
  readonly exitCode?: number;
  readonly stdout?: string;
  readonly stderr?: string;
  readonly durationMs?: number;
}

/** A runner that records its calls. */
export interface RecordingRunner {
  /** The runner to inject. */
  readonly run: CommandRunner;
  /** Every call so far, oldest first. */
  readonly calls: Call[];
  /** Just the argv of every call, as plain arrays (handy for `deepEqual`). */
  argvs(): string[][];
}

function complete(argv: readonly string[], answer: Answer): CommandResult {
  return {
    argv,
    exitCode: answer.exitCode ?? 0,
    stdout: answer.stdout ?? "",
    stderr: answer.stderr ?? "",
    durationMs: answer.durationMs ?? 0,
  };
}

/**
 * A runner that records every call and answers with `answer(argv, options)`.
 *
 * @example
 * ```ts
 * const runner = scriptedRunner(() => ({ stdout: "status: running\n" }));
 * ```
 */
export function scriptedRunner(
  answer: (argv: readonly string[], options: RunOptions | undefined) => Answer | Promise<Answer> =
    () => ({}),
): RecordingRunner {
  const calls: Call[] = [];
  return {
    calls,
    argvs: () => calls.map((call) => [...call.argv]),
    run: async (argv, options) => {
      calls.push({ argv: [...argv], options });
      return complete(argv, await answer(argv, options));
    },
  };
}
