/**
 * `deno task samples`: rewrites every marked sample in README.md and `docs/*.md` with what its
 * scenario prints now (see `markdown_samples.ts` and `scenarios.ts`). A marker naming an unknown
 * scenario stops it before anything is written.
 *
 * @module
 */

import { join } from "node:path";
import { findSamples, replaceSamples, ROOT, sampleFiles } from "./markdown_samples.ts";
import { SCENARIOS } from "./scenarios.ts";

async function main(): Promise<number> {
  const texts = new Map<string, string>();
  const wanted = new Set<string>();
  for (const file of sampleFiles()) {
    const text = await Deno.readTextFile(join(ROOT, file));
    for (const sample of findSamples(text, file)) {
      if (!(sample.scenario in SCENARIOS)) {
        console.error(
          `${file}:${sample.line}: no scenario "${sample.scenario}" in tests/samples/scenarios.ts ` +
            `(there are: ${Object.keys(SCENARIOS).join(", ")})`,
        );
        return 1;
      }
      wanted.add(sample.scenario);
    }
    texts.set(file, text);
  }
  const outputs = new Map<string, string>();
  // One at a time: the scenarios share the compiled executables and this machine's cores.
  for (const name of wanted) {
    const unavailable = await SCENARIOS[name].unavailable?.();
    if (unavailable) console.log(`"${name}" cannot run here (${unavailable}): its samples stay`);
    else outputs.set(name, await SCENARIOS[name].run());
  }
  for (const [file, text] of texts) {
    const updated = replaceSamples(
      text,
      (name, current) => outputs.get(name) ?? current,
    );
    if (updated === text) {
      console.log(`${file}: unchanged`);
    } else {
      await Deno.writeTextFile(join(ROOT, file), updated);
      console.log(`${file}: samples rewritten`);
    }
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main());
