/**
 * Commands run inside a container, visibly marked as such: a container module writes
 * `ctx.container.run(["vllm", "--version"])`, and the argv goes through `pct exec <CTID> --`
 * with no host shell in between. Shell syntax inside the container is opt-in with
 * {@linkcode InContainer.runScript}, whose values travel as positional parameters, never
 * spliced into the script text.
 *
 * @module
 */

import { CommandError, type CommandResult, displayCommand } from "../core/command_text.ts";
import type { ExecOptions, Pct } from "./pct.ts";

/** Runs commands inside one container through `pct exec`. */
export class InContainer {
  readonly #pct: Pct;
  /** The container's CTID. */
  readonly ctid: string;

  /** @param pct The pct client; @param ctid The container. */
  constructor(pct: Pct, ctid: string) {
    this.#pct = pct;
    this.ctid = ctid;
  }

  /** Runs `argv` in the container and returns the result whatever its exit code. */
  exec(argv: readonly string[], options: ExecOptions = {}): Promise<CommandResult> {
    return this.#pct.exec(this.ctid, argv, options);
  }

  /** Runs `argv` in the container; throws a {@linkcode CommandError} unless it exits 0. */
  async run(argv: readonly string[], options: ExecOptions = {}): Promise<CommandResult> {
    const result = await this.exec(argv, options);
    if (result.exitCode !== 0) {
      throw new CommandError(`In container ${this.ctid}: ${displayCommand(argv)}`, result);
    }
    return result;
  }

  /** Whether `argv` exits 0 in the container. */
  async succeeds(argv: readonly string[], options: ExecOptions = {}): Promise<boolean> {
    return (await this.exec(argv, options)).exitCode === 0;
  }

  /** The trimmed stdout of `argv`, which must succeed. */
  async output(argv: readonly string[], options: ExecOptions = {}): Promise<string> {
    return (await this.run(argv, options)).stdout.trim();
  }

  /**
   * Runs a bash script in the container. `args` become `$1`, `$2`, ... so no value is ever
   * parsed as shell syntax.
   *
   * @example
   * ```ts ignore
   * await ctx.container.runScript('install -d -m 0755 "$1"', ["/opt/vllm"]);
   * ```
   */
  runScript(
    script: string,
    args: readonly string[] = [],
    options: ExecOptions = {},
  ): Promise<CommandResult> {
    return this.run(["bash", "-c", script, "bash", ...args], options);
  }

  /**
   * Arranges for those of the read-only `checks` and `verifications` that no earlier batch
   * answers yet to run in one round trip, at the first {@linkcode InContainer.exec} of one of
   * them, the verification's commands only if every check succeeds; each result then answers one
   * later `exec` of the same argv, until anything changes the container (see
   * {@linkcode Pct.prefetch}).
   */
  prefetch(
    checks: readonly (readonly string[])[],
    verifications: readonly (readonly string[])[] = [],
  ): void {
    const answered = new Map<string, number>();
    const missing = (commands: readonly (readonly string[])[]) =>
      commands.filter((argv) => {
        const key = JSON.stringify(argv);
        const left = answered.get(key) ?? this.#pct.waiting(this.ctid, argv);
        answered.set(key, left - 1);
        return left <= 0;
      });
    const unanswered = missing(checks);
    // With every check answered already, a batch would run the verification's commands without
    // knowing whether a step is still to act (and forget them): they wait for a later batch.
    const unguarded = checks.length > 0 && unanswered.length === 0;
    this.#pct.prefetch(this.ctid, {
      checks: unanswered,
      verifications: unguarded ? [] : missing(verifications),
    });
  }

  /** The command {@linkcode InContainer.readFile} runs for `path`, for a check's probes. */
  static readFileArgv(path: string): string[] {
    return ["cat", path];
  }

  /**
   * The content of `path` in the container, or `undefined` when it does not exist. The content
   * is never logged: it is data, and may be a secret.
   */
  async readFile(path: string): Promise<string | undefined> {
    const result = await this.exec(InContainer.readFileArgv(path), { hideOutput: true });
    return result.exitCode === 0 ? result.stdout : undefined;
  }
}
