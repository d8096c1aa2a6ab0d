/**
 * The JSON Schema text of a zod schema, as the committed `schema/*.schema.json` files hold it:
 * draft-07 (which editors and `ajv` read), pretty-printed, ending in a newline.
 *
 * @module
 */

import { z } from "../deps/zod.ts";

/**
 * `schema` as JSON Schema draft-07 text; the same text on every call.
 *
 * @example
 * ```ts ignore
 * import { z } from "../deps/zod.ts";
 * renderDraft07(z.object({ ctid: z.string() })); // '{\n  "$schema": ...'
 * ```
 */
export function renderDraft07(schema: z.ZodType): string {
  const json = z.toJSONSchema(schema, {
    target: "draft-07",
    override: ({ jsonSchema }) => {
      // zod bounds every integer by Number.MAX_SAFE_INTEGER; as a documented limit it is noise.
      if (jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
    },
  });
  return `${JSON.stringify(json, null, 2)}\n`;
}
