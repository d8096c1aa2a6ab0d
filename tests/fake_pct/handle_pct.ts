/**
 * The core of the fake `pct`: answers one call the way Proxmox's `pct` does, as
 * `../../../shared/docs/pct.md` describes it (texts and exit codes), over a state held in memory.
 * Both transports are built on it: the fake program (`pct.ts`, which keeps the state in a file)
 * and `InMemoryPct` (`in_memory.ts`, which keeps it in the test's memory).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { handlePct } from "./handle_pct.ts";
 * import { normalizeState } from "./state.ts";
 *
 * const state = normalizeState({ containers: { "950": { status: "stopped" } } });
 * const outcome = await handlePct(state, ["start", "950"]);
 * assert.deepEqual(outcome, { stdout: "", stderr: "", exitCode: 0 });
 * assert.equal(state.containers["950"].status, "running");
 * ```
 *
 * @module
 */

import {
  COMMANDS,
  PARAMETER_ERROR_EXIT,
  parameterError,
  parseCommand,
  type ParsedCommand,
  PctError,
  unknownCommand,
} from "./_cli.ts";
import { type Outcome, readsStdin, runInContainer } from "./_exec.ts";
import {
  formatLocalTime,
  keyValueLines,
  listTable,
  parseLocalTime,
  snapshotTree,
} from "./_format.ts";
import type { FailureRule, FakeContainer, FakePctState } from "./state.ts";

export type { Outcome } from "./_exec.ts";
export { waitOutDelay } from "./_exec.ts";

/** How {@linkcode handlePct} reaches the caller's standard input. */
export interface HandlePctOptions {
  /**
   * Reads the whole standard input; called only by commands that consume it, at most once.
   * Empty input when absent.
   */
  readonly readStdin?: () => Promise<string>;
}

/**
 * Answers one pct call, changing `state` in place as pct would change the node.
 *
 * A call that fails leaves the containers as they were; what changes anyway is the count of the
 * failure rule or exec rule that fired. Failure rules apply after the arguments were checked, so
 * a parameter error is always reported as such.
 *
 * @param state The state; changed in place.
 * @param argv The arguments after `pct`.
 * @param options Access to standard input.
 * @returns What pct prints and its exit code; `delayMs` says how long pct takes to answer.
 * @throws {Error} Only for a bug in the fake or a test (e.g. an exec rule's `reply` throwing).
 */
export async function handlePct(
  state: FakePctState,
  argv: readonly string[],
  options: HandlePctOptions = {},
): Promise<Outcome> {
  let parsed: ParsedCommand;
  try {
    parsed = parse(argv);
  } catch (error) {
    if (error instanceof PctError) return failed(error);
    throw error;
  }
  const failure = takeFailure(state, parsed);
  const before = structuredClone(state.containers);
  const readStdin = options.readStdin ?? (() => Promise.resolve(""));
  const { outcome, commit } = await respond({ state, parsed, readStdin }, failure);
  if (!commit) restoreContainers(state, before);
  const { stdout, stderr, exitCode, progress, releasedBy } = outcome;
  const delayMs = outcome.delayMs ?? failure?.delayMs;
  return {
    stdout,
    stderr,
    exitCode,
    ...(delayMs !== undefined && { delayMs }),
    ...(progress !== undefined && { progress }),
    ...(releasedBy !== undefined && { releasedBy }),
  };
}

/**
 * Whether {@linkcode handlePct} would read standard input for this call: an `exec` whose command
 * consumes it. A forecast (flags may change before the command runs), so that a caller can read
 * its input before it takes a lock.
 */
export function callReadsStdin(state: FakePctState, argv: readonly string[]): boolean {
  let parsed: ParsedCommand;
  try {
    parsed = parse(argv);
  } catch (error) {
    if (error instanceof PctError) return false;
    throw error;
  }
  if (parsed.command !== "exec") return false;
  const container = state.containers[parsed.args.vmid];
  return container !== undefined &&
    readsStdin({ ctid: parsed.args.vmid, container, rules: state.exec }, parsed.extra);
}

/** The subcommand and its arguments, or the {@linkcode PctError} pct prints. */
function parse(argv: readonly string[]): ParsedCommand {
  const command = argv[0];
  if (command === undefined || !Object.hasOwn(COMMANDS, command)) throw unknownCommand(argv);
  return parseCommand(command, argv.slice(1));
}

/**
 * Puts the containers back as they were, in place, so that a test holding a container sees it
 * restored.
 */
