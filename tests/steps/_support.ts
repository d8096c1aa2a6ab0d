/**
 * A scripted container for step-library tests: an in-memory `pct` (status, start, shutdown,
 * config, set, push, exec) over one container with files, answering `pct exec` from rules the
 * test declares, then from a few builtins (`cat`, `stat -c %a`, `mkdir -p`, `chmod`, `test`,
 * `rm -f`, `touch`, `readlink`, `ln -sfn`). Every call is recorded, and the context steps see is
 * built over it with a logging runner, so tests can assert on the argv and on the log lines.
 *
 * @module
 */

import { type CommandRunner, loggingRunner, type RunOptions } from "../../lib/command.ts";
import type { SetupContext } from "../../lib/container_module.ts";
import { InContainer } from "../../lib/in_container.ts";
import { Pct } from "../../lib/pct.ts";
import type { Clock } from "../../lib/wait.ts";
import { RecordingLog } from "../support/recording_log.ts";
import type { Answer, Call } from "../support/scripted_runner.ts";

/** A file in the fake container. */
export interface FakeFile {
  content: string;
  mode: string;
}

/** Matches a command run in the container: exact text (argv joined by spaces), a RegExp, or a predicate. */
export type Match = string | RegExp | ((argv: readonly string[]) => boolean);

/** How a rule answers: fixed, or computed (and free to change the container). */
export type Reply = Answer | ((argv: readonly string[], ct: FakeCt) => Answer);

interface Rule {
  readonly match: Match;
  readonly reply: Reply;
  times: number;
}

function matches(match: Match, argv: readonly string[]): boolean {
  if (typeof match === "string") return argv.join(" ") === match;
  if (match instanceof RegExp) return match.test(argv.join(" "));
  return match(argv);
}

/** pct subcommands that change the container. */
const MUTATING = ["start", "shutdown", "stop", "set", "push"];

/** One scripted container, CTID 901 unless told. */
export class FakeCt {
  readonly ctid: string;
  status: "running" | "stopped";
  /** `pct config` keys and values. */
  readonly config: Record<string, string>;
  readonly files = new Map<string, FakeFile>();
  readonly links = new Map<string, string>();
  readonly calls: Call[] = [];
  /** Makes `pct push` exit 0 without writing anything, as the real one does on failure. */
  pushWritesNothing = false;
  /** Makes `pct push` ignore `--perms` (a replaced file keeps its mode). */
  pushIgnoresPerms = false;
  /** Inspects each push while its host file still exists. */
  onPush?: (hostFile: string, dest: string) => void | Promise<void>;
  readonly #rules: Rule[] = [];
  readonly #failures = new Map<string, string[]>();

  constructor(
    options: {
      ctid?: string;
      status?: "running" | "stopped";
      config?: Record<string, string>;
      files?: Record<string, string | FakeFile>;
    } = {},
  ) {
    this.ctid = options.ctid ?? "901";
    this.status = options.status ?? "running";
    this.config = { ...options.config };
    for (const [path, file] of Object.entries(options.files ?? {})) {
      this.files.set(path, typeof file === "string" ? { content: file, mode: "0644" } : file);
    }
  }

  /**
   * Answers commands matching `match` with `reply`; the newest rule wins, so a test can override
   * an earlier one. `times` limits how often the rule answers (then it is skipped).
   */
  on(match: Match, reply: Reply = {}, times = Infinity): this {
    this.#rules.unshift({ match, reply, times });
    return this;
  }

  /** Makes the next `pct <subcommand>` fail with `stderr` (exit 255) without doing anything. */
  failNext(subcommand: string, stderr: string): this {
    this.#failures.set(subcommand, [...(this.#failures.get(subcommand) ?? []), stderr]);
    return this;
  }

  /** The runner to put under `Pct`. */
  readonly run: CommandRunner = async (argv, options) => {
    this.calls.push({ argv: [...argv], options });
    const answer = await this.#answer(argv, options);
    return {
      argv,
      exitCode: answer.exitCode ?? 0,
      stdout: answer.stdout ?? "",
      stderr: answer.stderr ?? "",
      durationMs: 0,
    };
  };

