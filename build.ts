/**
 * `deno task build`: compiles one standalone executable per container module,
 * `dist/phoenix_hypervisor_setup_<CTID>.sh`, each embedding only its own module, and writes
 * `dist/SHA256SUMS`. It prints each executable's build time and the total; hashes are remembered
 * in `.build/sha256.json`, so a file unchanged since is not read again (`lib/file_hashes.ts`).
 *
 *     deno task build                      # every containers/<CTID>.ts
 *     deno task build --config FILE        # every CTID of a phoenix_lxc_configs.json
 *     deno task build --ctid 920           # one (with or without --config)
 *     deno task build --install [DIR]      # then copy atomically into DIR
 *                                          # (default /usr/local/phoenix_hypervisor/bin)
 *
 * With `--config`, each CTID gets its hand-written `containers/<CTID>.ts` when that fits the
 * entry, else a module composed from the entry's features and application (the composition is
 * embedded in the executable, which refuses to run once the entry asks for something else), else
 * nothing: the build names the CTID and says why (an unsupported feature, say).
 *
 * `deno compile` needs a `denort` runtime. It is taken, in this order, from Deno's own download
 * (real hosts), from `DENORT_BIN` when set, or from a pinned npm package verified by checksum
 * (offline machines; see `../shared/docs/toolchain.md`). The build says which.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type CommandResult,
  type CommandRunner,
  displayCommand,
  outputTail,
} from "./lib/core/command_text.ts";
import { zxRunner } from "./lib/host/command.ts";
import { CTID_PATTERN, ctidOfExecutableName, executableNameFor } from "./lib/core/ctid.ts";
import { atomicWrite } from "./lib/core/atomic_write.ts";
import { formatDuration } from "./lib/core/duration.ts";
import { FileHashes, sha256File } from "./lib/build/file_hashes.ts";
import {
  type BuildChoice,
  chooseModule,
  composedModule,
  type Composition,
} from "./lib/catalog/composition.ts";
import { containerConfig, loadConfigFile } from "./lib/config/read_config.ts";
import type { ContainerModule } from "./lib/module/container_module.ts";
import { type ExecutableFacts, executableFacts } from "./lib/pattern/read_inputs.ts";

const ROOT = dirname(fileURLToPath(import.meta.url));
const DEFAULT_INSTALL_DIR = "/usr/local/phoenix_hypervisor/bin";

/** The pinned offline `denort`: an official denort 2.6.10 carrying a program we replace. */
const FALLBACK_DENORT = {
  npmPackage: "@mcp-stress/linux-x64@0.2.1",
  pathInTarball: "package/bin/mcp-stress",
  sha256: "257898aee9a507fd3a899a902c465223f4554da362e813132f024570a545edb7",
} as const;

/**
 * Permissions compiled into every executable: all of them, and never a prompt.
 *
 * The narrower set these executables used to have (`--allow-run=bash --allow-read --allow-write
 * --allow-env`) does not work on a real host, and cannot be made to: Deno 2 wants "all access"
 * (`--allow-all`, with no `--deny-*` flag either) to read anything under `/proc` (the NVIDIA
 * driver's version) or to write to `/dev/stderr` or `/dev/full` (a `MAIN_LOG_FILE`), whatever the
 * `--allow-read`/`--allow-write` lists say; and restricted run permission makes Deno refuse, and
 * zx then hang forever on, any command whose environment holds `LD_*` or `DYLD_*`. Nor would the
 * narrow set protect anything: the program runs as root and starts bash, which can do all that
 * root can. What keeps a run within bounds is the code: argv-only commands, the environment of
 * `lib/command_environment.ts`, and no network use of its own (probes run inside the container).
 */
export const EXECUTABLE_PERMISSIONS: readonly string[] = ["--allow-all", "--no-prompt"];

/** Where the runtime for `deno compile` comes from. */
export type DenortSource =
  | { readonly kind: "download" }
  | { readonly kind: "env"; readonly path: string }
  | { readonly kind: "fallback"; readonly path: string };

