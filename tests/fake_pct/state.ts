/**
 * The state of the fake `pct`: its types, and the one place where `state.json` is read and
 * written. Every part of the fake uses this module: the core that answers a call
 * (`handle_pct.ts`), the fake program and its test helper (`pct.ts`, `fake_pct.ts`), and the
 * in-memory transport (`in_memory.ts`).
 *
 * Two `pct` processes may run at the same time (a setup executable polling `pct status` while
 * another call is in flight), so every read-modify-write holds a lock and every write replaces
 * `state.json` atomically (temp file + rename). A reader that does not modify anything may read
 * without the lock: it sees either the old or the new file, never half of one.
 *
 * @module
 */

/** Whether a container runs, as `pct status` reports it. */
export type FakeStatus = "running" | "stopped";

/** A file inside a container, as the `exec` builtins, `push` and `pull` see it. Text only. */
export interface FakeFile {
  /** The file's content. */
  content: string;
  /** Octal permissions with a leading zero, e.g. `"0644"`; `"0644"` when absent. */
  mode?: string;
  /** Owner set by `pct push --user`. */
  user?: string;
  /** Group set by `pct push --group`. */
  group?: string;
  /**
   * Makes this path a symbolic link to the given target (`content` is then empty): `ln -sfn`
   * creates one, `readlink` prints the target, and `cat`, `test` and `sha256sum` follow it.
   */
  symlink?: string;
}

/**
 * One snapshot of a container. Snapshots form a linear chain, oldest first; the pseudo-entry
 * `current` is the child of the last one.
 *
 * `pct snapshot` records a copy of the container's `config`, `files` and `flags`, and
 * `pct rollback` restores whichever of the three the snapshot holds (a snapshot declared by a
 * test without them restores nothing but still stops the container).
 */
export interface FakeSnapshot {
  /** Snapshot name, e.g. `base-snapshot`. */
  name: string;
  /** Free text; `pct listsnapshot` shows its first line or `no-description`. */
  description?: string;
  /** Creation time as `pct listsnapshot` prints it: `YYYY-MM-DD HH:MM:SS` (local time). */
  time?: string;
  /** The container's `config` when the snapshot was taken. */
  config?: Record<string, string>;
  /** The container's `files` when the snapshot was taken. */
  files?: Record<string, FakeFile>;
  /** The container's `flags` when the snapshot was taken. */
  flags?: string[];
  /**
   * Set while the snapshot is half-made: `prepare` (a `pct snapshot` ended between its prepare
   * and commit phases) or `delete` (a `pct delsnapshot` ended half-way). `pct listsnapshot`
   * lists it like any other; only `pct config <ctid> --snapshot <name>` shows it. Such a
   * container also holds `lock: snapshot` (or `snapshot-delete`), which the test declares.
   */
  snapstate?: "prepare" | "delete";
}

/** One container, keyed by its CTID in {@linkcode FakePctState.containers}. */
export interface FakeContainer {
  /** Whether it runs. */
  status: FakeStatus;
  /** Its name (hostname); `config.hostname` wins when both are set. */
  name?: string;
  /** A template cannot be started. */
  template?: boolean;
  /** A held lock, e.g. `backup` or `snapshot`: most commands then fail with `CT is locked (…)`. */
  lock?: string;
  /** Linear snapshot chain, oldest first. */
  snapshots: FakeSnapshot[];
  /**
   * `pct config` keys and values, e.g. `{ cores: "8", features: "nesting=1" }`. `pct set`
   * writes here (keys lowercased). A bind mount (`mpN` whose value starts with `/`) makes
   * `pct snapshot` fail with `snapshot feature is not available`, as on real storage.
   */
  config: Record<string, string>;
  /**
   * Pending configuration (`[pve:pending]`): values set while the container ran that are not
   * hot-pluggable (`features`), in effect from its next start. `pct config` shows them merged
   * in, `pct config --current 1` does not; `pct start` applies them.
   */
  pending?: Record<string, string>;
  /** The container's file system, keyed by absolute path. */
  files: Record<string, FakeFile>;
  /** Markers that exec rules set ({@linkcode ExecRule.set}) and test ({@linkcode ExecRule.when}). */
  flags: string[];
}

/**
 * What `pct exec <ctid> -- <argv...>` does for a matching command. Rules are tried in order
 * before the builtins; the first match wins.
 *
 * @example Installing a package once: the first run succeeds and sets a flag that a check sees.
 * ```ts
 * const rules: ExecRule[] = [
 *   { match: "^dpkg -s jq$", when: "jq", stdout: "Status: install ok installed\n" },
 *   { match: "^dpkg -s jq$", exit: 1 },
 *   { match: "^apt-get install -y jq$", set: ["jq"] },
 * ];
 * ```
 */
