/**
 * What the build makes executables from: the hand-written container modules in `containers/`,
 * or, with `--config`, what each entry of a `phoenix_lxc_configs.json` asks for (the module file
 * when it fits the entry, else a module composed from the entry, else nothing and why).
 *
 * @module
 */

import { basename, join, resolve } from "node:path";
import { CTID_PATTERN } from "../core/ctid.ts";
import { type BuildChoice, chooseModule, type Composition } from "../catalog/composition.ts";
import { containerConfig, loadConfigFile } from "../config/read_config.ts";
import type { ContainerModule } from "../module/container_module.ts";
import { CONTAINERS_DIR } from "./project.ts";

/** What to do about a `--config` file that cannot be read. */
const CONFIG_HINT = "Give --config the path of a phoenix_lxc_configs.json (on a Phoenix host, " +
  "/usr/local/phoenix_hypervisor/etc/phoenix_lxc_configs.json).";

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

/** The container modules in `containers/`, by CTID. */
export async function discoverTargets(dir = CONTAINERS_DIR): Promise<ModuleTarget[]> {
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
  /** Every CTID of the file, with its entry's `application_script` if it gives one. */
  readonly applicationScripts: ReadonlyMap<string, string | undefined>;
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
  dir = CONTAINERS_DIR,
): Promise<ConfigSelection> {
  const loaded = await loadConfigFile(file, CONFIG_HINT);
  const handWritten = new Map<string, { path: string; module: ContainerModule<unknown> }>();
  for (const target of await discoverTargets(dir)) {
    const url = new URL(`file://${resolve(target.modulePath)}`).href;
    handWritten.set(target.ctid, { path: target.modulePath, module: (await import(url)).default });
  }
  const choices: BuildChoice[] = [];
  const targets: BuildTarget[] = [];
  const applicationScripts = new Map<string, string | undefined>();
  const ctids = Object.keys(loaded.data.lxc_configs).sort((a, b) => Number(a) - Number(b));
  for (const ctid of ctids) {
    const script = (loaded.data.lxc_configs[ctid] as { application_script?: unknown })
      ?.application_script;
    applicationScripts.set(ctid, typeof script === "string" ? script : undefined);
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
  return { choices, targets, applicationScripts };
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