/** An executable built from a module file. */
export interface ModuleTarget {
  readonly ctid: string;
  /** The container module's path. */
  readonly modulePath: string;
}

/** An executable built from a composition of a config entry. */
export interface ComposedTarget {
  readonly ctid: string;
  /** The features and application, embedded into the executable. */
  readonly composition: Composition;
}

/** One executable to build. */
export type BuildTarget = ModuleTarget | ComposedTarget;

/** Options shared by every compile. */
export interface BuildOptions {
  readonly outDir: string;
  /** Directory for generated entry files and the cached fallback runtime. */
  readonly workDir?: string;
  readonly run?: CommandRunner;
  readonly log?: (line: string) => void;
  /** Hashes remembered between builds (the cached fallback runtime is verified through them). */
  readonly hashes?: FileHashes;
}

function sourceDescription(source: DenortSource): string {
  switch (source.kind) {
    case "download":
      return "Deno's own download (or its cache)";
    case "env":
      return `DENORT_BIN=${source.path}`;
    case "fallback":
      return `the pinned fallback from npm package ${FALLBACK_DENORT.npmPackage} ` +
        `(sha256 ${FALLBACK_DENORT.sha256.slice(0, 12)}…), ${source.path}`;
  }
}

async function must(run: CommandRunner, argv: string[], cwd?: string): Promise<CommandResult> {
  const result = await run(cwd ? ["env", "-C", cwd, ...argv] : argv);
  if (result.exitCode !== 0) {
    throw new Error(
      `${displayCommand(argv)} failed (exit ${result.exitCode}): ${
        outputTail(result.stderr || result.stdout)
      }`,
    );
  }
  return result;
}

/**
 * Fetches (once, then cached in `workDir`) and verifies the pinned fallback runtime. The cached
 * copy is verified through `hashes`, so it is read again only when it changed.
 */
export async function fallbackDenort(
  workDir: string,
  run: CommandRunner = zxRunner,
  hashes: FileHashes = new FileHashes(),
): Promise<string> {
  const dir = join(workDir, "denort");
  const path = join(dir, "denort");
  try {
    if (await hashes.sha256(path) === FALLBACK_DENORT.sha256) return path;
  } catch { /* not cached yet */ }
  await Deno.mkdir(dir, { recursive: true });
  // Fetched into a private directory and renamed into place, so that builds running at the
  // same time (tests compile several executables at once) never see half a file.
  const scratch = await Deno.makeTempDir({ dir, prefix: "fetch-" });
  try {
    const packed = await must(
      run,
      ["npm", "pack", "--silent", FALLBACK_DENORT.npmPackage],
      scratch,
    );
    const tarball = join(scratch, packed.stdout.trim().split("\n").at(-1)!);
    await must(run, ["tar", "-xzf", tarball, "-C", scratch, FALLBACK_DENORT.pathInTarball]);
    const extracted = join(scratch, FALLBACK_DENORT.pathInTarball);
    const actual = await sha256File(extracted);
    if (actual !== FALLBACK_DENORT.sha256) {
      throw new Error(
        `The fallback runtime from ${FALLBACK_DENORT.npmPackage} has sha256 ${actual}, expected ` +
          `${FALLBACK_DENORT.sha256}; refusing to use it. Set DENORT_BIN to a denort 2.6.x`,
      );
    }
    // Never executed by us: deno compile only copies it and swaps the embedded program.
    await Deno.rename(extracted, path);
  } finally {
    await Deno.remove(scratch, { recursive: true });
  }
  return path;
}

/**
 * The program that applies `main` to one module (string-literal imports, so everything is
 * embedded): the module file, or the composition built from the embedded entry. It first hands
 * the module's `facts`, computed here at build time, to `readInputs`, which answers `--help`,
 * `--version` and invalid input before the rest of the program is even evaluated; the rest is
 * imported dynamically, so the bundle splits it off (and `deno compile` still embeds it).
 */
