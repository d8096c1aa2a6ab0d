/**
 * Hostile configuration files (issue 9): each ends in a ConfigError naming the file and saying
 * what is wrong and where, never in a parser crash. The compiled executables' exit code for
 * them is pinned in tests/e2e/hostile_input_test.ts.
 */

import assert from "node:assert/strict";
import { invalidUtf8Offset, MAX_CONFIG_BYTES, tooDeepAt } from "../../../lib/config/_limits.ts";
import { loadConfigFile } from "../../../lib/config/read_config.ts";
import { ConfigError } from "../../../lib/core/errors.ts";
import { rejectsWith } from "../../support/assertions.ts";

async function withFile(content: string | Uint8Array, fn: (path: string) => Promise<void>) {
  const path = await Deno.makeTempFile({ suffix: ".json" });
  try {
    if (typeof content === "string") await Deno.writeTextFile(path, content);
    else await Deno.writeFile(path, content);
    await fn(path);
  } finally {
    await Deno.remove(path);
  }
}

async function configError(path: string): Promise<string> {
  return (await rejectsWith(loadConfigFile(path), ConfigError)).message;
}

Deno.test("100,000 nested arrays are refused where the nesting passes 64 levels, not a stack overflow", async () => {
  const text = `{ "lxc_configs": {},\n  "x": ${"[".repeat(100_000)}${"]".repeat(100_000)} }\n`;
  await withFile(text, async (path) => {
    assert.equal(
      await configError(path),
      `Cannot parse the configuration file ${path}: ${path}:2:71: arrays and objects nest ` +
        "more than 64 levels deep here; a configuration file needs a few levels only",
    );
  });
});

Deno.test("64 levels of nesting are still read", async () => {
  const text = `{ "lxc_configs": {}, "x": ${"[".repeat(63)}${"]".repeat(63)} }`;
  await withFile(text, async (path) => {
    assert.deepEqual((await loadConfigFile(path)).data.lxc_configs, {});
  });
});

Deno.test("tooDeepAt skips brackets in strings and comments, as the parser does", () => {
  assert.equal(tooDeepAt(`{"a": "[[[[", "b\\"[[": 1} // [[[[\n/* {{{{ */`, 2), undefined);
  assert.equal(tooDeepAt(`{"a": [[ ]]}`, 2), 7);
  assert.equal(tooDeepAt(`{"a": "unterminated\n [[`, 2), 22, "a string ends at the line's end");
});

Deno.test("a file larger than 16 MiB is refused with its size, before it is read", async () => {
  const path = await Deno.makeTempFile({ suffix: ".json" });
  try {
    await Deno.truncate(path, MAX_CONFIG_BYTES + 1);
    assert.equal(
      await configError(path),
      `Cannot read the configuration file ${path}: it is ${MAX_CONFIG_BYTES + 1} bytes, more ` +
        "than 16 MiB, which is as large as a configuration file may be. Set LXC_CONFIG_FILE " +
        "to the path of phoenix_lxc_configs.json (the orchestrator's default is " +
        "/usr/local/phoenix_hypervisor/etc/phoenix_lxc_configs.json).",
    );
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("an endless file (/dev/zero) is read no further than 16 MiB", async () => {
  assert.match(
    await configError("/dev/zero"),
    /^Cannot read the configuration file \/dev\/zero: it holds more than 16 MiB, /,
  );
});

Deno.test("a file that is not UTF-8 is refused with the byte, its offset and line:column", async () => {
  const latin1 = new Uint8Array([
    ...new TextEncoder().encode('{\n  "lxc_configs": { "950": { "name": "caf'),
    0xe9,
    ...new TextEncoder().encode('" } } }\n'),
  ]);
  await withFile(latin1, async (path) => {
    assert.equal(
      await configError(path),
      `Cannot read the configuration file ${path}: it is not UTF-8 text: byte 0xE9 at byte ` +
        `offset 42 (${path}:2:41); save it as UTF-8`,
    );
  });
});

Deno.test("invalidUtf8Offset finds overlong forms, surrogates, cut sequences and stray bytes", () => {
  const bytes = (...values: number[]) => new Uint8Array(values);
  assert.equal(invalidUtf8Offset(new TextEncoder().encode("café ✓ 😀")), undefined);
  assert.equal(invalidUtf8Offset(bytes(0x61, 0xc0, 0xaf)), 1, "overlong /");
  assert.equal(invalidUtf8Offset(bytes(0xe0, 0x80, 0xaf)), 0, "overlong three-byte form");
  assert.equal(invalidUtf8Offset(bytes(0xed, 0xa0, 0x80)), 0, "a surrogate");
  assert.equal(invalidUtf8Offset(bytes(0xf4, 0x90, 0x80, 0x80)), 0, "above U+10FFFF");
  assert.equal(invalidUtf8Offset(bytes(0x61, 0x62, 0xe2, 0x9c)), 2, "cut at the end");
  assert.equal(invalidUtf8Offset(bytes(0x61, 0x80)), 1, "a stray continuation byte");
});

Deno.test("a CTID key with a leading zero is refused, saying so", async () => {
  const text = '{ "lxc_configs": {\n  "0950": { "name": "vllm" } } }\n';
  await withFile(text, async (path) => {
    assert.equal(
      await configError(path),
      `Invalid configuration file: ${path}:2:3: lxc_configs: key "0950": expected a CTID as a ` +
        'string of digits, e.g. "900", without a leading zero',
    );
  });
});

Deno.test("clone_from_ctid with a leading zero is refused the same way", async () => {
  const { containerConfig } = await import("../../../lib/config/read_config.ts");
  const text = '{ "lxc_configs": { "950": { "clone_from_ctid": "0920" } } }';
  await withFile(text, async (path) => {
    const loaded = await loadConfigFile(path);
    assert.throws(
      () => containerConfig(loaded, "950"),
      /clone_from_ctid: expected a CTID as a string of digits, e.g. "900", without a leading zero, found "0920"/,
    );
  });
});
