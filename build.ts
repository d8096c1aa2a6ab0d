/**
 * `deno task build`: the command line that compiles one standalone executable per container,
 * `dist/phoenix_hypervisor_setup_<CTID>.sh`, writes `dist/SHA256SUMS` and, with `--install`,
 * installs them. {@linkcode HELP} says every option. The work itself is in `lib/build/`:
 * targets (what to build), compile, runtime (the `denort` it needs), dist (what `dist/` holds)
 * and install.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { join, relative, resolve } from "node:path";
import { executableNameFor } from "./lib/core/ctid.ts";
import { formatDuration } from "./lib/core/duration.ts";
import { FileHashes } from "./lib/build/file_hashes.ts";
import { PROJECT_ROOT, WORK_DIR } from "./lib/build/project.ts";
import {
  type BuildTarget,
  describeChoice,
  discoverTargets,
  selectFromConfig,
} from "./lib/build/targets.ts";
import { buildAll } from "./lib/build/compile.ts";
import { removeOthers, writeChecksums } from "./lib/build/dist.ts";
import {
  BACKUP_SUFFIX,
  checkInstall,
  InstallError,
  type InstallPlan,
  installPlan,
  planInstall,
} from "./lib/build/install.ts";

const DEFAULT_INSTALL_DIR = "/usr/local/phoenix_hypervisor/bin";

/** What `deno task build --help` prints. */
export const HELP = `Usage: deno task build [options]

Compiles dist/phoenix_hypervisor_setup_<CTID>.sh for every containers/<CTID>.ts, or for every
entry of a config file, and writes dist/SHA256SUMS. dist/ then holds exactly what this build made.

  --config FILE       build for every entry of FILE (a phoenix_lxc_configs.json): the entry's
                      containers/<CTID>.ts when it fits, else a module composed from the entry,
                      else nothing (the build says why)
  --ctid CTID         only this container; give it again for more (--ctid 910 --ctid 920)
  --out DIR           put the executables and SHA256SUMS into DIR (default: dist/)
  --install [DIR]     then install them into DIR (default: ${DEFAULT_INSTALL_DIR}).
                      DIR is checked before anything is compiled; a file there that
                      phoenix-setup did not make is never replaced without --replace-foreign
  --replace-foreign   with --install: replace such files, keeping each beside as
                      <name>${BACKUP_SUFFIX}
  --link-lxc-name     with --install: also install phoenix_hypervisor_lxc_<CTID>.sh, the name the
                      2025-09-01 orchestrator (phoenix_establish_hypervisor.sh) runs, as a link
  --link-application-script
                      with --install and --config: also install each entry's application_script
                      name (the 2025-09-07 orchestrator, phoenix_orchestrator.sh), as a link, when
                      no other entry gives or owns that name; a shared one is left out, saying so
  --help              print this and exit

The last line says how many executables were built and which containers were skipped.`;

/** The options `parseArgs` reads (`--install` is split off first: its directory is optional). */
const OPTIONS = {
  config: { type: "string" },
  ctid: { type: "string", multiple: true },
  out: { type: "string", default: join(PROJECT_ROOT, "dist") },
  "replace-foreign": { type: "boolean" },
  "link-lxc-name": { type: "boolean" },
  "link-application-script": { type: "boolean" },
  help: { type: "boolean" },
} as const;

/** A command line that cannot be followed; said with a pointer to `--help`, exit 1. */
class UsageError extends Error {}

async function cli(args: string[]): Promise<number> {
  const installAt = args.indexOf("--install");
  let installDir: string | undefined;
  if (installAt >= 0) {
    const next = args[installAt + 1];
    const given = next !== undefined && !next.startsWith("-");
    installDir = given ? next : DEFAULT_INSTALL_DIR;
    args.splice(installAt, given ? 2 : 1);
  }
  let values;
  try {
    values = parseArgs({ args, options: OPTIONS }).values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  for (const option of ["replace-foreign", "link-lxc-name", "link-application-script"] as const) {
    if (values[option] && installDir === undefined) {
      throw new UsageError(`--${option} applies to --install, which was not given`);
    }
  }
  if (values["link-application-script"] && values.config === undefined) {
    throw new UsageError(
      "--link-application-script needs --config: the application_script names are in the file",
    );
  }
  const wanted = values.ctid;
  const asked = (ctid: string) => wanted === undefined || wanted.includes(ctid);
  let targets: readonly BuildTarget[];
  let skipped: string[] = [];
  let applicationScripts: ReadonlyMap<string, string | undefined> | undefined;
  if (values.config !== undefined) {
    const selection = await selectFromConfig(values.config);
    const missing = wanted?.filter((ctid) => !selection.choices.some((c) => c.ctid === ctid));
    if (missing?.length) {
      console.error(`${values.config} has no entry for container ${missing.join(", ")}`);
      return 1;
    }
    console.log(`Containers of ${values.config}:`);
    for (const choice of selection.choices) console.log(`  ${describeChoice(choice)}`);
    targets = selection.targets.filter((t) => asked(t.ctid));
    skipped = selection.choices.filter((c) => c.use === "skipped" && asked(c.ctid))
      .map((c) => c.ctid);
    if (values["link-application-script"]) applicationScripts = selection.applicationScripts;
    if (targets.length === 0) {
      console.error(
        wanted === undefined
          ? "Nothing to build"
          : `Nothing to build for container ${wanted.join(", ")} (see above)`,
      );
      return 1;
    }
  } else {
    targets = (await discoverTargets()).filter((t) => asked(t.ctid));
    const missing = wanted?.filter((ctid) => !targets.some((t) => t.ctid === ctid));
    if (missing?.length) {
      console.error(
        missing.map((ctid) => `No container module containers/${ctid}.ts`).join("\n") +
          "\nFor a container of your own config, build with --config FILE",
      );
      return 1;
    }
  }

  // The install directory is checked before anything is compiled: a build of minutes must not
  // end in "cannot write there".
  let plan: InstallPlan | undefined;
  if (installDir !== undefined) {
    plan = planInstall(installDir, targets.map((t) => t.ctid), {
      lxcNames: values["link-lxc-name"],
      applicationScripts,
    });
    try {
      await checkInstall(plan, values["replace-foreign"] ?? false);
    } catch (error) {
      if (error instanceof InstallError) error.message += "\nNothing was built or installed.";
      throw error;
    }
  }

  const outDir = resolve(values.out!);
  const hashes = await FileHashes.load(join(WORK_DIR, "sha256.json"));
  const outputs = await buildAll(targets, { outDir, hashes });
  const removed = await removeOthers(outDir, targets.map((t) => executableNameFor(t.ctid)));
  if (removed.length > 0) {
    console.log(
      `Removed from ${relative(Deno.cwd(), outDir) || "."} what this build did not make: ` +
        removed.join(", "),
    );
  }
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
  if (plan !== undefined) {
    await installPlan(plan, outDir, values["replace-foreign"] ?? false);
    for (const line of plan.notInstalled) console.log(`Not installed: ${line}`);
  }
  console.log(
    `${outputs.length} built, ${skipped.length} skipped` +
      (skipped.length > 0 ? ` (${skipped.join(", ")})` : ""),
  );
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await cli([...Deno.args]));
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`${error.message}. See deno task build --help`);
    } else if (error instanceof InstallError) {
      console.error(error.message);
    } else {
      console.error(`Build failed: ${(error as Error).message}`);
    }
    Deno.exit(1);
  }
}
