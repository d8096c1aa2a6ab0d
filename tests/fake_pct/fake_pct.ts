/**
 * The test side of the fake `pct`: sets up a directory with a state and a `bin/pct` wrapper, so
 * that a program started with {@linkcode FakePct.env} finds the fake on `PATH`, and lets the test
 * read the calls made and the resulting state.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FakePct } from "./fake_pct.ts";
 *
 * await using pct = await FakePct.create({ containers: { "950": { status: "stopped" } } });
 * const result = await pct.run(["start", "950"]);
 * assert.equal(result.exitCode, 0);
 * assert.deepEqual(await pct.calls(), [["start", "950"]]);
 * assert.equal((await pct.state()).containers["950"].status, "running");
 * ```
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import {
  callsFile,
  type FakePctState,
  type FakePctStateInput,
  normalizeState,
  type PctProcess,
  processesFile,
  readState,
  withStateLock,
  writeState,
} from "./state.ts";
import { shellQuote } from "../support/shell_quote.ts";

export { literally, type PctProcess } from "./state.ts";
export type * from "./state.ts";

/** The fake program the wrapper runs. */
const PCT_SCRIPT = fileURLToPath(new URL("./pct.ts", import.meta.url));

/** What one run of the fake `pct` returned. */
export interface PctRunResult {
  /** The exit code. */
  readonly exitCode: number;
  /** Everything written to stdout. */
  readonly stdout: string;
  /** Everything written to stderr. */
  readonly stderr: string;
}

/** The state, checked to hold nothing that `state.json` cannot: functions exist only in memory. */
function savable(state: FakePctState): FakePctState {
  const rule = state.exec.find((rule) => rule.reply !== undefined);
  if (rule) {
    throw new TypeError(
      `Cannot save exec rule "${rule.match}" for the fake pct program: its reply is a ` +
        "function, which works only in memory (InMemoryPct)",
    );
  }
  return state;
}

/** A fake `pct` with its own state directory. Dispose of it (or call `cleanup`) when done. */
export class FakePct implements AsyncDisposable {
  /** The state directory (`FAKE_PCT_DIR`): `state.json`, `calls.jsonl`, `bin/`. */
  readonly dir: string;
  /** The directory holding the `pct` wrapper; put it first on `PATH`. */
  readonly binDir: string;

  private constructor(dir: string) {
    this.dir = dir;
    this.binDir = `${dir}/bin`;
  }

  /**
   * Creates a temporary directory with the given state, an empty call log and the `bin/pct`
   * wrapper.
   *
   * @param state The initial state; omitted parts default to empty (node `pve`).
   * @returns The fake, ready to use.
   * @throws {SyntaxError} When an exec rule's `match` is not a valid regular expression.
   * @throws {TypeError} When an exec rule has a `reply` function, which works only in memory.
   */
  static async create(state: FakePctStateInput = { containers: {} }): Promise<FakePct> {
    const normalized = savable(normalizeState(state));
    const fake = new FakePct(await Deno.makeTempDir({ prefix: "fake_pct_" }));
    await Deno.mkdir(fake.binDir);
    await writeState(fake.dir, normalized);
    await Deno.writeTextFile(callsFile(fake.dir), "");
    // FAKE_PCT_DIR defaults to this fake, so the wrapper works even for a program that passes
    // its children a reduced environment. --no-config: the caller's working directory must
    // not decide which deno.json (and lock file) the fake runs with.
    const wrapper = [
      "#!/bin/sh",
      `[ -n "\${FAKE_PCT_DIR:-}" ] || FAKE_PCT_DIR=${shellQuote(fake.dir)}`,
      "export FAKE_PCT_DIR",
      `exec ${shellQuote(Deno.execPath())} run --allow-all --quiet --no-config ` +
      `${shellQuote(PCT_SCRIPT)} "$@"`,
      "",
    ].join("\n");
    await Deno.writeTextFile(fake.pctPath, wrapper, { mode: 0o755 });
    await Deno.chmod(fake.pctPath, 0o755);
    return fake;
  }

  /** The absolute path of the `pct` wrapper. */
  get pctPath(): string {
    return `${this.binDir}/pct`;
  }

  /**
   * The environment entries a program needs to use this fake: `PATH` with {@linkcode binDir}
   * first, and `FAKE_PCT_DIR`. Merge them over the rest of the environment.
   */
  env(): Record<string, string> {
    const path = Deno.env.get("PATH");
    return {
      PATH: path ? `${this.binDir}:${path}` : this.binDir,
      FAKE_PCT_DIR: this.dir,
    };
  }

  /** The argv (without `pct`) of every call so far, in order. */
  async calls(): Promise<string[][]> {
    const text = await Deno.readTextFile(callsFile(this.dir));
    return text.split("\n").filter((line) => line !== "").map((line) => JSON.parse(line));
  }

  /** Every `pct` process so far: its pid, argv and the names of its environment variables. */
  async processes(): Promise<PctProcess[]> {
    let text = "";
    try {
      text = await Deno.readTextFile(processesFile(this.dir));
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    return text.split("\n").filter((line) => line !== "").map((line) => JSON.parse(line));
  }

  /** Forgets the calls made so far. */
  async clearCalls(): Promise<void> {
    await Deno.writeTextFile(callsFile(this.dir), "");
  }

  /** The current state, including the `fired` counts of failure rules. */
  state(): Promise<FakePctState> {
    return readState(this.dir);
  }

  /**
   * Replaces the whole state.
   *
   * @param state The new state; omitted parts default to empty.
   * @throws {SyntaxError} When an exec rule's `match` is not a valid regular expression.
   * @throws {TypeError} When an exec rule has a `reply` function, which works only in memory.
   */
  async setState(state: FakePctStateInput): Promise<void> {
    const normalized = savable(normalizeState(state));
    await withStateLock(this.dir, () => writeState(this.dir, normalized));
  }

  /**
   * Changes the state under the lock, safe while `pct` processes run.
   *
   * @param change Changes the state in place, or returns a replacement.
   * @returns The state as saved.
   *
   * @example
   * ```ts
   * import { FakePct } from "./fake_pct.ts";
   *
   * await using pct = await FakePct.create({ containers: { "950": { status: "stopped" } } });
   * await pct.update((state) => {
   *   state.containers["950"].status = "running";
   * });
   * ```
   */
  update(
    change: (state: FakePctState) => void | FakePctStateInput | Promise<void | FakePctStateInput>,
  ): Promise<FakePctState> {
    return withStateLock(this.dir, async () => {
      const state = await readState(this.dir);
      const next = savable(normalizeState((await change(state)) ?? state));
      await writeState(this.dir, next);
      return next;
    });
  }

  /**
   * Runs the fake `pct` with `args`, the way a program under test would.
   *
   * @param args The arguments after `pct`.
   * @param options `stdin`: text for its standard input (none when absent).
   * @returns Exit code and output.
   */
  async run(args: readonly string[], options: { stdin?: string } = {}): Promise<PctRunResult> {
    const child = new Deno.Command(this.pctPath, {
      args: [...args],
      env: this.env(),
      stdin: options.stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    if (options.stdin !== undefined) {
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode(options.stdin));
      await writer.close();
    }
    const output = await child.output();
    const decoder = new TextDecoder();
    return {
      exitCode: output.code,
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
    };
  }

  /** Removes the directory. */
  async cleanup(): Promise<void> {
    await Deno.remove(this.dir, { recursive: true });
  }

  /** Same as {@linkcode cleanup}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.cleanup();
  }
}
