/**
 * What runs inside a fake container for `pct exec`: the test's exec rules first, then a few
 * builtins over the container's `files` map (`true`, `false`, `cat`, `test -e|-f|-x`, `mkdir -p`,
 * `rm -f`, `touch`, `chmod`, `stat -c %a`, `sha256sum`, `tee`, `readlink`, `ln -sfn`, and the
 * step library's file write, `bash -c WRITE_FILE_SCRIPT bash DIR PATH MODE`). Nothing else runs
 * (no shell either: any other `sh -c` and `bash -c` only match rules), so a test has to declare
 * every command it expects.
 *
 * @module
 */

import { existsSync } from "node:fs";
import {
  decodeProbeArguments,
  encodeProbeOutput,
  PROBE_SCRIPT,
  type ProbeBatch,
} from "../../lib/host/probe_batch.ts";
import { sha256Hex, WRITE_FILE_SCRIPT } from "../../lib/steps/files.ts";
import type { ExecRule, FakeContainer, FakeFile } from "./state.ts";

export { sha256Hex };

/** What a command run by the fake did. */
export interface Outcome {
  stdout: string;
  stderr: string;
  exitCode: number;
  /** Wait this long (after the state was saved) before writing the output and exiting. */
  delayMs?: number;
  /** Written to stdout before the delay. */
  progress?: string;
  /** Ends the delay early once this file exists ({@linkcode ExecRule.releasedBy}). */
  releasedBy?: string;
}

/** How often {@linkcode waitOutDelay} looks for the file that releases a command. */
const RELEASE_POLL_MS = 20;

/**
 * Waits the outcome's delay: `delayMs`, or less when its `releasedBy` file appears first. Both
 * transports (the program and `InMemoryPct`) wait through this.
 */
export async function waitOutDelay(
  outcome: Pick<Outcome, "delayMs" | "releasedBy">,
): Promise<void> {
  const deadline = Date.now() + (outcome.delayMs ?? 0);
  const released = () => outcome.releasedBy !== undefined && existsSync(outcome.releasedBy);
  while (Date.now() < deadline && !released()) {
    const left = deadline - Date.now();
    await new Promise((resolve) =>
      setTimeout(resolve, outcome.releasedBy === undefined ? left : Math.min(left, RELEASE_POLL_MS))
    );
  }
}

/** Everything a command inside the container may use or change. */
export interface ExecContext {
  /** The container's CTID. */
  readonly ctid: string;
  /** The container; changed in place. */
  readonly container: FakeContainer;
  /** The exec rules of the state. */
  readonly rules: readonly ExecRule[];
  /** Reads the whole standard input; only called by commands that consume it. */
  readonly readStdin: () => Promise<string>;
}

/**
 * The PATH real `pct exec` gives the command (`pct.md`: pct sets PATH=/sbin:/bin:/usr/sbin:/usr/bin
 * whatever the caller's is), so the only places a bare command name is looked up.
 */
export const EXEC_PATH: readonly string[] = ["/sbin", "/bin", "/usr/sbin", "/usr/bin"];

/**
 * Runs `argv` in the container: the first matching rule, else a builtin, else exit 127. A bare
 * command name is looked up on {@linkcode EXEC_PATH} as `pct exec` does: one that the
 * container's files hold only elsewhere (`/usr/local/bin/vllm`) is not found, whatever rule
 * matches it. A builtin answers its name, or its path in one of those directories (`/bin/cat`),
 * not any path that ends in its name (`/usr/local/bin/cat`).
 */
export async function runInContainer(
  context: ExecContext,
  argv: readonly string[],
): Promise<Outcome> {
  const batch = probeBatchCommands(argv);
  if (batch) return await runProbeBatch(context, batch);
  if (onlyOffPath(context.container, argv[0])) return notFound(context.ctid, argv);
  const rule = findRule(context, argv);
  if (rule) return await applyRule(context, rule, argv);
  const builtin = BUILTINS[builtinName(argv[0])];
  return (await builtin?.(context, argv.slice(1))) ?? notFound(context.ctid, argv);
}

/** The builtin a command names: a bare name, or a path in an {@linkcode EXEC_PATH} directory. */
function builtinName(command: string): string {
  const slash = command.lastIndexOf("/");
  if (slash === -1) return command;
  return EXEC_PATH.includes(command.slice(0, slash)) ? command.slice(slash + 1) : "";
}

/**
 * Whether `command` is a bare name that the container's executable files (a mode with an execute
 * bit) hold, but only outside {@linkcode EXEC_PATH}: pct exec cannot find it. A name no
 * executable declares is taken as installed where it belongs (the rules decide); a data file of
 * the same name (`/etc/default/locale`) is no program.
 */
function onlyOffPath(container: FakeContainer, command: string): boolean {
  if (command.includes("/")) return false;
  const homes = Object.entries(container.files)
    .filter(([path, file]) =>
      path.endsWith(`/${command}`) && (parseInt(file.mode ?? "0644", 8) & 0o111) !== 0
    )
    .map(([path]) => path.slice(0, path.length - command.length - 1));
  return homes.length > 0 && !homes.some((dir) => EXEC_PATH.includes(dir));
}

