/**
 * One end-to-end scenario: a fake `pct` with its own state, a config file, a log file and a lock
 * directory in a temporary folder, and the compiled executable run against them.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { mutatingCalls } from "../fake_pct/calls.ts";
import { FakePct, type FakePctStateInput, type PctProcess } from "../fake_pct/fake_pct.ts";
import { eventually } from "../support/assertions.ts";
import { compiledExecutable, type Run, runExecutable } from "../support/executables.ts";

/** The orchestrator's log line format. */
export const LOG_LINE = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[(DEBUG|INFO|WARN|ERROR|FATAL)\] (\S+): /;

/** A prepared scenario; dispose of it when done. */
export class Scenario implements AsyncDisposable {
  constructor(
    readonly fake: FakePct,
    readonly dir: string,
    readonly ctid: string,
    readonly extraEnv: Record<string, string>,
  ) {}

  /** Creates the fake and writes `config` (text, JSONC allowed) as the config file. */
  static async create(
    ctid: string,
    state: FakePctStateInput,
    config: string,
    extraEnv: Record<string, string> = {},
  ): Promise<Scenario> {
    const fake = await FakePct.create(state);
    const dir = await Deno.makeTempDir({ prefix: "phoenix-scenario-" });
    await Deno.writeTextFile(join(dir, "phoenix_lxc_configs.json"), config);
    return new Scenario(fake, dir, ctid, extraEnv);
  }

  get configFile(): string {
    return join(this.dir, "phoenix_lxc_configs.json");
  }

  get logFile(): string {
    return join(this.dir, "phoenix_hypervisor.log");
  }

  /** `PHOENIX_LOCK_DIR`. */
  get lockDir(): string {
    return join(this.dir, "lock");
  }

  /** The lock file a run for this CTID takes (in {@linkcode lockDir}). */
  get lockFile(): string {
    return join(this.lockDir, `phoenix_hypervisor_setup_${this.ctid}.lock`);
  }

  /** The environment the orchestrator would give, pointed at this scenario. */
  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      ...this.fake.env(),
      LXC_CONFIG_FILE: this.configFile,
      HYPERVISOR_CONFIG_FILE: join(this.dir, "phoenix_hypervisor_config.json"),
      MAIN_LOG_FILE: this.logFile,
      PHOENIX_DEBUG: "false",
      PHOENIX_LOCK_DIR: this.lockDir,
      LANG: "en_US.UTF-8",
      LC_ALL: "en_US.UTF-8",
      ...this.extraEnv,
      ...extra,
    };
  }

  /**
   * Runs the compiled executable for this CTID (or `path`) with `args` (default: the CTID);
   * `wrapper` is a command that runs it (e.g. `prlimit --nofile=20`).
   */
  async run(
    args: readonly string[] = [this.ctid],
    options: {
      path?: string;
      env?: Record<string, string>;
      wrapper?: readonly string[];
      /** The name it is invoked by (a symlink of that name); see `runExecutable`. */
      argv0?: string;
    } = {},
  ): Promise<Run> {
    const path = options.path ?? await compiledExecutable(this.ctid);
    const result = await runExecutable(path, args, this.env(options.env), {
      wrapper: options.wrapper,
      argv0: options.argv0,
    });
    // No runtime warning may reach the orchestrator's console (zx's DEP0190, Deno notices).
    assert.doesNotMatch(result.stderr + result.stdout, /DEP0190|DeprecationWarning|Warning:/);
    return result;
  }

  /**
   * Starts the compiled executable for this CTID with `args`, like {@linkcode run} but without
   * waiting: for tests that signal it while it runs.
   */
  async spawn(
    args: readonly string[] = [this.ctid],
    options: { env?: Record<string, string> } = {},
  ): Promise<Deno.ChildProcess> {
    return new Deno.Command(await compiledExecutable(this.ctid), {
      args: [...args],
      env: this.env(options.env),
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  }

  /**
   * Waits until a `pct` process matching `wanted` has started (at most 30 s), and returns it.
   *
   * @throws {AssertionError} When none started in time.
   */
  async waitForPct(wanted: (argv: readonly string[]) => boolean): Promise<PctProcess> {
    let found: PctProcess | undefined;
    await eventually(
      async () => (found = (await this.fake.processes()).find((p) => wanted(p.argv))) !== undefined,
      "The awaited pct call never came",
      30_000,
    );
    return found!;
  }

  /** The pct calls so far, as argv without `pct`. */
  calls(): Promise<string[][]> {
    return this.fake.calls();
  }

  /** The calls that change a container (exec is judged separately by the caller). */
  async mutatingCalls(): Promise<string[][]> {
    return mutatingCalls(await this.calls());
  }

  /** The log file's lines (empty when it was never written). */
  async logLines(): Promise<string[]> {
    try {
      return (await Deno.readTextFile(this.logFile)).split("\n").filter((l) => l !== "");
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return [];
      throw error;
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.fake.cleanup();
    await Deno.remove(this.dir, { recursive: true });
  }
}
