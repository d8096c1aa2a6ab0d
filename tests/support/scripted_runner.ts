/**
 * Test doubles for {@linkcode CommandRunner}:
 *
 * - {@linkcode scriptedRunner} records every argv and answers from a function;
 * - {@linkcode PctModel} is a small in-memory `pct` (containers with a power state, snapshots,
 *   config and a few files) that answers like the real one (`../shared/docs/pct.md`), with
 *   one-off failures injectable per subcommand.
 *
 * Neither runs a process, so unit tests stay fast and exact.
 *
 * @module
 */

import type { CommandResult, CommandRunner, RunOptions } from "../../lib/command.ts";

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

/** One container of the model. */
export interface ModelContainer {
  status: "running" | "stopped";
  /** Snapshot names, oldest first. */
  snapshots: string[];
  /** `pct config` keys and values. */
  config: Record<string, string>;
  /** Paths of files that exist inside the container (for the default `exec`). */
  files: Set<string>;
}

/** A failure answered instead of the normal behaviour, once. */
export interface InjectedFailure {
  readonly exitCode?: number;
  readonly stdout?: string;
  readonly stderr: string;
  /** A state change the failed command still made (e.g. a shutdown that did stop the CT). */
  readonly effect?: (model: PctModel) => void;
}

/** Answers a `pct exec` command (argv after `--`) inside container `ctid`. */
export type ExecHandler = (
  ctid: string,
  command: readonly string[],
  options: RunOptions | undefined,
  model: PctModel,
) => Answer;

/** pct subcommands that change a container. */
export const MUTATING_SUBCOMMANDS: readonly string[] = [
  "start",
  "stop",
  "shutdown",
  "reboot",
  "snapshot",
  "delsnapshot",
  "rollback",
  "set",
  "push",
  "destroy",
];

/**
 * The default `pct exec`: `test -e PATH`, `touch PATH`, `rm -f PATH`, `cat PATH`, `true`, `false`
 * against the container's file set; anything else is "command not found" (127).
 */
export const fileExec: ExecHandler = (ctid, command, _options, model) => {
  const files = model.container(ctid).files;
  const [program, ...args] = command;
  switch (program) {
    case "true":
      return {};
    case "false":
      return { exitCode: 1 };
    case "test":
      return { exitCode: args[0] === "-e" && files.has(args[1]) ? 0 : 1 };
    case "touch":
      files.add(args[0]);
      return {};
    case "rm":
      files.delete(args[args.length - 1]);
      return {};
    case "cat":
      return files.has(args[0])
        ? { stdout: "" }
        : { exitCode: 1, stderr: `cat: ${args[0]}: No such file or directory\n` };
    default:
      return {
        exitCode: 127,
        stderr: `lxc-attach: ${ctid}: execute.c: Failed to exec "${program}"\n`,
      };
  }
};

/**
 * A small in-memory `pct`. Answers `status`, `start`, `shutdown`, `stop`, `exec`, `snapshot`,
 * `listsnapshot`, `config`, `set` and `push` as pct.md describes them, records every call, and
 * lets a test make the next call of a subcommand fail with {@linkcode PctModel.failNext}.
 *
 * @example
 * ```ts
 * const model = new PctModel({ "920": { status: "running" } });
 * const pct = new Pct(model.run);
 * ```
 */
export class PctModel {
  readonly containers: Map<string, ModelContainer> = new Map();
  readonly calls: Call[] = [];
  exec: ExecHandler;
  readonly #failures = new Map<string, InjectedFailure[]>();

  constructor(
    containers: Record<
      string,
      Partial<Omit<ModelContainer, "files">> & { files?: Iterable<string> }
    >,
    exec: ExecHandler = fileExec,
  ) {
    for (const [ctid, c] of Object.entries(containers)) {
      this.containers.set(ctid, {
        status: c.status ?? "stopped",
        snapshots: [...(c.snapshots ?? [])],
        config: { ...(c.config ?? {}) },
        files: new Set(c.files ?? []),
      });
    }
    this.exec = exec;
  }

  /** The container `ctid`; throws when the model has none (a test bug). */
  container(ctid: string): ModelContainer {
    const found = this.containers.get(ctid);
    if (!found) throw new Error(`The model has no container ${ctid}`);
    return found;
  }

  /** Makes the next `pct <subcommand>` call answer `failure` instead of doing its work. */
  failNext(subcommand: string, failure: InjectedFailure): void {
    this.#failures.set(subcommand, [...(this.#failures.get(subcommand) ?? []), failure]);
  }