/**
 * The commands of a batch of read-only checks (`lib/probe_batch.ts`: `bash -c PROBE_SCRIPT bash
 * ...`), or `undefined` when `argv` is anything else. The fake runs no shell, but it knows this
 * one script: its commands travel as arguments.
 */
export function probeBatchCommands(argv: readonly string[]): ProbeBatch | undefined {
  if (argv[0] !== "bash" || argv[1] !== "-c" || argv[2] !== PROBE_SCRIPT) return undefined;
  return decodeProbeArguments(argv.slice(4));
}

/**
 * Runs each command of a batch as `pct exec` would, and prints their results as the script: the
 * verification's commands only if every check exited 0.
 */
async function runProbeBatch(context: ExecContext, batch: ProbeBatch): Promise<Outcome> {
  const results: Outcome[] = [];
  let delayMs = 0;
  const run = async (commands: readonly (readonly string[])[]) => {
    for (const argv of commands) {
      const outcome = await runInContainer(
        { ...context, readStdin: () => Promise.resolve("") },
        argv,
      );
      results.push(outcome);
      delayMs += outcome.delayMs ?? 0;
    }
  };
  await run(batch.checks);
  if (results.every((outcome) => outcome.exitCode === 0)) await run(batch.verifications);
  return { stdout: encodeProbeOutput(results), stderr: "", exitCode: 0, delayMs };
}

/**
 * Whether running `argv` reads standard input: a matching rule with `stdinToFile`, `tee`, or
 * `cat` without files. Flags may change before the command really runs; this is a forecast.
 */
export function readsStdin(
  context: Omit<ExecContext, "readStdin">,
  argv: readonly string[],
): boolean {
  const rule = findRule(context, argv);
  if (rule) return rule.stdinToFile !== undefined;
  const name = builtinName(argv[0] ?? "");
  return name === "tee" || (name === "cat" && argv.length === 1) || isFileWrite(argv);
}

function findRule(
  context: Omit<ExecContext, "readStdin">,
  argv: readonly string[],
): ExecRule | undefined {
  const line = argv.join(" ");
  const flags = context.container.flags;
  return context.rules.find((rule) =>
    (rule.ctid === undefined || rule.ctid === context.ctid) &&
    (rule.times === undefined || (rule.fired ?? 0) < rule.times) &&
    (rule.when === undefined || flags.includes(rule.when)) &&
    (rule.unless === undefined || !flags.includes(rule.unless)) &&
    new RegExp(rule.match).test(line)
  );
}

async function applyRule(
  context: ExecContext,
  rule: ExecRule,
  argv: readonly string[],
): Promise<Outcome> {
  const container = context.container;
  rule.fired = (rule.fired ?? 0) + 1;
  container.flags = container.flags.filter((flag) => !rule.unset?.includes(flag));
  for (const flag of rule.set ?? []) {
    if (!container.flags.includes(flag)) container.flags.push(flag);
  }
  if (rule.stdinToFile !== undefined) {
    writeFile(container, rule.stdinToFile, await context.readStdin());
  }
  const answer = rule.reply ? await rule.reply(argv, container) : rule;
  return {
    stdout: answer.stdout ?? "",
    stderr: answer.stderr ?? "",
    exitCode: answer.exit ?? 0,
    delayMs: rule.delayMs,
    ...(rule.progress !== undefined && { progress: rule.progress }),
    ...(rule.releasedBy !== undefined && { releasedBy: rule.releasedBy }),
  };
}

/** What lxc-attach prints when the command does not exist; plus a hint for the test's author. */
function notFound(ctid: string, argv: readonly string[]): Outcome {
  const stderr =
    `lxc-attach: ${ctid}: ../src/lxc/attach.c: lxc_attach_run_command: 1841 No such file or ` +
    `directory - Failed to exec "${argv[0]}"\n` +
    `fake pct: no exec rule or builtin matches ${JSON.stringify(argv.join(" "))}\n`;
  return { stdout: "", stderr, exitCode: 127 };
}

/** A builtin; `undefined` means "this usage is not supported", which is reported as not found. */
type Builtin = (
  context: ExecContext,
  args: readonly string[],
) => Outcome | undefined | Promise<Outcome | undefined>;

const ok = (stdout = ""): Outcome => ({ stdout, stderr: "", exitCode: 0 });
const fail = (stderr: string): Outcome => ({ stdout: "", stderr, exitCode: 1 });

