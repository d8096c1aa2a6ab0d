/**
 * Every sample of output in README.md and `docs/*.md` is what the program prints now: each marked
 * block (see `markdown_samples.ts`) is compared with a fresh run of its scenario
 * (`scenarios.ts`). After an intended change, `deno task samples` rewrites them.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { findSamples, firstDifference, normalise, ROOT, sampleFiles } from "./markdown_samples.ts";
import { SCENARIOS } from "./scenarios.ts";

for (const file of sampleFiles()) {
  const samples = findSamples(Deno.readTextFileSync(join(ROOT, file)), file);
  for (const sample of samples) {
    const where = `${file}:${sample.line}`;
    const unavailable = await SCENARIOS[sample.scenario]?.unavailable?.();
    if (unavailable) console.log(`samples: ${where} "${sample.scenario}" ignored: ${unavailable}`);
    Deno.test({
      name: `samples: ${where} "${sample.scenario}" is what the program prints now`,
      ignore: unavailable !== undefined,
    }, async () => {
      const scenario = SCENARIOS[sample.scenario];
      assert.ok(
        scenario,
        `${where}: the marker names "${sample.scenario}", which tests/samples/scenarios.ts does ` +
          `not have (there are: ${Object.keys(SCENARIOS).join(", ")})`,
      );
      const printed = await scenario.run();
      const difference = firstDifference(normalise(sample.text), printed);
      assert.ok(
        difference === undefined,
        `${where}: sample "${sample.scenario}" is not what the program prints now; ` +
          `${difference}\n(after an intended change: deno task samples)`,
      );
    });
  }
}

Deno.test("samples: the README has samples, and every scenario is shown somewhere", () => {
  const shown = new Set(
    sampleFiles().flatMap((file) =>
      findSamples(Deno.readTextFileSync(join(ROOT, file)), file).map((s) => s.scenario)
    ),
  );
  assert.ok(shown.size > 0);
  // A scenario no sample names would never run, so nothing would check it.
  assert.deepEqual(Object.keys(SCENARIOS).filter((name) => !shown.has(name)), []);
});
