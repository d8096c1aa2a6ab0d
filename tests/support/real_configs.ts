/**
 * The real `phoenix_lxc_configs.json` files of the Phoenix Hypervisor's history, kept beside the
 * repository in `../shared/real-configs` and never copied into it. Tests that read them register
 * as ignored, with a name saying why, when the folder is absent.
 *
 * @module
 */

import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The folder of real configs. */
export const REAL_CONFIGS_DIR: string = fileURLToPath(
  new URL("../../../shared/real-configs/", import.meta.url),
);

/** Whether the folder is there. */
export const REAL_CONFIGS_AVAILABLE: boolean = existsSync(REAL_CONFIGS_DIR);

/** Appended to the name of a test that is ignored because the folder is absent. */
export const REAL_CONFIGS_ABSENT = "(skipped: ../shared/real-configs is absent)";

/** The generations known when the tests were written, oldest first (file name suffixes). */
export const GENERATIONS: readonly string[] = [
  "ff11a70_earliest_root",
  "185f0ab_first_is_template",
  "fe8c1c1_last_is_template",
  "40a78ef_first_clone_from_ctid",
  "6707799_last_old_path",
  "0385ea2_main_head",
  "35c465b_latest_rootesting",
];

const CONFIG_FILE = /^phoenix_lxc_configs\.(?!schema\.)(.+)\.json$/;

/** The path of one generation's config. */
export function realConfigPath(generation: string): string {
  return join(REAL_CONFIGS_DIR, `phoenix_lxc_configs.${generation}.json`);
}

/** The generations present in the folder (none when it is absent), sorted by name. */
export function presentGenerations(): string[] {
  if (!REAL_CONFIGS_AVAILABLE) return [];
  return [...Deno.readDirSync(REAL_CONFIGS_DIR)]
    .map((entry) => CONFIG_FILE.exec(entry.name)?.[1])
    .filter((generation): generation is string => generation !== undefined)
    .sort();
}