function entrySource(entryPath: string, target: BuildTarget, facts: ExecutableFacts): string {
  const rel = (to: string) => {
    const path = relative(dirname(entryPath), to);
    return JSON.stringify(path.startsWith(".") ? path : `./${path}`);
  };
  const module = "modulePath" in target
    ? [`const container = (await import(${rel(resolve(target.modulePath))})).default;`]
    : [
      `const { composedModule } = await import(${
        rel(join(ROOT, "lib", "catalog", "composition.ts"))
      });`,
      `const container = composedModule(${JSON.stringify(target.composition)});`,
    ];
  return [
    `// Generated by build.ts for container ${target.ctid}; do not edit.`,
    `import { readInputs } from ${rel(join(ROOT, "lib", "pattern", "read_inputs.ts"))};`,
    "",
    `await readInputs(${JSON.stringify(facts)});`,
    `const { main } = await import(${rel(join(ROOT, "main.ts"))});`,
    ...module,
    `await main(container);`,
    "",
  ].join("\n");
}

/**
 * The container module `target` builds from: the module file's default export, checked to be a
 * container module for the target's CTID, or the composition's module.
 */
async function targetModule(target: BuildTarget): Promise<ContainerModule<unknown>> {
  if (!("modulePath" in target)) return composedModule(target.composition);
  const module = (await import(new URL(`file://${resolve(target.modulePath)}`).href)).default;
  if (module?.ctid !== target.ctid) {
    throw new Error(
      `${target.modulePath} must default-export a container module for CTID ${target.ctid}, ` +
        `but its ctid is ${JSON.stringify(module?.ctid)}`,
    );
  }
  return module;
}

/**
 * Compiles one executable; returns its path. With `source.kind === "download"` a failure to
 * download the runtime is reported as `DenortUnavailable` so the caller can fall back.
 */
export async function compileExecutable(
  target: BuildTarget,
  source: DenortSource,
  options: BuildOptions,
): Promise<string> {
  const run = options.run ?? zxRunner;
  const workDir = options.workDir ?? join(ROOT, ".build");
  const facts = executableFacts(await targetModule(target));
  await Deno.mkdir(join(workDir, "entries"), { recursive: true });
  await Deno.mkdir(options.outDir, { recursive: true });
  // A directory per build: tests build a test-only module with a shipped module's CTID at once.
  const scratch = await Deno.makeTempDir({ dir: join(workDir, "entries"), prefix: target.ctid });
  try {
    const entry = join(scratch, `entry_${target.ctid}.ts`);
    await Deno.writeTextFile(entry, entrySource(entry, target, facts));
    // One bundled JavaScript file is compiled, not the module graph: `deno compile` would embed
    // the whole node_modules tree (about 9 MB, whatever is imported) and resolve each npm package
    // at start-up; the bundle holds only the code the program uses.
    const bundleDir = join(scratch, "bundle");
    const bundle = join(bundleDir, `entry_${target.ctid}.js`);
    const bundled = await run([
      Deno.execPath(),
      "bundle",
      "--quiet",
      "--code-splitting",
      "--platform",
      "deno",
      "--config",
      join(ROOT, "deno.json"),
      // deno.json says `"lock": false` (see the README's toolchain notes); the lock is named here.
      "--lock",
      join(ROOT, "deno.lock"),
      "--frozen",
      "--outdir",
      bundleDir,
      entry,
    ]);
    if (bundled.exitCode !== 0) {
      throw new Error(
        `deno bundle for container ${target.ctid} failed (exit ${bundled.exitCode}): ${
          outputTail(bundled.stderr || bundled.stdout)
        }`,
      );
    }
    await patchBundleDir(bundleDir);
    const output = join(options.outDir, executableNameFor(target.ctid));
    const argv = [
      ...(source.kind === "download" ? [] : ["env", `DENORT_BIN=${source.path}`]),
      Deno.execPath(),
      "compile",
      "--quiet",
      ...EXECUTABLE_PERMISSIONS,
      // The bundle imports only `node:` modules: no config, lock or node_modules to embed.
      "--no-config",
      "--no-lock",
      "--output",
      output,
      bundle,
    ];
    const result = await run(argv);
    if (result.exitCode !== 0) {
      const said = outputTail(result.stderr || result.stdout);
      if (source.kind === "download" && /denort|dl\.deno|download/i.test(result.stderr)) {
        // deno's own first line only says it could not write the output; the cause is further
        // down.
        const cause = result.stderr.split("\n").find((line) =>
          /lookup|dns|connect|certificate|timed out|refused|unreachable/i.test(line)
        );
        throw new DenortUnavailable(
          (cause ?? said.split("\n")[0]).replace(/^\s*\d+:\s*/, "").trim(),
        );
      }
      throw new Error(
        `deno compile for container ${target.ctid} failed (exit ${result.exitCode}): ${said}`,
      );
    }
    await Deno.chmod(output, 0o755);
    return output;
  } finally {
    await Deno.remove(scratch, { recursive: true });
  }
}

