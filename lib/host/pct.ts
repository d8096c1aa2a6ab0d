/**
 * The `pct` client: the only way the setup executables touch a container. Parses pct's output
 * exactly as `../shared/docs/pct.md` describes it, and turns a failed call into a
 * {@linkcode CommandError} that quotes pct's stderr.
 *
 * @module
 */

import {
  type BatchObserver,
  CommandError,
  type CommandResult,
  type CommandRunner,
  outputTail,
  TIMEOUT_EXIT_CODE,
} from "../core/command_text.ts";
import {
  parseProbeOutput,
  PROBE_COMMAND_TIMEOUT_SECONDS,
  PROBE_SCRIPT,
  probeArguments,
  type ProbeBatch,
} from "./probe_batch.ts";

/** Subcommands that change nothing: the answers of a batch stay true across them. */
const READ_ONLY = new Set(["status", "config", "listsnapshot"]);

/** The key of `pct exec <ctid> -- argv` among a batch's answers. */
function execKey(ctid: string, argv: readonly string[]): string {
  return JSON.stringify(["exec", ctid, "--", ...argv]);
}

/**
 * How the log shows a batch: what it asks, not its script (`11 checks in one call in container
 * 950, then 3 of the verification's if all pass`).
 */
function batchLabel(ctid: string, batch: ProbeBatch): string {
  const verifications = batch.verifications.length;
  return `${batch.checks.length} check${batch.checks.length === 1 ? "" : "s"} in one call in ` +
    `container ${ctid}` +
    (verifications ? `, then ${verifications} of the verification's if all pass` : "");
}

/** Whether a container runs, as `pct status` reports it. */
export type ContainerStatus = "running" | "stopped";

/**
 * What `pct status <ctid> --verbose` tells besides whether the container runs (pve-container's
 * `vmstatus`: sorted `key: value` lines; `lock` empty or absent when none is held, `template`
 * only for a Proxmox template).
 */
export interface ContainerState {
  readonly status: ContainerStatus;
  /** The Proxmox lock held on the container (`backup`, `snapshot`, ...); absent when none. */
  readonly lock?: string;
  /** The container was converted to a Proxmox template (`pct template`, `template: 1`). */
  readonly proxmoxTemplate: boolean;
}

/** Options of `pct shutdown`. */
export interface ShutdownOptions {
  /** Seconds pct waits for a clean shutdown before it gives up (or force-stops). */
  readonly timeoutSeconds: number;
  /** Hard-stop the container when the clean shutdown does not finish in time. */
  readonly forceStop?: boolean;
}

/** Options of an `pct exec`. */
export interface ExecOptions {
  /** Text for the command's standard input (e.g. file content; never logged). */
  readonly input?: string;
  /** Kill the command after this many milliseconds. */
  readonly timeoutMs?: number;
  /** The output is data, not progress (a file's content): it is not logged. */
  readonly hideOutput?: boolean;
  /**
   * The command changes nothing a check looks at (`docker run --rm hello-world`), so the answers
   * of a batch of checks stay valid after it. Any other command forgets them.
   */
  readonly keepsAnswers?: boolean;
  /** What the command does, in words, for the log (see `RunOptions.label`). */
  readonly label?: string;
}

/** One snapshot as `pct listsnapshot` shows it. */
export interface SnapshotEntry {
  readonly name: string;
  /** The first line of its description; `undefined` for `no-description`. */
  readonly description?: string;
}

/**
 * Parses `pct listsnapshot` output into its snapshots, oldest first, with the first line of each
 * description (the pseudo-entry `current` left out). Names are matched exactly:
 * `base-snapshot` is not found in `vllm-base-snapshot`. A line is the name, the time
 * `YYYY-MM-DD HH:MM:SS`, then the description's first line or `no-description`.
 *
 * @example
 * ```ts
 * import { parseSnapshotEntries } from "./pct.ts";
 * parseSnapshotEntries("`-> base-snapshot   2026-08-29 14:02:11  phoenix-setup 0.1.0 plan=a\n");
 * // [{ name: "base-snapshot", description: "phoenix-setup 0.1.0 plan=a" }]
 * ```
 */
