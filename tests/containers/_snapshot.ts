/**
 * Snapshot assertions for long outputs (the exact sequence of pct calls of a run), in the file
 * format of `@std/testing/snapshot`, which these machines cannot fetch from JSR: each test file
 * has `__snapshots__/<file>.snap` beside it, a module of `snapshot[\`<test name> <n>\`] = \`...\`;`
 * entries, values serialized with `Deno.inspect` as `@std/testing` does.
 *
 * Update them with `deno test --allow-all tests/containers/ -- --update` (or `-u`).
 *
 * @module
 */

import assert from "node:assert/strict";
import { basename, dirname, join } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";

const UPDATE = Deno.args.includes("--update") || Deno.args.includes("-u");

/** One snapshot file: what it held when read, and what this run checked or wrote. */
interface SnapshotFile {
  readonly path: string;
  readonly entries: Map<string, string>;
  changed: boolean;
}

const files = new Map<string, SnapshotFile>();
const counts = new Map<string, number>();

/** `Deno.inspect` as `@std/testing/snapshot` serializes. */
export function serialize(value: unknown): string {
  return Deno.inspect(value, {
    depth: Infinity,
    sorted: true,
    trailingComma: true,
    compact: false,
    iterableLimit: Infinity,
    strAbbreviateSize: Infinity,
    breakLength: Infinity,
    escapeSequences: false,
  }).replaceAll("\r", "\\r");
}

const escape = (text: string) =>
  text.replaceAll("\\", "\\\\").replaceAll("`", "\\`").replaceAll("${", "\\${");
const unescape = (text: string) => text.replace(/\\([\\`$])/g, "$1");

function parse(text: string): Map<string, string> {
  const entries = new Map<string, string>();
  const entry = /^snapshot\[`((?:[^`\\]|\\.)*)`\] = `\n((?:[^`\\]|\\.)*)\n`;$/gms;
  for (const [, name, value] of text.matchAll(entry)) entries.set(unescape(name), unescape(value));
  return entries;
}

function format(entries: Map<string, string>): string {
  const body = [...entries].sort(([a], [b]) => a.localeCompare(b)).map(([name, value]) =>
    `snapshot[\`${escape(name)}\`] = \`\n${escape(value)}\n\`;\n`
  );
  return ["export const snapshot = {};\n", ...body].join("\n");
}

function fileFor(testFile: string): SnapshotFile {
  let file = files.get(testFile);
  if (!file) {
    const path = join(dirname(testFile), "__snapshots__", `${basename(testFile)}.snap`);
    let text = "";
    try {
      text = Deno.readTextFileSync(path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    file = { path, entries: parse(text), changed: false };
    files.set(testFile, file);
  }
  return file;
}

globalThis.addEventListener("unload", () => {
  for (const file of files.values()) {
    if (!file.changed) continue;
    Deno.mkdirSync(dirname(file.path), { recursive: true });
    Deno.writeTextFileSync(file.path, format(file.entries));
  }
});

/** The test's full name as `@std/testing` writes it: parent steps joined by ` > `. */
function testName(t: Deno.TestContext): string {
  const names: string[] = [];
  for (let c: Deno.TestContext | undefined = t; c; c = c.parent) names.unshift(c.name);
  return names.join(" > ");
}

/**
 * Asserts that `actual` serializes to the snapshot stored for this test (the n-th call in the
 * test compares with the n-th snapshot); with `-- --update`, stores it instead.
 *
 * @example
 * ```ts ignore
 * Deno.test("900: first run", async (t) => {
 *   await assertSnapshot(t, await scenario.calls());
 * });
 * ```
 */
export function assertSnapshot(t: Deno.TestContext, actual: unknown): void {
  const file = fileFor(fromFileUrl(t.origin));
  const base = testName(t);
  const count = (counts.get(`${file.path}\0${base}`) ?? 0) + 1;
  counts.set(`${file.path}\0${base}`, count);
  const name = `${base} ${count}`;
  const value = serialize(actual);
  if (UPDATE) {
    if (file.entries.get(name) !== value) {
      file.entries.set(name, value);
      file.changed = true;
    }
    return;
  }
  const expected = file.entries.get(name);
  if (expected === undefined) {
    assert.fail(
      `No snapshot "${name}" in ${file.path}: run "deno test --allow-all ${
        fromFileUrl(t.origin)
      } -- --update" and review the new snapshot`,
    );
  }
  assert.equal(value, expected, `Snapshot "${name}" differs (update with -- --update)`);
}
