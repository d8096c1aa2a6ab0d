/**
 * Where the build finds the project: its root, the hand-written container modules, and the work
 * directory for generated entries, the cached fallback runtime and remembered hashes.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { join } from "node:path";

/** The project's root directory (where `deno.json`, `main.ts` and `containers/` are). */
export const PROJECT_ROOT: string = fileURLToPath(new URL("../../", import.meta.url));

/** The hand-written container modules, `containers/<CTID>.ts`. */
export const CONTAINERS_DIR: string = join(PROJECT_ROOT, "containers");

/** The build's work directory: generated entries, the fallback runtime, remembered hashes. */
export const WORK_DIR: string = join(PROJECT_ROOT, ".build");