/** Applies {@linkcode patchZxForBundle} to the one chunk of `dir` that holds zx. */
async function patchBundleDir(dir: string): Promise<void> {
  const chunks = new Map<string, string>();
  for await (const file of Deno.readDir(dir)) {
    chunks.set(file.name, await Deno.readTextFile(join(dir, file.name)));
  }
  const holding = new RegExp(ZX_DENO_REQUIRE.source);
  const zx = [...chunks].filter(([, text]) => holding.test(text));
  if (zx.length !== 1) {
    throw new Error(
      `Expected zx's Deno-only require("./core.cjs") in one chunk of the bundle, found it in ` +
        `${zx.length}: zx changed; see patchZxForBundle in build.ts`,
    );
  }
  const [name, text] = zx[0];
  await Deno.writeTextFile(join(dir, name), patchZxForBundle(text));
}

/** zx's line that, under Deno, loads `./core.cjs` from beside its own file. */
const ZX_DENO_REQUIRE =
  /globalThis\.Deno \? globalThis\.require\("\.\/core\.cjs"\) : (__module__\w*)/g;

/**
 * zx's ESM entry, under Deno, replaces itself with `require("./core.cjs")` resolved next to its
 * own file. In a bundle that file is not there, and the bundle already holds the same module,
 * which esbuild named `__module__...`: use it. Throws unless the line is found exactly once, so
 * that a new zx cannot silently break the executables.
 *
 * @example
 * ```ts
 * import { patchZxForBundle } from "./build.ts";
 * patchZxForBundle('const m = globalThis.Deno ? globalThis.require("./core.cjs") : __module__2;');
 * // "const m = __module__2;"
 * ```
 */
export function patchZxForBundle(text: string): string {
  let found = 0;
  const patched = text.replace(ZX_DENO_REQUIRE, (_, bundled: string) => (found++, bundled));
  if (found !== 1) {
    throw new Error(
      `Expected zx's Deno-only require("./core.cjs") once in the bundle, found it ${found} ` +
        "times: zx changed; see patchZxForBundle in build.ts",
    );
  }
  return patched;
}

/** Deno's own runtime download is not reachable from here. */
export class DenortUnavailable extends Error {
  constructor(detail: string) {
    super(`Cannot download denort from Deno's servers (${detail}); falling back`);
    this.name = "DenortUnavailable";
  }
}

/**
 * Set once Deno's download has failed in this process: later builds (tests compile many
 * executables) go straight to the fallback instead of waiting for the download to fail again.
 */
let knownFallback: DenortSource | undefined;

/**
 * Builds `targets` into `options.outDir`, choosing the runtime source as described in the module
 * documentation, and returns the executables' paths. Logs each executable with the time it took
 * (bundle and compile), then the total.
 */
