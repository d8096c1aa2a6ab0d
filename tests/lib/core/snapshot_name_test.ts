import assert from "node:assert/strict";
import { SNAPSHOT_NAME_PATTERN } from "../../../lib/core/snapshot_name.ts";

Deno.test("SNAPSHOT_NAME_PATTERN accepts the names pct accepts", () => {
  for (
    const name of [
      "base-snapshot",
      "vllm-base-snapshot",
      "template-snapshot",
      "ab",
      "A_1-b",
      "Current",
    ]
  ) {
    assert.ok(SNAPSHOT_NAME_PATTERN.test(name), name);
  }
  assert.ok(SNAPSHOT_NAME_PATTERN.test(`a${"b".repeat(39)}`), "40 characters");
});

Deno.test("SNAPSHOT_NAME_PATTERN rejects what pct refuses, and its reserved names", () => {
  for (
    const name of [
      "",
      "a",
      `a${"b".repeat(40)}`,
      "1snap",
      "-snap",
      "snap.1",
      "snap shot",
      "snap\n",
      "current",
      "vzdump",
    ]
  ) {
    assert.equal(SNAPSHOT_NAME_PATTERN.test(name), false, JSON.stringify(name));
  }
});