  /** Every call's argv, `pct` included. */
  argvs(): string[][] {
    return this.calls.map((call) => [...call.argv]);
  }

  /** The commands run inside the container (the part after `pct exec <CTID> --`). */
  execs(): string[][] {
    return this.argvs().filter((argv) => argv[1] === "exec").map((argv) => argv.slice(4));
  }

  /** The commands inside the container, each joined by spaces. */
  execLines(): string[] {
    return this.execs().map((argv) => argv.join(" "));
  }

  /** The pct calls that change the container, without the leading `pct`. */
  mutatingCalls(): string[][] {
    return this.argvs().filter((argv) => MUTATING.includes(argv[1])).map((argv) => argv.slice(1));
  }

  /** Forgets the calls so far (e.g. between a first run and a re-run). */
  clearCalls(): void {
    this.calls.length = 0;
  }

  /**
   * The context a step sees, over this container, logging into a {@linkcode RecordingLog}.
   */
  context<S = undefined>(
    options: { settings?: S; hostRoot?: string; env?: Record<string, string> } = {},
  ): SetupContext<S> & { log: RecordingLog } {
    const log = new RecordingLog();
    const pct = new Pct(loggingRunner(this.run, log));
    return {
      ctid: this.ctid,
      settings: options.settings as S,
      container: new InContainer(pct, this.ctid),
      pct,
      log,
      env: options.env ?? {},
      hostRoot: options.hostRoot ?? "/nonexistent-host-root",
    };
  }