export async function buildAll(
  targets: readonly BuildTarget[],
  options: BuildOptions,
): Promise<string[]> {
  const log = options.log ?? ((line: string) => console.log(line));
  const workDir = options.workDir ?? join(ROOT, ".build");
  const envDenort = Deno.env.get("DENORT_BIN");
  let source: DenortSource = envDenort
    ? { kind: "env", path: envDenort }
    : knownFallback ?? { kind: "download" };
  const outputs: string[] = [];
  const startedAll = performance.now();
  for (const target of targets) {
    const started = performance.now();
    let output: string;
    try {
      output = await compileExecutable(target, source, options);
    } catch (error) {
      if (!(error instanceof DenortUnavailable)) throw error;
      log(error.message);
      source = {
        kind: "fallback",
        path: await fallbackDenort(workDir, options.run, options.hashes),
      };
      knownFallback = source;
      output = await compileExecutable(target, source, options);
    }
    outputs.push(output);
    const size = (await Deno.stat(output)).size / 2 ** 20;
    log(
      `Built ${relative(Deno.cwd(), output)} (${size.toFixed(1)} MiB) in ${
        formatDuration(performance.now() - started)
      } with the runtime from ${sourceDescription(source)}`,
    );
  }
  log(
    `Built ${outputs.length} executable${outputs.length === 1 ? "" : "s"} in ${
      formatDuration(performance.now() - startedAll)
    }`,
  );
  return outputs;
}

/**
 * Writes `SHA256SUMS` for every executable in `outDir` (those built earlier with `--ctid` too),
 * in `sha256sum -c` format, and returns how many it lists. Hashes come from `hashes`, so an
 * executable not rebuilt since they were saved is not read again.
 */
export async function writeChecksums(
  outDir: string,
  hashes: FileHashes = new FileHashes(),
): Promise<number> {
  const names = [];
  for await (const entry of Deno.readDir(outDir)) {
    if (ctidOfExecutableName(entry.name) !== undefined) names.push(entry.name);
  }
  const lines = [];
  for (const name of names.sort()) {
    lines.push(`${await hashes.sha256(join(outDir, name))}  ${name}`);
  }
  await Deno.writeTextFile(join(outDir, "SHA256SUMS"), lines.join("\n") + "\n");
  return names.length;
}

/** Copies each file into `dir` atomically (temporary name, then rename) with mode 0755. */
export async function installExecutables(files: readonly string[], dir: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  for (const file of files) {
    const target = join(dir, basename(file));
    await atomicWrite(target, async (temporary) => {
      await Deno.copyFile(file, temporary);
      await Deno.chmod(temporary, 0o755);
    });
    console.log(`Installed ${target}`);
  }
}

/** The container modules in `containers/`, by CTID. */
export async function discoverTargets(dir = join(ROOT, "containers")): Promise<ModuleTarget[]> {
  const targets: ModuleTarget[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const ctid = basename(entry.name, ".ts");
    if (entry.isFile && entry.name.endsWith(".ts") && CTID_PATTERN.test(ctid)) {
      targets.push({ ctid, modulePath: join(dir, entry.name) });
    }
  }
  return targets.sort((a, b) => Number(a.ctid) - Number(b.ctid));
}

/** What `--config` decided for each CTID of the file, and the targets to build. */
export interface ConfigSelection {
  /** One choice per CTID, in numeric order. */
  readonly choices: readonly BuildChoice[];
  /** The executables to build. */
  readonly targets: readonly BuildTarget[];
}

/**
 * Decides, for every CTID of the config `file`, which module its executable is built from (see
 * {@linkcode chooseModule}); a CTID whose entry is invalid is skipped with the reader's message.
 *
 * @param file A `phoenix_lxc_configs.json`.
 * @param dir The hand-written modules (`containers/`).
 */