function restoreContainers(state: FakePctState, saved: FakePctState["containers"]): void {
  for (const ctid of Object.keys(state.containers)) {
    if (!Object.hasOwn(saved, ctid)) delete state.containers[ctid];
  }
  for (const [ctid, container] of Object.entries(saved)) {
    const target = state.containers[ctid] as unknown as Record<string, unknown> | undefined;
    if (target === undefined) {
      state.containers[ctid] = container;
      continue;
    }
    for (const key of Object.keys(target)) delete target[key];
    Object.assign(target, container);
  }
}

/** A subcommand's implementation; changes `state` in place, throws {@linkcode PctError}. */
type Handler = (call: Call) => Outcome | Promise<Outcome>;

/** One pct call being handled. */
interface Call {
  readonly state: FakePctState;
  readonly parsed: ParsedCommand;
  readonly readStdin: () => Promise<string>;
}

/**
 * The answer to a call: the injected failure if one matched, else the real behaviour. `commit`
 * says whether the changes the call made to the state stand.
 */
async function respond(
  call: Call,
  failure: FailureRule | undefined,
): Promise<{ outcome: Outcome; commit: boolean }> {
  const handler = HANDLERS[call.parsed.command];
  try {
    if (!failure || forceStopOvercomes(call.parsed, failure)) {
      return { outcome: await handler(call), commit: true };
    }
    const injected = failed(new PctError(failure.exit ?? TASK_EXIT, failure.stderr));
    if (failure.effect !== "apply") {
      return { outcome: { ...injected, stdout: failure.stdout ?? "" }, commit: false };
    }
    const own = await handler(call);
    return { outcome: { ...injected, stdout: failure.stdout ?? own.stdout }, commit: true };
  } catch (error) {
    if (!(error instanceof PctError)) throw error;
    return { outcome: failed(error), commit: false };
  }
}

/** The first failure rule matching the call that has not used up its `times`; counts it. */
function takeFailure(state: FakePctState, parsed: ParsedCommand): FailureRule | undefined {
  const rule = state.failures.find((rule) =>
    rule.command === parsed.command &&
    (rule.ctid === undefined || rule.ctid === parsed.args.vmid) &&
    (rule.times === undefined || (rule.fired ?? 0) < rule.times)
  );
  if (rule) rule.fired = (rule.fired ?? 0) + 1;
  return rule;
}

/** `pct shutdown --forceStop 1` hard-stops a CT that does not shut down instead of failing. */
function forceStopOvercomes(parsed: ParsedCommand, failure: FailureRule): boolean {
  return parsed.command === "shutdown" && parsed.options.forcestop === "1" &&
    failure.stderr.trim() === "container did not stop";
}

function failed(error: PctError): Outcome {
  return { stdout: "", stderr: error.stderr, exitCode: error.exitCode };
}

const done = (stdout = ""): Outcome => ({ stdout, stderr: "", exitCode: 0 });

/** Exit code of a missing container in commands answered directly (not run as a task). */
const DIRECT_EXIT = 2;
/** Exit code of every failed task (start, stop, snapshot, push, ...). */
const TASK_EXIT = 255;

/**
 * The container of the call, or the error pct gives for a missing one: exit 2 in direct
 * commands, 255 in tasks.
 */
function containerOf(call: Call, kind: "direct" | "task"): FakeContainer {
  const vmid = call.parsed.args.vmid;
  const container = call.state.containers[vmid];
  if (container) return container;
  throw new PctError(
    kind === "direct" ? DIRECT_EXIT : TASK_EXIT,
    `Configuration file 'nodes/${call.state.node}/lxc/${vmid}.conf' does not exist`,
  );
}

/** `shutdown` and `stop` report a missing CT like a stopped one. */
function runningContainerOf(call: Call): FakeContainer {
  const container = call.state.containers[call.parsed.args.vmid];
  if (container?.status === "running") return container;
  throw new PctError(TASK_EXIT, `CT ${call.parsed.args.vmid} not running`);
}

/** Configuration keys that a running container takes only at its next start. */
const NOT_HOTPLUGGABLE = new Set(["features"]);

function checkLock(container: FakeContainer): void {
  if (container.lock) throw new PctError(TASK_EXIT, `CT is locked (${container.lock})`);
}

function isTemplate(container: FakeContainer): boolean {
  return container.template === true || container.config.template === "1";
}

/** The name pct shows: the configured hostname, else the declared name. */
function displayName(container: FakeContainer): string | undefined {
  return container.config.hostname ?? container.name;
}

function findSnapshot(container: FakeContainer, name: string): number {
  const index = container.snapshots.findIndex((snapshot) => snapshot.name === name);
  if (index === -1) throw new PctError(TASK_EXIT, `snapshot '${name}' does not exist`);
  return index;
}

