/**
 * Reads what one container module needs from the config file, before any `pct` call: the entry,
 * the template/standard agreement, the snapshot name, and the module's own settings.
 *
 * @module
 */

import {
  type ContainerConfig,
  containerConfig,
  isTemplate,
  loadConfigFile,
  snapshotNameOf,
} from "../config/read_config.ts";
import type { ContainerModule } from "./container_module.ts";
import { ConfigError } from "../core/errors.ts";
import { SNAPSHOT_NAME_PATTERN } from "../core/snapshot_name.ts";

/** What the flows take from the config. */
export interface ModuleConfig<S> {
  readonly settings: S;
  /** The snapshot a template ends in; undefined for a standard container. */
  readonly snapshotName?: string;
  /** The entry's `name` (the container's hostname), for log lines. */
  readonly hostname?: string;
  /** The entry as read, and the file it is in. */
  readonly source: ContainerConfig;
}

/**
 * Loads `file`, finds `module`'s entry and derives everything the run needs from it.
 * Throws {@linkcode ConfigError} naming the file, CTID and field for anything missing or wrong.
 */
export async function loadModuleConfig<S>(
  module: ContainerModule<S>,
  file: string,
  env: Readonly<Record<string, string | undefined>>,
): Promise<ModuleConfig<S>> {
  const loaded = await loadConfigFile(file);
  const config = containerConfig(loaded, module.ctid);
  const where = `${file}: lxc_configs["${module.ctid}"]`;
  const declared = isTemplate(config.entry);
  const moduleIsTemplate = module.kind === "template";
  if (declared !== undefined && declared !== moduleIsTemplate) {
    throw new ConfigError(
      `${where}.is_template is ${declared}, but the executable for ${module.ctid} sets up a ` +
        `${moduleIsTemplate ? "template (it ends in a snapshot)" : "standard container"}; ` +
        "fix the config or install the right executable",
    );
  }
  let snapshotName: string | undefined;
  if (moduleIsTemplate) {
    snapshotName = snapshotNameOf(config.entry, module.defaultSnapshotName ?? "");
    if (!SNAPSHOT_NAME_PATTERN.test(snapshotName)) {
      throw new ConfigError(
        `${where}.template_snapshot_name: expected a snapshot name Proxmox accepts ` +
          `(a letter, then letters, digits, '-' or '_', 2 to 40 characters), found ` +
          JSON.stringify(snapshotName),
      );
    }
  }
  return {
    settings: module.settings(config, env),
    snapshotName,
    hostname: typeof config.entry.name === "string" ? config.entry.name : undefined,
    source: config,
  };
}