export function parseSnapshotEntries(output: string): SnapshotEntry[] {
  const entries: SnapshotEntry[] = [];
  for (const line of output.split("\n")) {
    const match = /^\s*`->\s+(\S+)(?:\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+(.*))?/.exec(line);
    if (!match || match[1] === "current") continue;
    const text = match[2]?.trimEnd();
    entries.push({
      name: match[1],
      ...(text && text !== "no-description" && { description: text }),
    });
  }
  return entries;
}

/**
 * Parses `pct config` output (`key: value` lines, then raw `lxc.*` lines) into a map. Raw
 * `lxc.*` lines may repeat a key, so their values are kept as a list under that key.
 */
export function parseConfig(output: string): Map<string, string[]> {
  const config = new Map<string, string[]>();
  for (const line of output.split("\n")) {
    const match = /^([A-Za-z0-9_.-]+)\s*[:=]\s?(.*)$/.exec(line.trimEnd());
    if (!match) continue;
    const [, key, value] = match;
    config.set(key, [...(config.get(key) ?? []), value]);
  }
  return config;
}

/** A typed client over the `pct` command line, given a command runner. */
export class Pct {
  readonly #run: CommandRunner;
  readonly #observer: BatchObserver | undefined;
  /** Results of a batch ({@linkcode Pct.prefetch}) by call, each answering one later call. */
  readonly #answers = new Map<string, CommandResult[]>();
  /** Commands to batch at the first `exec` of one of them, by CTID. */
  readonly #pending = new Map<string, ProbeBatch>();
  /** Containers where a batch gave no usable answer: no batch is tried there again. */
  readonly #unbatched = new Set<string>();
  /**
   * Each container's `pct config` output, read once (a call costs hundreds of ms on a real host)
   * and forgotten when this client changes the configuration (`pct set`, `pct snapshot`).
   */
  readonly #configs = new Map<string, Promise<string>>();

  /**
   * @param run Runs each pct command (injected: the zx runner, or a test double).
   * @param observer Told of each exec a batch answered, and of a batch that gave no usable
   *   answer (see {@linkcode Pct.prefetch}).
   */
  constructor(run: CommandRunner, observer?: BatchObserver) {
    this.#run = run;
    this.#observer = observer;
  }

  /**
   * Arranges for the read-only commands of `batch` to run in container `ctid` in one `pct exec`
   * (see `probe_batch.ts`), at the first `exec` of one of them, not before: a check that fails
   * on the host first never reaches the container. Replaces a batch arranged earlier
   * and not yet run. From then until anything other than `status`, `config` or `listsnapshot`
   * reaches pct, each result answers one `exec` of the same argv (without input) without a round
   * trip. A batch that fails as a whole (no bash in the container, say) is forgotten: its
   * commands run one by one, and so do all later ones in that container (another batch would
   * most likely fail the same way, a wasted call each time); the observer is told why. So is a
   * verification's command that the batch's deadline for one command cut off (exit 124): alone,
   * it gets its caller's own, which may be longer.
   */
  prefetch(ctid: string, batch: ProbeBatch): void {
    const empty = batch.checks.length + batch.verifications.length === 0;
    if (empty || this.#unbatched.has(ctid)) this.#pending.delete(ctid);
    else this.#pending.set(ctid, batch);
  }

  /** How many results of a batch are waiting to answer `argv` in container `ctid`. */
  waiting(ctid: string, argv: readonly string[]): number {
    return this.#answers.get(execKey(ctid, argv))?.length ?? 0;
  }

  async #runBatch(ctid: string, batch: ProbeBatch): Promise<void> {
    const commands = [...batch.checks, ...batch.verifications];
    // Not through raw(): the batch changes nothing, so the answers already waiting stay valid.
    const result = await this.#run(
      ["pct", "exec", ctid, "--", "bash", "-c", PROBE_SCRIPT, "bash", ...probeArguments(batch)],
      // Its output is base64; each answer is logged on its own when it is used.
      {
        timeoutMs: (commands.length * PROBE_COMMAND_TIMEOUT_SECONDS + 60) * 1000,
        hideOutput: true,
        label: batchLabel(ctid, batch),
      },
    );
    const unusable = (why: string) => {
      this.#unbatched.add(ctid);
      this.#observer?.unusable(ctid, batch.checks.length, why);
    };
    if (result.exitCode !== 0) {
      const said = outputTail(result.stderr, 1) || outputTail(result.stdout, 1);
      return unusable(`exit code ${result.exitCode}${said ? `: ${said}` : ""}`);
    }
    let results;
    try {
      results = parseProbeOutput(result.stdout, batch);
    } catch (error) {
      return unusable((error as Error).message);
    }
    // A command two checks ask ran twice, in order, as it would without the batch: each answer
    // is what that check would have seen.
    for (const [i, outcome] of results.entries()) {
      if (i >= batch.checks.length && outcome.exitCode === TIMEOUT_EXIT_CODE) continue;
      const argv = commands[i];
      const key = execKey(ctid, argv);
      const answer = { ...outcome, argv: ["pct", "exec", ctid, "--", ...argv], durationMs: 0 };
      this.#answers.set(key, [...this.#answers.get(key) ?? [], answer]);
    }
  }

  /**
   * Runs `pct ...args` and returns the result, whatever the exit code; a read-only command a
   * batch has answered is not run again (see {@linkcode Pct.prefetch}).
   */
  async raw(args: readonly string[], options: ExecOptions = {}): Promise<CommandResult> {
    const key = JSON.stringify(args);
    const ctid = args[1];
    const pending = args[0] === "exec" ? this.#pending.get(ctid) : undefined;
    const batched = pending && [...pending.checks, ...pending.verifications];
    if (batched?.some((argv) => execKey(ctid, argv) === key)) {
      this.#pending.delete(ctid);
      // A batch of one command would be the same round trip, less readable in the log.
      if (batched.length > 1) await this.#runBatch(ctid, pending!);
    }
    const waiting = options.input === undefined ? this.#answers.get(key) : undefined;
    if (waiting) {
      const answer = waiting.shift()!;
      if (waiting.length === 0) this.#answers.delete(key);
      this.#observer?.answered(answer, options);
      return answer;
    }
    // Anything else may change the container: what the batch saw is no longer the truth.
    if (!READ_ONLY.has(args[0]) && !options.keepsAnswers) this.#answers.clear();
    return await this.#run(["pct", ...args], options);
  }

  async #must(args: readonly string[], options: ExecOptions = {}): Promise<CommandResult> {
    const result = await this.raw(args, options);
    if (result.exitCode !== 0) throw new CommandError(`pct ${args.join(" ")}`, result);
    return result;
  }

  /** `pct status`: whether the container runs. Throws when it does not exist. */
  async status(ctid: string): Promise<ContainerStatus> {
    const result = await this.#must(["status", ctid]);
    const match = /^status:\s*(\S+)/m.exec(result.stdout);
    if (match?.[1] === "running" || match?.[1] === "stopped") return match[1];
    // Neither "running" nor "stopped": report it like a failure, quoting what pct printed.
    throw new CommandError(`pct status ${ctid}`, {
      ...result,
      stderr: `unexpected answer ${JSON.stringify(result.stdout.trim())}`,
    });
  }

  /**
   * `pct status --verbose`: whether the container runs, its Proxmox lock and whether it is a
   * Proxmox template, in the one call that also proves it exists. Throws when it does not.
   */
  async state(ctid: string): Promise<ContainerState> {
    const result = await this.#must(["status", ctid, "--verbose"]);
    const fields = parseConfig(result.stdout);
    const status = fields.get("status")?.[0];
    if (status !== "running" && status !== "stopped") {
      throw new CommandError(`pct status ${ctid} --verbose`, {
        ...result,
        stderr: `unexpected answer ${JSON.stringify(result.stdout.trim())}`,
      });
    }
    const lock = fields.get("lock")?.[0]?.trim();
    return { status, ...(lock && { lock }), proxmoxTemplate: fields.get("template")?.[0] === "1" };
  }

  /** `pct start`, which also brings pending configuration into effect. */
  async start(ctid: string): Promise<void> {
    this.#configs.delete(ctid);
    await this.#must(["start", ctid]);
  }

  /**
   * `pct shutdown --timeout N`. pct itself waits up to about 2N+5 s before it reports
   * `container did not stop`; the process is killed a little after that so a hung pct
   * cannot hang the run.
   */
  async shutdown(ctid: string, options: ShutdownOptions): Promise<void> {
    const args = ["shutdown", ctid, "--timeout", String(options.timeoutSeconds)];
    if (options.forceStop) args.push("--forceStop", "1");
    await this.#must(args, { timeoutMs: (2 * options.timeoutSeconds + 30) * 1000 });
  }

  /** `pct exec <ctid> -- argv...`: runs argv inside the container; never throws on its exit code. */
  exec(ctid: string, argv: readonly string[], options: ExecOptions = {}): Promise<CommandResult> {
    return this.raw(["exec", ctid, "--", ...argv], options);
  }

  /** `pct snapshot <ctid> <name>`. */
  async snapshot(ctid: string, name: string, description?: string): Promise<void> {
    const args = ["snapshot", ctid, name];
    if (description) args.push("--description", description);
    this.#configs.delete(ctid);
    await this.#must(args);
  }

  /** `pct listsnapshot`: the snapshots with their descriptions' first lines, oldest first. */
  async snapshots(ctid: string): Promise<SnapshotEntry[]> {
    return parseSnapshotEntries((await this.#must(["listsnapshot", ctid])).stdout);
  }

  /**
   * `pct delsnapshot <ctid> <name>`; with `force`, `--force 1`: removes the snapshot from the
   * configuration even when its storage part is missing (a half-made one).
   */
  async deleteSnapshot(
    ctid: string,
    name: string,
    options: { force?: boolean } = {},
  ): Promise<void> {
    this.#configs.delete(ctid);
    await this.#must(["delsnapshot", ctid, name, ...options.force ? ["--force", "1"] : []]);
  }

  /**
   * `pct config --current 1`: the container's configuration in effect, without pending values
   * (`pct config` alone merges them in: a `features` change made while the container ran shows
   * there, though it takes effect only at the next start). Read once per container; the answer
   * is reused until this client runs `pct set`, `pct snapshot` or `pct unlock` on it (a failed
   * read is not kept).
   */
  async config(ctid: string): Promise<Map<string, string[]>> {
    let text = this.#configs.get(ctid);
    if (text === undefined) {
      text = this.#must(["config", ctid, "--current", "1"]).then((result) => result.stdout);
      this.#configs.set(ctid, text);
      text.catch(() => this.#configs.delete(ctid));
    }
    return parseConfig(await text);
  }

  /**
   * `pct config <ctid>` without `--current`: the configuration with its pending values merged
   * in (a `features` change made while the container ran, which waits for its next start), to
   * tell a pending value from a missing one. Not kept.
   */
  async configWithPending(ctid: string): Promise<Map<string, string[]>> {
    return parseConfig((await this.#must(["config", ctid])).stdout);
  }

  /** `pct set <ctid> --key value ...`; `options` must not be empty. */
  async set(ctid: string, options: Readonly<Record<string, string>>): Promise<void> {
    const args = ["set", ctid];
    for (const [key, value] of Object.entries(options)) args.push(`--${key}`, value);
    try {
      await this.#must(args);
    } finally {
      // Whatever pct did before failing may have changed the configuration too.
      this.#configs.delete(ctid);
    }
  }

  /**
   * `pct config <ctid> --snapshot <name>`: one snapshot's section, the only place `snapstate`
   * (`prepare` or `delete` while half-made) and `snaptime` show.
   */
  async snapshotConfig(ctid: string, name: string): Promise<Map<string, string[]>> {
    return parseConfig((await this.#must(["config", ctid, "--snapshot", name])).stdout);
  }

  /** `pct unlock <ctid>`: clears the container's Proxmox lock, as Proxmox's tools do. */
  async unlock(ctid: string): Promise<void> {
    this.#configs.delete(ctid);
    await this.#must(["unlock", ctid]);
  }
}
