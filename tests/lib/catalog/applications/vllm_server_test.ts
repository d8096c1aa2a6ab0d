/**
 * The vLLM server's command line against the config it comes from: for every real entry that
 * gets the vLLM server (`../shared/real-configs`), the `ExecStart=` of `vllm.service` holds
 * exactly the options its config asks for, derived here independently (every known field of
 * `vllm_engine_config`, or the flat `vllm_*` fields, as `--kebab-case` options); and fields the
 * server does not know are refused rather than dropped.
 */

import assert from "node:assert/strict";
import { vllmServer } from "../../../../lib/catalog/applications/vllm_server.ts";
import { entryShape } from "../../../../lib/catalog/composition.ts";
import { containerConfig, loadConfigFile } from "../../../../lib/config/read_config.ts";
import { ConfigError } from "../../../../lib/core/errors.ts";
import {
  presentGenerations,
  REAL_CONFIGS_ABSENT,
  REAL_CONFIGS_AVAILABLE,
  realConfigPath,
} from "../../../support/real_configs.ts";

/** `max_model_len` → `--max-model-len`. */
const option = (field: string) => `--${field.replaceAll("_", "-")}`;

/** The options the raw entry asks for, as `--option value` pairs (flags alone), model first. */
function expectedCommand(entry: Record<string, unknown>): string[] {
  const engine = entry.vllm_engine_config as Record<string, Record<string, unknown>> | undefined;
  const fields: Record<string, unknown> = {};
  if (engine) {
    for (const group of Object.values(engine)) Object.assign(fields, group);
  } else {
    for (const [key, value] of Object.entries(entry)) {
      if (key.startsWith("vllm_")) fields[key.slice("vllm_".length)] = value;
    }
  }
  const { model, ...rest } = fields;
  // vLLM's defaults, which the unit always spells out.
  const options: Record<string, unknown> = {
    host: "0.0.0.0",
    port: 8000,
    tensor_parallel_size: 1,
    ...rest,
  };
  const pairs = Object.entries(options).filter(([, v]) => v !== false && v !== null)
    .map(([k, v]) => v === true ? option(k) : `${option(k)} ${v}`);
  return [String(model), ...pairs.sort()];
}

/** The unit's `ExecStart=` as the model, then its options paired up and sorted. */
function actualCommand(unit: string): string[] {
  const line = /^ExecStart=(.*)$/m.exec(unit)?.[1];
  assert.ok(line, "the unit has an ExecStart= line");
  const [program, serve, model, ...args] = line.split(" ");
  assert.equal(program, "/opt/vllm/bin/vllm");
  assert.equal(serve, "serve");
  const pairs: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const next = args[i + 1];
    if (next !== undefined && !next.startsWith("--")) pairs.push(`${args[i]} ${args[++i]}`);
    else pairs.push(args[i]);
  }
  return [model, ...pairs.sort()];
}

const cases = presentGenerations().flatMap((generation) => {
  const file = realConfigPath(generation);
  const data = JSON.parse(Deno.readTextFileSync(file));
  return Object.entries(data.lxc_configs as Record<string, Record<string, unknown>>)
    .filter(([, entry]) => entryShape(entry).applications.includes("vllm-server"))
    .map(([ctid, entry]) => ({ generation, file, ctid, entry }));
});

/** Real entries the server refuses, and why (generation → CTID → message). */
const REFUSED: Record<string, Record<string, RegExp>> = {
  "185f0ab_first_is_template": { "950": /is an MLX model/ },
  "fe8c1c1_last_is_template": { "950": /is an MLX model/ },
};

for (const c of cases) {
  const refused = REFUSED[c.generation]?.[c.ctid];
  Deno.test(
    refused
      ? `vllm-server refuses real entry ${c.generation} ${c.ctid}`
      : `vllm-server: real entry ${c.generation} ${c.ctid} gets exactly the options its config asks for`,
    async () => {
      const config = containerConfig(await loadConfigFile(c.file), c.ctid);
      if (refused) {
        assert.throws(() => vllmServer.settings(config, {}), (e) => {
          assert.ok(e instanceof ConfigError);
          assert.match(e.message, refused);
          return true;
        });
        return;
      }
      const { unit } = vllmServer.settings(config, {});
      assert.deepEqual(actualCommand(unit), expectedCommand(c.entry));
    },
  );
}

Deno.test({
  name: REAL_CONFIGS_AVAILABLE
    ? "vllm-server: the real vLLM entries are the ones expected"
    : `vllm-server real entries ${REAL_CONFIGS_ABSENT}`,
  ignore: !REAL_CONFIGS_AVAILABLE,
  fn: () => {
    const latest = cases.filter((c) => c.generation === "35c465b_latest_rootesting")
      .map((c) => c.ctid).sort();
    assert.deepEqual(latest, ["801", "802", "910", "912"]);
    const old = cases.filter((c) => c.generation === "6707799_last_old_path").map((c) => c.ctid);
    assert.deepEqual(old.sort(), ["950", "951"]);
  },
});