export interface ExecRule {
  /** Only for this container; any container when absent. */
  ctid?: string;
  /**
   * A regular expression (JavaScript syntax, not anchored) tested against the argv after `--`
   * joined by single spaces. Anchor it (`^…$`) to match a whole command.
   */
  match: string;
  /** Matches only while the container has this flag. */
  when?: string;
  /** Matches only while the container does not have this flag. */
  unless?: string;
  /** Exit code of the command; 0 when absent. */
  exit?: number;
  /** Written to stdout as is (include the newline). */
  stdout?: string;
  /** Written to stderr as is (include the newline). */
  stderr?: string;
  /** Flags added to the container. */
  set?: string[];
  /** Flags removed from the container. */
  unset?: string[];
  /** Writes the command's standard input into this file of the container (mode 0644). */
  stdinToFile?: string;
  /** Milliseconds to wait before the output is written (after the state changed). */
  delayMs?: number;
  /**
   * A file (a path on the host): the wait of `delayMs` ends as soon as it exists, so a test ends a
   * long command at the moment it chooses (after the heartbeats it wants to see); `delayMs` stays
   * the deadline.
   */
  releasedBy?: string;
  /**
   * Written to stdout at once, before `delayMs`: output that arrives while the command still
   * runs (a `pip install` saying what it collects), for tests of live output and heartbeats.
   */
  progress?: string;
  /** Answers only the first N matching commands, then no longer matches; always when absent. */
  times?: number;
  /** How many commands this rule has answered; maintained by the fake. */
  fired?: number;
  /**
   * In memory only (`InMemoryPct` in `in_memory.ts`; the fake program refuses it, as a function
   * cannot be saved in `state.json`): computes the command's exit code and output, in place of `exit`,
   * `stdout` and `stderr`, from its argv and the container, which it may change. It runs after
   * `set`, `unset` and `stdinToFile` took effect.
   */
  reply?: (argv: readonly string[], container: FakeContainer) => ExecReply | Promise<ExecReply>;
}

/** What an exec rule's {@linkcode ExecRule.reply} answers; the same defaults as the rule's. */
export type ExecReply = Pick<ExecRule, "exit" | "stdout" | "stderr">;

/**
 * An {@linkcode ExecRule.match} that matches exactly `command`: the argv joined by single spaces,
 * every character taken literally.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { literally } from "./state.ts";
 *
 * assert.equal(literally("docker image inspect --format {{.Id}} x"),
 *   "^docker image inspect --format \\{\\{\\.Id\\}\\} x$");
 * ```
 */
export function literally(command: string | readonly string[]): string {
  const line = typeof command === "string" ? command : command.join(" ");
  return `^${line.replace(/[\\^$.*+?()[\]{}|]/g, "\\$&")}$`;
}

/**
 * Makes a `pct` subcommand fail. Checked after the arguments were validated (a parameter error
 * is always reported) and before anything else, including whether the container exists.
 *
 * @example `pct shutdown` hangs once, then works:
 * ```ts
 * const failure: FailureRule = { command: "shutdown", stderr: "container did not stop", times: 1 };
 * ```
 */
export interface FailureRule {
  /** The pct subcommand, e.g. `"shutdown"`. */
  command: string;
  /** Only for this container; any container when absent. */
  ctid?: string;
  /** Exit code; 255 when absent. `0` models `pct push`/`pct pull` failing silently. */
  exit?: number;
  /** The error line on stderr (a newline is added when missing). */
  stderr: string;
  /**
   * What goes to stdout instead: by default nothing, or with `effect: "apply"` what the command
   * itself printed. With `exit: 0` this makes pct give a wrong answer, e.g. a stale `pct status`.
   */
  stdout?: string;
  /** Fail only the first N matching calls, then behave normally; always when absent. */
  times?: number;
  /**
   * `"none"` (default): nothing changes. `"apply"`: the command does its work, then reports the
   * failure anyway (e.g. a task that failed after it started the container).
   */
  effect?: "none" | "apply";
  /** Milliseconds to wait before the failure is reported. */
  delayMs?: number;
  /** How many times this rule has fired; maintained by the fake. */
  fired?: number;
}

/**
 * Everything the fake `pct` knows, as stored in `$FAKE_PCT_DIR/state.json`.
 * {@linkcode FakePctStateInput} is the same with the empty parts optional.
 */
