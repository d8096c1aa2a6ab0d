/**
 * Writes `schema/phoenix_lxc_configs.schema.json`, the JSON Schema of the configuration file,
 * generated from {@linkcode LxcConfigFileSchema} so the two cannot drift apart. Run it with
 * `deno task schema`; a test fails when the committed file is out of date.
 *
 * @module
 */

import { renderDraft07 } from "../core/json_schema.ts";
import { LxcConfigFileSchema } from "./schema.ts";

/** Where the generated schema is committed, relative to the repository root. */
export const JSON_SCHEMA_FILE = new URL(
  "../../schema/phoenix_lxc_configs.schema.json",
  import.meta.url,
);

/**
 * The JSON Schema (draft-07, which editors and `ajv` read) of `phoenix_lxc_configs.json`.
 *
 * @returns Pretty-printed JSON ending in a newline; the same text on every call.
 *
 * @example
 * ```ts ignore
 * JSON.parse(renderJsonSchema()).title; // "Phoenix Hypervisor LXC configuration"
 * ```
 */
export function renderJsonSchema(): string {
  return renderDraft07(LxcConfigFileSchema);
}

if (import.meta.main) {
  await Deno.mkdir(new URL(".", JSON_SCHEMA_FILE), { recursive: true });
  await Deno.writeTextFile(JSON_SCHEMA_FILE, renderJsonSchema());
  console.log(`Wrote ${JSON_SCHEMA_FILE.pathname}`);
}
