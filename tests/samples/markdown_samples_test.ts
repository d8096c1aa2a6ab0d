import assert from "node:assert/strict";
import { findSamples, firstDifference, normalise, replaceSamples } from "./markdown_samples.ts";

const DOC = [
  "# Title",
  "",
  "<!-- sample: one -->",
  "```text",
  "old line 1",
  "old line 2",
  "```",
  "",
  "Prose.",
  "",
  "<!-- sample: two -->",
  "````json",
  "{}",
  "```",
  "````",
  "```",
  "not a sample",
  "```",
  "",
].join("\n");

Deno.test("samples: a marker and the fenced block after it make a sample", () => {
  assert.deepEqual(findSamples(DOC).map(({ scenario, line, text }) => ({ scenario, line, text })), [
    { scenario: "one", line: 3, text: "old line 1\nold line 2" },
    { scenario: "two", line: 11, text: "{}\n```" },
  ]);
});

Deno.test("samples: rewriting replaces only the blocks' contents", () => {
  const updated = replaceSamples(DOC, (name) => name === "one" ? "new" : '{\n  "a": 1\n}');
  assert.equal(
    updated,
    DOC.replace("old line 1\nold line 2", "new").replace("{}\n```\n````", '{\n  "a": 1\n}\n````'),
  );
  assert.equal(
    replaceSamples(updated, (name) => name === "one" ? "new" : '{\n  "a": 1\n}'),
    updated,
  );
});

Deno.test("samples: a marker without a block after it, or a block not closed, is an error", () => {
  assert.throws(
    () => findSamples("<!-- sample: lost -->\n\n```text\nx\n```\n"),
    /the text:1: the sample marker "lost" must be followed at once by a fenced code block/,
  );
  assert.throws(
    () => findSamples("<!-- sample: open -->\n```text\nx\n"),
    /the text:2: .* not closed/,
  );
});

Deno.test("samples: only what varies between runs is normalised, and twice is once", () => {
  const raw = [
    "2026-12-04 16:42:38 [INFO] x: pct exec 920 -- true (exit 0, 689 ms)",
    "Summary: 4 steps; 18 pct calls; 37.4 s in total.",
    '"startedAt": "2026-12-04T16:42:38.081Z", "durationMs": 37499',
    "pct shutdown 920 --timeout 60; Would shut down container 920 (timeout 60 s); held by PID 4242",
    "Configuration: /tmp/phoenix-scenario-1a2b3c/phoenix_lxc_configs.json",
  ].join("\n");
  const expected = [
    "YYYY-MM-DD hh:mm:ss [INFO] x: pct exec 920 -- true (exit 0, <time>)",
    "Summary: 4 steps; 18 pct calls; <time> in total.",
    '"startedAt": "YYYY-MM-DDThh:mm:ss.sssZ", "durationMs": "<ms>"',
    "pct shutdown 920 --timeout 60; Would shut down container 920 (timeout 60 s); held by PID <pid>",
    "Configuration: /tmp/phoenix-scenario-XXXXXX/phoenix_lxc_configs.json",
  ].join("\n");
  const dirs = { "/tmp/phoenix-scenario-1a2b3c": "/tmp/phoenix-scenario-" };
  assert.equal(normalise(raw, dirs), expected);
  assert.equal(normalise(expected), expected);
});

Deno.test("samples: the first differing line is named, with both sides", () => {
  assert.equal(firstDifference("a\nb", "a\nb"), undefined);
  assert.equal(
    firstDifference("a\nb\nc", "a\nB"),
    "line 2 of the block:\n  the file says:    b\n  the program says: B",
  );
  assert.match(firstDifference("a", "a\nmore")!, /the file says: {4}\(nothing: the block ends\)/);
});