  /** The argv of every call, without the leading `pct`. */
  argvs(): string[][] {
    return this.calls.map((call) => call.argv.slice(1));
  }

  /** The subcommand of every call, in order (`["listsnapshot", "exec", ...]`). */
  subcommands(): string[] {
    return this.calls.map((call) => call.argv[1]);
  }

  /** The calls whose subcommand changes a container. */
  mutatingCalls(): string[][] {
    return this.argvs().filter((argv) => MUTATING_SUBCOMMANDS.includes(argv[0]));
  }

  /** The commands run through `pct exec` (the part after `--`). */
  execCommands(): string[][] {
    return this.argvs().filter((argv) => argv[0] === "exec").map((argv) => argv.slice(3));
  }

  /** The runner to inject into `Pct`. */
  readonly run: CommandRunner = (argv, options) => {
    this.calls.push({ argv: [...argv], options });
    return Promise.resolve(complete(argv, this.#answer(argv, options)));
  };

  #answer(argv: readonly string[], options: RunOptions | undefined): Answer {
    if (argv[0] !== "pct") {
      return { exitCode: 127, stderr: `${argv[0]}: command not found\n` };
    }
    const [, sub, ctid, ...rest] = argv;
    const queued = this.#failures.get(sub);
    if (queued?.length) {
      const failure = queued.shift()!;
      failure.effect?.(this);
      return { exitCode: failure.exitCode ?? 255, stdout: failure.stdout, stderr: failure.stderr };
    }
    const known = [
      "status",
      "start",
      "shutdown",
      "stop",
      "exec",
      "snapshot",
      "listsnapshot",
      "config",
      "set",
      "push",
    ];
    if (!known.includes(sub)) {
      return { exitCode: 255, stderr: `ERROR: unknown command 'pct ${sub}'\n` };
    }
    const ct = this.containers.get(ctid);
    if (!ct) {
      return {
        exitCode: 255,
        stderr: `Configuration file 'nodes/pve/lxc/${ctid}.conf' does not exist\n`,
      };
    }
    switch (sub) {
      case "status":
        return { stdout: `status: ${ct.status}\n` };
      case "start":
        if (ct.status === "running") {
          return { exitCode: 255, stderr: `CT ${ctid} already running\n` };
        }
        ct.status = "running";
        return {};
      case "shutdown":
      case "stop":
        if (ct.status !== "running") return { exitCode: 255, stderr: `CT ${ctid} not running\n` };
        ct.status = "stopped";
        return {};
      case "exec":
        if (rest[0] !== "--") {
          return { exitCode: 255, stderr: "400 unable to parse option\n" };
        }
        if (ct.status !== "running") {
          return { exitCode: 255, stderr: `container '${ctid}' not running!\n` };
        }
        return this.exec(ctid, rest.slice(1), options, this);
      case "snapshot": {
        const name = rest[0];
        if (ct.snapshots.includes(name)) {
          return { exitCode: 255, stderr: `snapshot name '${name}' already used\n` };
        }
        ct.snapshots.push(name);
        return {};
      }
      case "listsnapshot":
        return { stdout: snapshotTree(ct.snapshots) };
      case "config":
        return {
          stdout: Object.keys(ct.config).sort().map((key) => `${key}: ${ct.config[key]}\n`)
            .join(""),
        };
      case "set": {
        if (rest.length === 0) return { exitCode: 255, stderr: "no options specified\n" };
        for (let i = 0; i + 1 < rest.length; i += 2) {
          ct.config[rest[i].replace(/^--?/, "")] = rest[i + 1];
        }
        return {};
      }
      default: // push
        return {};
    }
  }
}

/**
 * `pct listsnapshot` output for a linear chain of snapshots, `current` last, laid out as pct
 * prints it (pct.md).
 */
export function snapshotTree(names: readonly string[], time = "2026-08-29 14:02:11"): string {
  const entries = [
    ...names.map((name) => ({ name, time, text: "no-description" })),
    { name: "current", time: "", text: "You are here!" },
  ];
  return entries.map(({ name, time, text }, depth) => {
    const prefix = `${" ".repeat(depth)}\`->`;
    return `${prefix} ${name.padEnd(30 - prefix.length)} ${time.padEnd(23)} ${text}\n`;
  }).join("");
}