export interface FakePctState {
  /** The node name in error messages (`nodes/<node>/lxc/<vmid>.conf`). */
  node: string;
  /** Containers by CTID. */
  containers: Record<string, FakeContainer>;
  /** What `pct exec` does, tried in order before the builtins. */
  exec: ExecRule[];
  /** Failures to inject. */
  failures: FailureRule[];
  /**
   * How long every call takes at least, in milliseconds, counted from the start of the `pct`
   * process (a real host's pct, a Perl program, takes hundreds); 0 answers as fast as it can.
   */
  latencyMs: number;
}

/** A container as a test declares it: everything but `status` may be left out. */
export type FakeContainerInput = Partial<FakeContainer> & Pick<FakeContainer, "status">;

/** The state as a test declares it: only `containers` is required. Node defaults to `pve`. */
export interface FakePctStateInput {
  /** The node name; `pve` when absent. */
  node?: string;
  /** Containers by CTID. */
  containers: Record<string, FakeContainerInput>;
  /** What `pct exec` does; none when absent. */
  exec?: ExecRule[];
  /** Failures to inject; none when absent. */
  failures?: FailureRule[];
  /** The least time a call takes; 0 when absent. */
  latencyMs?: number;
}

/**
 * Fills in the defaults of a declared state and checks what can be checked early (each rule's
 * regular expression compiles), so a mistake in a test fails where it is made.
 *
 * @param input The declared state (not modified).
 * @returns A complete state.
 * @throws {SyntaxError} When an exec rule's `match` is not a valid regular expression.
 */
export function normalizeState(input: FakePctStateInput): FakePctState {
  const containers: Record<string, FakeContainer> = {};
  for (const [ctid, container] of Object.entries(input.containers)) {
    containers[ctid] = {
      ...structuredClone(container),
      snapshots: structuredClone(container.snapshots ?? []),
      config: { ...container.config },
      files: structuredClone(container.files ?? {}),
      flags: [...(container.flags ?? [])],
    };
  }
  const exec = (input.exec ?? []).map(({ reply, ...rule }) => {
    try {
      new RegExp(rule.match);
    } catch (error) {
      throw new SyntaxError(`Cannot use exec rule match "${rule.match}": ${error}`);
    }
    return { ...structuredClone(rule), ...(reply && { reply }) };
  });
  return {
    node: input.node ?? "pve",
    containers,
    exec,
    failures: structuredClone(input.failures ?? []),
    latencyMs: input.latencyMs ?? 0,
  };
}

/** The state file inside a fake's directory. */
export function stateFile(dir: string): string {
  return `${dir}/state.json`;
}

/** The call log inside a fake's directory: one JSON array (an argv) per line. */
export function callsFile(dir: string): string {
  return `${dir}/calls.jsonl`;
}

/**
 * The process log inside a fake's directory: one {@linkcode PctProcess} per line, so a test can
 * check what environment reached `pct` and whether a `pct` process outlived its caller.
 */
export function processesFile(dir: string): string {
  return `${dir}/processes.jsonl`;
}

/** One `pct` process, as the fake recorded it when it started. */
export interface PctProcess {
  /** The process id of the fake's own process (the `pct` the caller started). */
  readonly pid: number;
  /** The argv after `pct`. */
  readonly argv: readonly string[];
  /** The names of the environment variables it received, sorted. */
  readonly env: readonly string[];
}

/** Reads the state. Safe without the lock: writes are atomic. */
export async function readState(dir: string): Promise<FakePctState> {
  return JSON.parse(await Deno.readTextFile(stateFile(dir)));
}

/** Replaces the state atomically (temp file + rename in the same directory). */
export async function writeState(dir: string, state: FakePctState): Promise<void> {
  const temp = `${stateFile(dir)}.${Deno.pid}.${crypto.randomUUID()}.tmp`;
  await Deno.writeTextFile(temp, JSON.stringify(state, null, 2) + "\n");
  await Deno.rename(temp, stateFile(dir));
}

/**
 * Runs `fn` while holding the state lock of `dir`.
 *
 * The lock is an exclusive `flock` on `state.lock`. Tests kill hung `pct` processes with SIGKILL,
 * which skips every `finally`; the kernel releases a `flock` with the process, so such a kill can
 * never leave a lock behind (a lock directory or lock file with a pid in it could).
 *
 * @param dir The fake's directory.
 * @param fn The critical section.
 * @returns What `fn` returns.
 */
export async function withStateLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  using file = await Deno.open(`${dir}/state.lock`, { create: true, write: true });
  await file.lock(true);
  try {
    return await fn();
  } finally {
    await file.unlock();
  }
}
