/**
 * `deno task build`: compiles one standalone executable per container module,
 * `dist/phoenix_hypervisor_setup_<CTID>.sh`, each embedding only its own module, and writes
 * `dist/SHA256SUMS`. It prints each executable's build time and the total; hashes are remembered
 * in `.build/sha256.json`, so a file unchanged since is not read again (`lib/build/file_hashes.ts`).
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
 * `deno compile` needs a `denort` runtime: Deno's own download, `DENORT_BIN`, or a pinned
 * fallback (`lib/build/runtime.ts`). The build says which. The work itself is in `lib/build/`:
 * targets, compile, runtime, dist (checksums) and install; this file is the command line.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { join, relative, resolve } from "node:path";
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
import { writeChecksums } from "./lib/build/dist.ts";
import { installExecutables } from "./lib/build/install.ts";

const DEFAULT_INSTALL_DIR = "/usr/local/phoenix_hypervisor/bin";

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
      out: { type: "string", default: join(PROJECT_ROOT, "dist") },
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
  const hashes = await FileHashes.load(join(WORK_DIR, "sha256.json"));
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
