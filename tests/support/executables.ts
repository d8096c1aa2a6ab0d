/**
 * Compiled executables for end-to-end tests, built through the real `build.ts` path once per
 * test process, and a way to run one with a given environment.
 *
 * @module
 */

import { join } from "node:path";
import { buildAll } from "../../lib/build/compile.ts";
import type { BuildTarget } from "../../lib/build/targets.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
let outDir: Promise<string> | undefined;
const built = new Map<string, Promise<string>>();

/**
 * The compiled executable for `ctid` (from `containers/<ctid>.ts`, or from `modulePath` for a
 * test-only module), built on first use into a temporary directory shared by the process.
 */
export function compiledExecutable(ctid: string, modulePath?: string): Promise<string> {
  const module = modulePath ?? join(ROOT, "containers", `${ctid}.ts`);
  const key = `${ctid}:${module}`;
  let executable = built.get(key);
  if (!executable) {
    executable = (async () => {
      // One promise, so concurrent first builds share the directory; each executable is ~100 MB,
      // so the directory goes when the test process ends.
      outDir ??= Deno.makeTempDir({ prefix: "phoenix-dist-" }).then((dir) => {
        globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
        return dir;
      });
      const root = await outDir;
      // A test-only module gets its own directory: its executable has the same name as a shipped one.
      const dir = modulePath ? await Deno.makeTempDir({ dir: root }) : root;
      const target: BuildTarget = { ctid, modulePath: module };
      const [path] = await buildAll([target], {
        outDir: dir,
        workDir: join(ROOT, ".build"),
        log: () => {},
      });
      return path;
    })();
    built.set(key, executable);
  }
  return executable;
}

/**
 * Runs `build.ts` with `args` as `deno task build` does (e.g. `--config FILE --ctid N --out DIR`),
 * and returns what it printed and its exit code.
 */
export async function runBuild(args: readonly string[]): Promise<Run> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--lock=deno.lock", "--frozen", "--allow-all", "build.ts", ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: text(output.stdout), stderr: text(output.stderr) };
}

/** What a finished executable did. */
export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `path` with `args` and exactly `env` (plus a minimal PATH/HOME when not given), stdin
 * closed, like the orchestrator would; through `wrapper` (`prlimit ...`) when given; invoked by
 * the name `argv0` when given (a file name: run through a symlink of that name to `path`, as an
 * install links the orchestrators' names).
 */
export async function runExecutable(
  path: string,
  args: readonly string[],
  env: Record<string, string>,
  options: { argv0?: string; signal?: AbortSignal; wrapper?: readonly string[] } = {},
): Promise<Run> {
  const linkDir = options.argv0 === undefined
    ? undefined
    : await Deno.makeTempDir({ prefix: "phoenix-argv0-" });
  try {
    let invoked = path;
    if (linkDir !== undefined) {
      invoked = join(linkDir, options.argv0!);
      await Deno.symlink(path, invoked);
    }
    const [program, ...programArgs] = [...options.wrapper ?? [], invoked, ...args];
    const command = new Deno.Command(program, {
      args: programArgs,
      env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", HOME: "/root", ...env },
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: options.signal,
    });
    const output = await command.output();
    const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
    return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
  } finally {
    if (linkDir !== undefined) await Deno.remove(linkDir, { recursive: true });
  }
}
