/**
 * The in-memory transport of the fake `pct`: the same answers as the fake program (both are
 * `handle_pct.ts`), over a state in the test's memory, behind a {@linkcode CommandRunner} that a
 * test injects where the executables inject theirs (`new Pct(run)`, `loggingRunner(run, log)`).
 * No process runs, so unit tests stay fast and exact. What only memory can hold is available here
 * alone: exec rules whose {@linkcode ExecRule.reply} is a function, and the
 * {@linkcode InMemoryPctOptions.onPush} hook.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Pct } from "../../lib/host/pct.ts";
 * import { InMemoryPct } from "./in_memory.ts";
 *
 * const fake = new InMemoryPct({ containers: { "920": { status: "stopped" } } });
 * const pct = new Pct(fake.run);
 * await pct.start("920");
 * assert.equal(await pct.status("920"), "running");
 * assert.deepEqual(fake.argvs(), [["start", "920"], ["status", "920"]]);
 * assert.deepEqual(fake.mutatingCalls(), [["start", "920"]]);
 * ```
 *
 * @module
 */

import type { CommandResult, CommandRunner, RunOptions } from "../../lib/core/command_text.ts";
import { parseCommand, PctError } from "./_cli.ts";
import { execCommands, mutatingCalls } from "./calls.ts";
import { handlePct, waitOutDelay } from "./handle_pct.ts";
import {
  type FailureRule,
  type FakeContainer,
  type FakePctState,
  type FakePctStateInput,
  normalizeState,
} from "./state.ts";

export { literally } from "./state.ts";
export type * from "./state.ts";

/** One call of {@linkcode InMemoryPct.run}: the argv as given (`pct` first) and its options. */
export interface RecordedCall {
  readonly argv: readonly string[];
  readonly options: RunOptions | undefined;
}

/** A `pct push` as {@linkcode InMemoryPctOptions.onPush} sees it, after pct answered. */
export interface PushCall {
  /** The CTID pushed to. */
  readonly ctid: string;
  /** The host file; it still exists. */
  readonly hostFile: string;
  /** The path inside the container. */
  readonly destination: string;
  /** The state, which the hook may change. */
  readonly state: FakePctState;
  /** What pct answered. */
  readonly result: CommandResult;
}

/** What only the in-memory transport offers. */
export interface InMemoryPctOptions {
  /**
   * Runs after each `pct push` whose arguments pct accepted, failed pushes included, while the
   * caller's host file still exists: to look at that file, or to model a quirk of the real push
   * by changing the state.
   */
  readonly onPush?: (push: PushCall) => void | Promise<void>;
}

/** A fake `pct` in memory: inject {@linkcode InMemoryPct.run}, then assert calls and state. */
export class InMemoryPct {
  /** Everything the fake knows; tests may read and change it between calls. */
  readonly state: FakePctState;
  readonly #calls: RecordedCall[] = [];
  readonly #options: InMemoryPctOptions;

  /**
   * @param state The initial state, declared as for the fake program; omitted parts are empty.
   * @param options Hooks only memory can hold.
   * @throws {SyntaxError} When an exec rule's `match` is not a valid regular expression.
   */
  constructor(state: FakePctStateInput = { containers: {} }, options: InMemoryPctOptions = {}) {
    this.state = normalizeState(state);
    this.#options = options;
  }

  /**
   * The runner: records the call, then answers `pct ...` as the fake program would, with
   * `options.input` as standard input. Anything but `pct` is "command not found" (127).
   */
  readonly run: CommandRunner = async (argv, options) => {
    this.#calls.push({ argv: [...argv], options });
    if (argv[0] !== "pct") {
      return result(argv, { exitCode: 127, stdout: "", stderr: `${argv[0]}: command not found\n` });
    }
    const outcome = await handlePct(this.state, argv.slice(1), {
      readStdin: () => Promise.resolve(options?.input ?? ""),
    });
    // Each line reaches onOutput when the fake program would print it: progress before the
    // delay, the rest after.
    const stream = (name: "stdout" | "stderr", text = "") => {
      for (const line of text.split(/\r\n|\n|\r/)) if (line.trim()) options?.onOutput?.(name, line);
    };
    stream("stdout", outcome.progress);
    await waitOutDelay(outcome);
    stream("stdout", outcome.stdout);
    stream("stderr", outcome.stderr);
    const answer = result(argv, { ...outcome, stdout: (outcome.progress ?? "") + outcome.stdout });
    if (argv[1] === "push") await this.#pushed(argv, answer);
    return answer;
  };

  /**
   * The container `ctid`, to read or change between calls.
   *
   * @throws {Error} When there is none: a mistake in the test.
   */
  container(ctid: string): FakeContainer {
    const container = this.state.containers[ctid];
    if (!container) throw new Error(`The fake pct has no container ${ctid}`);
    return container;
  }

  /**
   * Makes the next call of `command` that no earlier failure takes fail: a
   * {@linkcode FailureRule} for one call.
   *
   * @example `pct shutdown` times out once:
   * ```ts
   * import { InMemoryPct } from "./in_memory.ts";
   * const pct = new InMemoryPct({ containers: { "920": { status: "running" } } });
   * pct.failNext("shutdown", { stderr: "container did not stop" });
   * ```
   */
  failNext(command: string, failure: Omit<FailureRule, "command" | "times" | "fired">): void {
    this.state.failures.push({ ...failure, command, times: 1 });
  }

  /** Every call so far, oldest first, as given to {@linkcode run}. */
  calls(): RecordedCall[] {
    return [...this.#calls];
  }

  /** The argv of every call without the leading `pct`, like `FakePct.calls()`. */
  argvs(): string[][] {
    return this.#calls.map(({ argv }) => argv[0] === "pct" ? argv.slice(1) : [...argv]);
  }

  /** The subcommand of every call, in order (`["listsnapshot", "exec", ...]`). */
  subcommands(): string[] {
    return this.argvs().map((argv) => argv[0]);
  }

  /** The commands run inside containers: what follows `--` in each `pct exec`. */
  execs(): string[][] {
    return execCommands(this.argvs());
  }

  /** {@linkcode execs}, each joined by single spaces (what an exec rule's `match` sees). */
  execLines(): string[] {
    return this.execs().map((argv) => argv.join(" "));
  }

  /** The calls whose subcommand changes a container, without the leading `pct`. */
  mutatingCalls(): string[][] {
    return mutatingCalls(this.argvs());
  }

  /** Forgets the calls so far (e.g. between a first run and a re-run); the state stays. */
  clearCalls(): void {
    this.#calls.length = 0;
  }

  async #pushed(argv: readonly string[], answer: CommandResult): Promise<void> {
    if (!this.#options.onPush) return;
    let args: Readonly<Record<string, string>>;
    try {
      args = parseCommand("push", argv.slice(2)).args;
    } catch (error) {
      if (error instanceof PctError) return;
      throw error;
    }
    await this.#options.onPush({
      ctid: args.vmid,
      hostFile: args.file,
      destination: args.destination,
      state: this.state,
      result: answer,
    });
  }
}

function result(
  argv: readonly string[],
  output: { exitCode: number; stdout: string; stderr: string },
): CommandResult {
  return {
    argv,
    exitCode: output.exitCode,
    stdout: output.stdout,
    stderr: output.stderr,
    durationMs: 0,
  };
}
