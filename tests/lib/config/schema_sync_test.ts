import assert from "node:assert/strict";
import { JSON_SCHEMA_FILE, renderJsonSchema } from "../../../lib/config/write_json_schema.ts";

Deno.test("schema/phoenix_lxc_configs.schema.json is what lib/config/schema.ts generates", async () => {
  const committed = await Deno.readTextFile(JSON_SCHEMA_FILE).catch(() => "(missing)");
  assert.ok(
    committed === renderJsonSchema(),
    "schema/phoenix_lxc_configs.schema.json is out of date with lib/config/schema.ts: " +
      "run `deno task schema` and commit the result",
  );
});

Deno.test("renderJsonSchema gives the same text on every call", () => {
  assert.equal(renderJsonSchema(), renderJsonSchema());
});

Deno.test("the generated JSON Schema is draft-07 and keys lxc_configs by CTID", () => {
  const schema = JSON.parse(renderJsonSchema());
  assert.equal(schema.$schema, "http://json-schema.org/draft-07/schema#");
  assert.deepEqual(schema.required, ["lxc_configs"]);
  assert.equal(schema.properties.lxc_configs.propertyNames.pattern, "^[1-9][0-9]{2,8}$");
  const entry = schema.properties.lxc_configs.additionalProperties;
  assert.deepEqual(entry.properties.vllm_tensor_parallel_size, {
    type: "integer",
    minimum: 1,
    maximum: 8,
    description: "Number of GPUs the model is split over.",
  });
  assert.deepEqual(entry.additionalProperties, {}, "unknown fields are allowed");
});