const BUILTINS: Readonly<Record<string, Builtin>> = {
  true: () => ok(),
  false: () => ({ stdout: "", stderr: "", exitCode: 1 }),
  cat: async ({ container, readStdin }, paths) => {
    if (paths.length === 0) return ok(await readStdin());
    let stdout = "";
    let stderr = "";
    for (const path of paths) {
      const file = resolve(container, path);
      if (file) stdout += file.content;
      else stderr += `cat: ${path}: No such file or directory\n`;
    }
    return { stdout, stderr, exitCode: stderr ? 1 : 0 };
  },
  test: ({ container }, args) => {
    if (args.length !== 2 || !["-e", "-f", "-x"].includes(args[0])) return undefined;
    const file = resolve(container, args[1]);
    const passes = args[0] === "-x"
      ? file !== undefined && (parseInt(file.mode ?? "0644", 8) & 0o111) !== 0
      : file !== undefined;
    return { stdout: "", stderr: "", exitCode: passes ? 0 : 1 };
  },
  mkdir: (_context, args) => args[0] === "-p" ? ok() : undefined,
  rm: ({ container }, args) => {
    if (args[0] !== "-f") return undefined;
    for (const path of args.slice(1)) delete container.files[path];
    return ok();
  },
  touch: ({ container }, paths) => {
    if (paths.length === 0 || paths.some((path) => path.startsWith("-"))) return undefined;
    for (const path of paths) container.files[path] ??= { content: "", mode: "0644" };
    return ok();
  },
  chmod: ({ container }, args) => {
    const [mode, ...paths] = args;
    if (!/^[0-7]{1,4}$/.test(mode ?? "") || paths.length === 0) return undefined;
    let stderr = "";
    for (const path of paths) {
      const file = resolve(container, path);
      if (file) file.mode = parseInt(mode, 8).toString(8).padStart(4, "0");
      else stderr += `chmod: cannot access '${path}': No such file or directory\n`;
    }
    return { stdout: "", stderr, exitCode: stderr ? 1 : 0 };
  },
  stat: ({ container }, args) => {
    if (args.length !== 3 || args[0] !== "-c" || args[1] !== "%a") return undefined;
    const file = container.files[args[2]];
    if (!file) return fail(`stat: cannot statx '${args[2]}': No such file or directory\n`);
    return ok(`${parseInt(file.mode ?? "0644", 8).toString(8)}\n`);
  },
  sha256sum: async ({ container }, paths) => {
    if (paths.length === 0) return undefined;
    let stdout = "";
    let stderr = "";
    for (const path of paths) {
      const file = resolve(container, path);
      if (file) stdout += `${await sha256Hex(file.content)}  ${path}\n`;
      else stderr += `sha256sum: ${path}: No such file or directory\n`;
    }
    return { stdout, stderr, exitCode: stderr ? 1 : 0 };
  },
  tee: async ({ container, readStdin }, args) => {
    const append = args[0] === "-a";
    const paths = append ? args.slice(1) : args;
    if (paths.length !== 1) return undefined;
    const input = await readStdin();
    const before = append ? container.files[paths[0]]?.content ?? "" : "";
    writeFile(container, paths[0], before + input);
    return ok(input);
  },
  // Without -f, readlink prints nothing and fails for anything but a symbolic link.
  readlink: ({ container }, args) => {
    if (args.length !== 1) return undefined;
    const target = container.files[args[0]]?.symlink;
    return target === undefined ? fail("") : ok(`${target}\n`);
  },
  bash: (context, args) => fileWrite(context, "bash", args),
  sh: (context, args) => fileWrite(context, "sh", args),
  ln: ({ container }, args) => {
    if (args.length !== 3 || args[0] !== "-sfn") return undefined;
    container.files[args[2]] = { content: "", mode: "0777", symlink: args[1] };
    return ok();
  },
};

/**
 * The step library's file write (see WRITE_FILE_SCRIPT), through `shell`: standard input to $2
 * with mode $3, a new file renamed over the old one (or over a symbolic link): owned by root.
 */
async function fileWrite(
  { container, readStdin }: ExecContext,
  shell: "bash" | "sh",
  args: readonly string[],
): Promise<Outcome | undefined> {
  if (!isFileWrite([shell, ...args])) return undefined;
  const [, , , , path, mode] = args;
  if (!/^[0-7]{3,4}$/.test(mode)) return fail(`chmod: invalid mode: '${mode}'\n`);
  container.files[path] = {
    content: await readStdin(),
    mode: parseInt(mode, 8).toString(8).padStart(4, "0"),
  };
  return ok();
}

/**
 * Follows symbolic links (targets are absolute paths) as the kernel does, up to 40 of them;
 * `undefined` when nothing exists at the end.
 */
function resolve(container: FakeContainer, path: string): FakeFile | undefined {
  let file = container.files[path];
  for (let hops = 0; file?.symlink !== undefined; hops++) {
    if (hops === 40) return undefined;
    file = container.files[file.symlink];
  }
  return file;
}

/** Writes a file, keeping the mode of a file it replaces (as writing into an open file does). */
function writeFile(container: FakeContainer, path: string, content: string): void {
  container.files[path] = {
    ...container.files[path],
    content,
    mode: container.files[path]?.mode ?? "0644",
  };
}

/**
 * Whether `argv` is the step library's file write: `bash -c WRITE_FILE_SCRIPT bash DIR PATH MODE`,
 * or the same through `sh`.
 */
function isFileWrite(argv: readonly string[]): boolean {
  return argv.length === 7 && (argv[0] === "bash" || argv[0] === "sh") && argv[1] === "-c" &&
    argv[2] === WRITE_FILE_SCRIPT && argv[3] === argv[0];
}