  async #answer(argv: readonly string[], options: RunOptions | undefined): Promise<Answer> {
    if (argv[0] !== "pct") return { exitCode: 127, stderr: `${argv[0]}: command not found\n` };
    const [, sub, ctid, ...rest] = argv;
    if (ctid !== this.ctid) {
      return {
        exitCode: 255,
        stderr: `Configuration file 'nodes/pve/lxc/${ctid}.conf' does not exist\n`,
      };
    }
    if (sub === "push") await this.onPush?.(rest[0], rest[1]);
    const failure = this.#failures.get(sub)?.shift();
    if (failure !== undefined) return { exitCode: 255, stderr: `${failure}\n` };
    switch (sub) {
      case "status":
        return { stdout: `status: ${this.status}\n` };
      case "start":
        if (this.status === "running") {
          return { exitCode: 255, stderr: `CT ${ctid} already running\n` };
        }
        this.status = "running";
        return {};
      case "shutdown":
        if (this.status !== "running") return { exitCode: 255, stderr: `CT ${ctid} not running\n` };
        this.status = "stopped";
        return {};
      case "config":
        return {
          stdout: Object.keys(this.config).sort().map((key) => `${key}: ${this.config[key]}\n`)
            .join(""),
        };
      case "set":
        for (let i = 0; i + 1 < rest.length; i += 2) {
          const key = rest[i].replace(/^--?/, "");
          if (key === "delete") rest[i + 1].split(",").forEach((k) => delete this.config[k]);
          else this.config[key] = rest[i + 1];
        }
        return {};
      case "push": {
        if (this.status !== "running") {
          return { exitCode: 255, stderr: "can only push files to a running CT\n" };
        }
        const [hostFile, dest, ...flags] = rest;
        if (this.pushWritesNothing) return {};
        const perms = flags[0] === "--perms" && !this.pushIgnoresPerms ? flags[1] : undefined;
        const content = await Deno.readTextFile(hostFile);
        const mode = perms ?? this.files.get(dest)?.mode ?? "0644";
        this.files.set(dest, { content, mode });
        return {};
      }
      case "exec": {
        if (rest[0] !== "--") return { exitCode: 255, stderr: "400 unable to parse option\n" };
        if (this.status !== "running") {
          return { exitCode: 255, stderr: `container '${ctid}' not running!\n` };
        }
        return this.#exec(rest.slice(1), options);
      }
      default:
        return { exitCode: 255, stderr: `ERROR: unknown command 'pct ${sub}'\n` };
    }
  }

  #exec(argv: readonly string[], _options: RunOptions | undefined): Answer {
    const rule = this.#rules.find((r) => r.times > 0 && matches(r.match, argv));
    if (rule) {
      rule.times--;
      return typeof rule.reply === "function" ? rule.reply(argv, this) : rule.reply;
    }
    return this.#builtin(argv) ?? {
      exitCode: 127,
      stderr: `lxc-attach: ${this.ctid}: Failed to exec "${argv[0]}"\n` +
        `(test: no rule or builtin for ${JSON.stringify(argv.join(" "))})\n`,
    };
  }

  #builtin(argv: readonly string[]): Answer | undefined {
    const [program, ...args] = argv;
    const missing = (path: string) => ({
      exitCode: 1,
      stderr: `${program}: ${path}: No such file or directory\n`,
    });
    switch (program) {
      case "cat": {
        const file = this.files.get(args[0]);
        return file ? { stdout: file.content } : missing(args[0]);
      }
      case "stat": {
        if (args[0] !== "-c" || args[1] !== "%a") return undefined;
        const file = this.files.get(args[2]);
        return file ? { stdout: `${parseInt(file.mode, 8).toString(8)}\n` } : missing(args[2]);
      }
      case "mkdir":
        return args[0] === "-p" ? {} : undefined;
      case "chmod": {
        const file = this.files.get(args[1]);
        if (!file) return missing(args[1]);
        file.mode = args[0];
        return {};
      }
      case "test": {
        const file = this.files.get(args[1]);
        if (args[0] === "-x") return { exitCode: file && parseInt(file.mode, 8) & 0o111 ? 0 : 1 };
        if (args[0] === "-e" || args[0] === "-f") return { exitCode: file ? 0 : 1 };
        return undefined;
      }
      case "touch":
        if (!this.files.has(args[0])) this.files.set(args[0], { content: "", mode: "0644" });
        return {};
      case "rm":
        if (args[0] !== "-f") return undefined;
        for (const path of args.slice(1)) this.files.delete(path);
        return {};
      case "readlink": {
        const target = this.links.get(args[0]);
        return target === undefined ? { exitCode: 1 } : { stdout: `${target}\n` };
      }
      case "ln":
        if (args[0] !== "-sfn") return undefined;
        this.links.set(args[2], args[1]);
        return {};
      default:
        return undefined;
    }
  }
}

/** A {@linkcode Clock} that only moves when slept on, and remembers every pause. */
export class FakeClock implements Clock {
  time = 0;
  readonly sleeps: number[] = [];

  now(): number {
    return this.time;
  }

  sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.time += ms;
    return Promise.resolve();
  }
}

/** The host fixture trees under `tests/fixtures/host/`. */
export const HOST_FIXTURES = {
  /** Driver 580.76.05 loaded; /dev/nvidia0, nvidia1, nvidiactl, nvidia-uvm, nvidia-uvm-tools. */
  gpu580: new URL("../fixtures/host/gpu_580.76.05/", import.meta.url).pathname,
  /** No NVIDIA driver, no NVIDIA device. */
  noDriver: new URL("../fixtures/host/no_nvidia_driver/", import.meta.url).pathname,
};

/**
 * A temporary host tree: `files` maps paths relative to the root to content. Removed by the
 * returned `cleanup`.
 */
export async function hostTree(
  files: Record<string, string>,
): Promise<{ root: string; cleanup: () => Promise<void> }> {
  const root = await Deno.makeTempDir({ prefix: "phoenix-host-" });
  for (const [path, content] of Object.entries(files)) {
    const full = `${root}/${path}`;
    await Deno.mkdir(full.slice(0, full.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(full, content);
  }
  return { root, cleanup: () => Deno.remove(root, { recursive: true }) };
}