export async function selectFromConfig(
  file: string,
  dir = join(ROOT, "containers"),
): Promise<ConfigSelection> {
  const loaded = await loadConfigFile(file);
  const handWritten = new Map<string, { path: string; module: ContainerModule<unknown> }>();
  for (const target of await discoverTargets(dir)) {
    const url = new URL(`file://${resolve(target.modulePath)}`).href;
    handWritten.set(target.ctid, { path: target.modulePath, module: (await import(url)).default });
  }
  const choices: BuildChoice[] = [];
  const targets: BuildTarget[] = [];
  const ctids = Object.keys(loaded.data.lxc_configs).sort((a, b) => Number(a) - Number(b));
  for (const ctid of ctids) {
    let choice: BuildChoice;
    try {
      choice = chooseModule(containerConfig(loaded, ctid), handWritten.get(ctid)?.module);
    } catch (error) {
      choice = { ctid, use: "skipped", reason: (error as Error).message };
    }
    choices.push(choice);
    if (choice.use === "module") targets.push({ ctid, modulePath: handWritten.get(ctid)!.path });
    if (choice.use === "composed") targets.push({ ctid, composition: choice.composition });
  }
  return { choices, targets };
}

/** One line per CTID saying what the build makes of it. */
export function describeChoice(choice: BuildChoice): string {
  switch (choice.use) {
    case "module":
      return `${choice.ctid}: containers/${choice.ctid}.ts (${choice.module.kind})`;
    case "composed": {
      const { kind, features, application } = choice.composition;
      return `${choice.ctid}: composed from the entry (${kind}): features ${
        features.join(", ") || "none"
      }${application ? `; application ${application}` : ""}${
        choice.instead ? ` [${choice.instead}]` : ""
      }`;
    }
    case "skipped":
      return `${choice.ctid}: SKIPPED, nothing built: ${choice.reason}`;
  }
}

async function cli(args: string[]): Promise<number> {
  // `--install` takes an optional directory; node:util cannot express that, so split it here.
  const installAt = args.indexOf("--install");
  let installDir: string | undefined;
  if (installAt >= 0) {
    const next = args[installAt + 1];
    installDir = next && !next.startsWith("-") ? next : DEFAULT_INSTALL_DIR;
    args.splice(installAt, next && !next.startsWith("-") ? 2 : 1);
  }
  const { values } = parseArgs({
    args,
    options: {
      ctid: { type: "string" },
      config: { type: "string" },
      out: { type: "string", default: join(ROOT, "dist") },
    },
  });
  let targets: readonly BuildTarget[];
  if (values.config !== undefined) {
    const selection = await selectFromConfig(values.config);
    if (values.ctid !== undefined && !selection.choices.some((c) => c.ctid === values.ctid)) {
      console.error(`${values.config} has no entry for container ${values.ctid}`);
      return 1;
    }
    console.log(`Containers of ${values.config}:`);
    for (const choice of selection.choices) console.log(`  ${describeChoice(choice)}`);
    targets = selection.targets.filter((t) => values.ctid === undefined || t.ctid === values.ctid);
    if (targets.length === 0) {
      console.error(
        values.ctid === undefined
          ? "Nothing to build"
          : `Nothing to build for container ${values.ctid} (see above)`,
      );
      return 1;
    }
  } else {
    targets = (await discoverTargets()).filter((t) =>
      values.ctid === undefined || t.ctid === values.ctid
    );
    if (targets.length === 0) {
      console.error(`No container module containers/${values.ctid}.ts`);
      return 1;
    }
  }
  const outDir = resolve(values.out!);
  const hashes = await FileHashes.load(join(ROOT, ".build", "sha256.json"));
  const outputs = await buildAll(targets, { outDir, hashes });
  const before = { ...hashes.counts };
  const started = performance.now();
  const listed = await writeChecksums(outDir, hashes);
  console.log(
    `Wrote ${relative(Deno.cwd(), join(outDir, "SHA256SUMS"))} in ${
      formatDuration(performance.now() - started)
    }: ${listed} listed, ${hashes.counts.hashed - before.hashed} hashed, ` +
      `${hashes.counts.reused - before.reused} unchanged since the last build`,
  );
  await hashes.save();
  if (installDir) await installExecutables(outputs, installDir);
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await cli([...Deno.args]));
  } catch (error) {
    console.error(`Build failed: ${(error as Error).message}`);
    Deno.exit(1);
  }
}