const HANDLERS: Readonly<Record<string, Handler>> = {
  status(call) {
    const vmid = call.parsed.args.vmid;
    const container = containerOf(call, "direct");
    if (call.parsed.options.verbose !== "1") return done(`status: ${container.status}\n`);
    const entries: Record<string, string> = { status: container.status, vmid };
    const name = displayName(container);
    if (name !== undefined) entries.name = name;
    // Any stable, plausible pid will do: nothing may depend on its value.
    if (container.status === "running") entries.pid = String(100_000 + Number(vmid) % 100_000);
    if (container.lock) entries.lock = container.lock;
    // vmstatus' `template` is only defined for a Proxmox template.
    if (isTemplate(container)) entries.template = "1";
    return done(keyValueLines(entries));
  },

  start(call) {
    const container = containerOf(call, "task");
    if (container.status === "running") {
      throw new PctError(TASK_EXIT, `CT ${call.parsed.args.vmid} already running`);
    }
    if (isTemplate(container)) {
      throw new PctError(TASK_EXIT, "you can't start a CT if it's a template");
    }
    if (call.parsed.options.skiplock !== "1") checkLock(container);
    container.status = "running";
    // What was pending takes effect at the start.
    Object.assign(container.config, container.pending);
    delete container.pending;
    return done();
  },

  shutdown(call) {
    const container = runningContainerOf(call);
    checkLock(container);
    container.status = "stopped";
    return done();
  },

  stop(call) {
    const container = runningContainerOf(call);
    if (call.parsed.options.skiplock !== "1") checkLock(container);
    container.status = "stopped";
    return done();
  },

  async exec(call) {
    const { args, dashDash, leftover, extra } = call.parsed;
    if (!dashDash || leftover.length > 0) {
      // Real pct would take `pct exec 950 ls` without `--`; the fake insists, as pct.md says to.
      throw new PctError(
        PARAMETER_ERROR_EXIT,
        `fake pct: put "--" between the VMID and the command (got ${JSON.stringify(leftover)})`,
      );
    }
    if (extra.length === 0) throw new PctError(TASK_EXIT, "missing command");
    const container = containerOf(call, "direct");
    if (container.status !== "running") {
      throw new PctError(TASK_EXIT, `container '${args.vmid}' not running!`);
    }
    return await runInContainer(
      { ctid: args.vmid, container, rules: call.state.exec, readStdin: call.readStdin },
      extra,
    );
  },

  async push(call) {
    const { args, options } = call.parsed;
    const container = containerOf(call, "task");
    if (container.status !== "running") {
      throw new PctError(TASK_EXIT, "can only push files to a running CT");
    }
    const content = await readHostFile(args.file);
    const existing = container.files[args.destination];
    container.files[args.destination] = {
      ...existing,
      content,
      mode: options.perms !== undefined
        ? octalMode(call.parsed.command, options.perms)
        : existing?.mode ?? "0644",
      ...(options.user !== undefined && { user: options.user }),
      ...(options.group !== undefined && { group: options.group }),
    };
    return done();
  },

  async pull(call) {
    const { args, options } = call.parsed;
    const container = containerOf(call, "task");
    if (container.status !== "running") {
      throw new PctError(TASK_EXIT, "can only pull files from a running CT");
    }
    // Like real pct, a missing source is not an error: nothing is written and the exit is 0.
    const file = container.files[args.path];
    if (!file) return done();
    const mode = options.perms === undefined
      ? undefined
      : octalMode(call.parsed.command, options.perms);
    try {
      await Deno.writeTextFile(args.destination, file.content);
      if (mode !== undefined) await Deno.chmod(args.destination, parseInt(mode, 8));
    } catch (error) {
      throw new PctError(
        TASK_EXIT,
        `failed to open ${args.destination}: ${(error as Error).message}`,
      );
    }
    return done();
  },

  snapshot(call) {
    const { args, options } = call.parsed;
    if (args.snapname === "current" || args.snapname === "vzdump") {
      throw new PctError(
        TASK_EXIT,
        `unable to use snapshot name '${args.snapname}' (reserved name)`,
      );
    }
    const container = containerOf(call, "task");
    checkLock(container);
    if (container.snapshots.some((snapshot) => snapshot.name === args.snapname)) {
      throw new PctError(TASK_EXIT, `snapshot name '${args.snapname}' already used`);
    }
    if (hasBindMount(container)) throw new PctError(TASK_EXIT, "snapshot feature is not available");
    container.snapshots.push({
      name: args.snapname,
      ...(options.description !== undefined && { description: options.description }),
      time: formatLocalTime(new Date()),
      config: structuredClone(container.config),
      files: structuredClone(container.files),
      flags: [...container.flags],
    });
    return done();
  },

  listsnapshot(call) {
    return done(snapshotTree(containerOf(call, "direct").snapshots));
  },

  delsnapshot(call) {
    const container = containerOf(call, "task");
    const index = findSnapshot(container, call.parsed.args.snapname);
    checkLock(container);
    container.snapshots.splice(index, 1);
    return done();
  },

  rollback(call) {
    const { args, options } = call.parsed;
    const container = containerOf(call, "task");
    const index = findSnapshot(container, args.snapname);
    checkLock(container);
    if (index !== container.snapshots.length - 1) {
      // ZFS (the storage the templates live on) only rolls back to the newest snapshot.
      throw new PctError(
        TASK_EXIT,
        `can't rollback, '${args.snapname}' is not most recent snapshot on '${rootVolume(call)}'`,
      );
    }
    const snapshot = container.snapshots[index];
    if (snapshot.config) container.config = structuredClone(snapshot.config);
    if (snapshot.files) container.files = structuredClone(snapshot.files);
    if (snapshot.flags) container.flags = [...snapshot.flags];
    container.status = options.start === "1" ? "running" : "stopped";
    return done();
  },

  config(call) {
    const container = containerOf(call, "direct");
    const snapshotName = call.parsed.options.snapshot;
    if (snapshotName !== undefined) {
      const snapshot = container.snapshots[findSnapshot(container, snapshotName)];
      const entries: Record<string, string> = { ...snapshot.config };
      const snaptime = snapshot.time === undefined ? undefined : parseLocalTime(snapshot.time);
      if (snaptime !== undefined) entries.snaptime = String(snaptime);
      if (snapshot.snapstate) entries.snapstate = snapshot.snapstate;
      return done(keyValueLines(entries));
    }
    // Without --current, pending values are shown merged in.
    const entries = call.parsed.options.current === "1"
      ? { ...container.config }
      : { ...container.config, ...container.pending };
    const name = displayName(container);
    if (name !== undefined) entries.hostname = name;
    if (container.lock) entries.lock ??= container.lock;
    if (container.template) entries.template ??= "1";
    const parent = container.snapshots.at(-1);
    if (parent) entries.parent = parent.name;
    return done(keyValueLines(entries));
  },

  unlock(call) {
    // `pct unlock` clears any lock, whoever holds it: the operator's tool for a stale one.
    delete containerOf(call, "direct").lock;
    return done();
  },

  list(call) {
    return done(listTable(
      Object.entries(call.state.containers).map(([vmid, container]) => ({
        vmid,
        status: container.status,
        lock: container.lock ?? "",
        name: displayName(container) ?? "",
      })),
    ));
  },

  set(call) {
    const { options } = call.parsed;
    const container = containerOf(call, "direct");
    // Options of the call itself, not configuration keys.
    const { delete: deleted, skiplock, digest: _digest, ...values } = options;
    if (deleted === undefined && Object.keys(values).length === 0) {
      throw new PctError(TASK_EXIT, "no options specified");
    }
    if (skiplock !== "1") checkLock(container);
    for (const key of deleted?.split(/[,;\s]+/).filter(Boolean) ?? []) {
      delete container.config[key.toLowerCase()];
    }
    // `features` is not hot-pluggable: set on a running container, it waits for the next start.
    for (const [key, value] of Object.entries(values)) {
      if (container.status === "running" && NOT_HOTPLUGGABLE.has(key)) {
        container.pending = { ...container.pending, [key]: value };
      } else {
        container.config[key] = value;
      }
    }
    return done();
  },
};

async function readHostFile(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    throw new PctError(TASK_EXIT, `failed to open ${path}: ${(error as Error).message}`);
  }
}

/** `--perms` as a four-digit octal mode (`644` and `0644` both give `0644`). */
function octalMode(command: string, perms: string): string {
  if (!/^0?o?[0-7]{1,4}$/.test(perms)) {
    throw parameterError(command, { perms: `invalid format - value '${perms}' is not octal` });
  }
  return parseInt(perms.replace(/^0?o/, ""), 8).toString(8).padStart(4, "0");
}

/** A mount point whose source is a host path (a bind mount) rules out snapshots. */
function hasBindMount(container: FakeContainer): boolean {
  return Object.entries(container.config).some(([key, value]) =>
    /^mp\d+$/.test(key) && value.startsWith("/")
  );
}

/** The root file system's volume ID, as ZFS error messages name it. */
function rootVolume(call: Call): string {
  const rootfs = call.state.containers[call.parsed.args.vmid].config.rootfs;
  return rootfs?.split(",")[0] ?? `local-zfs:subvol-${call.parsed.args.vmid}-disk-0`;
}
