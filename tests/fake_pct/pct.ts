/**
 * A fake `pct` for tests: behaves like Proxmox's `pct` as `../../../shared/docs/pct.md`
 * describes it (texts and exit codes), over a state kept in `$FAKE_PCT_DIR/state.json`.
 * Run it as `deno run --allow-all pct.ts <pct arguments...>`; `fake_pct.ts` writes a `pct`
 * wrapper that does so.
 *
 * Every call first appends its argv as one JSON array line to `$FAKE_PCT_DIR/calls.jsonl`, so a
 * test can assert the exact calls even of those that fail.
 *
 * Exit codes of the fake itself: 99 when it cannot work at all (`FAKE_PCT_DIR` unset, an internal
 * error); its message then starts with `fake pct:`.
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
import { formatLocalTime, keyValueLines, listTable, snapshotTree } from "./_format.ts";
import {
  callsFile,
  type FailureRule,
  type FakeContainer,
  type FakePctState,
  readState,
  withStateLock,
  writeState,
} from "./state.ts";

/** Exit code when the fake itself cannot work (not something real pct does). */
const FAKE_BROKEN_EXIT = 99;

/** A subcommand's implementation; changes `state` in place, throws {@linkcode PctError}. */
type Handler = (call: Call) => Outcome | Promise<Outcome>;

/** One pct call being handled. */
interface Call {
  readonly state: FakePctState;
  readonly parsed: ParsedCommand;
  readonly readStdin: () => Promise<string>;
}

async function main(): Promise<void> {
  const dir = Deno.env.get("FAKE_PCT_DIR");
  if (!dir) {
    return await finish({
      stdout: "",
      stderr: "fake pct: FAKE_PCT_DIR is not set\n",
      exitCode: FAKE_BROKEN_EXIT,
    });
  }
  await Deno.writeTextFile(callsFile(dir), JSON.stringify(Deno.args) + "\n", { append: true });
  let outcome: Outcome;
  try {
    outcome = await handle(dir, Deno.args);
  } catch (error) {
    const detail = error instanceof Error ? error.stack ?? error.message : String(error);
    outcome = { stdout: "", stderr: `fake pct: ${detail}\n`, exitCode: FAKE_BROKEN_EXIT };
  }
  await finish(outcome);
}

/** Parses the call, then runs it on the state under the lock. */
async function handle(dir: string, argv: readonly string[]): Promise<Outcome> {
  try {
    const command = argv[0];
    if (command === undefined || !Object.hasOwn(COMMANDS, command)) throw unknownCommand(argv);
    const parsed = parseCommand(command, argv.slice(1));
    let stdin: Promise<string> | undefined;
    const readStdin = () => stdin ??= new Response(Deno.stdin.readable).text();
    // A caller may take its time writing stdin; read it before taking the lock, so that it does
    // not stall every other pct call meanwhile.
    if (await execReadsStdin(dir, parsed)) await readStdin();
    return await withStateLock(dir, () => handleLocked(dir, parsed, readStdin));
  } catch (error) {
    if (error instanceof PctError) return failed(error);
    throw error;
  }
}

/** Whether the call is an `exec` whose command will read stdin (read without the lock). */
async function execReadsStdin(dir: string, parsed: ParsedCommand): Promise<boolean> {
  if (parsed.command !== "exec") return false;
  const state = await readState(dir);
  const container = state.containers[parsed.args.vmid];
  return container !== undefined &&
    readsStdin({ ctid: parsed.args.vmid, container, rules: state.exec }, parsed.extra);
}

/** Runs one parsed call on the state and saves what it changed. */
async function handleLocked(
  dir: string,
  parsed: ParsedCommand,
  readStdin: () => Promise<string>,
): Promise<Outcome> {
  const state = await readState(dir);
  const original = JSON.stringify(state);
  const failure = takeFailure(state, parsed);
  // A failed call leaves the state as it was, except for the count of the failure rule that fired.
  const uncommitted = JSON.stringify(state);
  const { outcome, commit } = await respond({ state, parsed, readStdin }, failure);
  outcome.delayMs ??= failure?.delayMs;
  const result = commit ? JSON.stringify(state) : uncommitted;
  if (result !== original) await writeState(dir, JSON.parse(result));
  return outcome;
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
    if (failure.effect !== "apply") return { outcome: injected, commit: false };
    return { outcome: { ...injected, stdout: (await handler(call)).stdout }, commit: true };
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
      return done(keyValueLines(snapshot.config ?? {}));
    }
    const entries = { ...container.config };
    const name = displayName(container);
    if (name !== undefined) entries.hostname = name;
    if (container.lock) entries.lock ??= container.lock;
    if (container.template) entries.template ??= "1";
    const parent = container.snapshots.at(-1);
    if (parent) entries.parent = parent.name;
    return done(keyValueLines(entries));
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
    Object.assign(container.config, values);
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

/** Waits the outcome's delay, writes its output and exits with its code. */
async function finish(outcome: Outcome): Promise<never> {
  if (outcome.delayMs) await new Promise((resolve) => setTimeout(resolve, outcome.delayMs));
  await writeAll(Deno.stdout, outcome.stdout);
  await writeAll(Deno.stderr, outcome.stderr);
  Deno.exit(outcome.exitCode);
}

async function writeAll(stream: { write(p: Uint8Array): Promise<number> }, text: string) {
  let bytes = new TextEncoder().encode(text);
  while (bytes.length > 0) bytes = bytes.subarray(await stream.write(bytes));
}

if (import.meta.main) await main();
