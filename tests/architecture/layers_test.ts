/**
 * The folders of `lib/` are layers: a module may import from its own folder and from the folders
 * before its own in {@linkcode LAYERS}, never from a later one, and no import may run in a circle.
 * The README's map of the folders is checked against the same list.
 */

import assert from "node:assert/strict";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = normalize(join(dirname(fileURLToPath(import.meta.url)), "..", ".."));
const LIB = join(ROOT, "lib");

/** The folders of `lib/`, lowest first; each may import only from itself and those before it. */
const LAYERS = [
  "deps",
  "core",
  "config",
  "report",
  "host",
  "module",
  "steps",
  "catalog",
  "pattern",
  "build",
] as const;

/** Every `.ts` file under `dir`, relative to the repository root. */
function tsFiles(dir: string): string[] {
  const files: string[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) files.push(...tsFiles(path));
    else if (entry.name.endsWith(".ts")) files.push(relative(ROOT, path));
  }
  return files.sort();
}

/**
 * The `lib/` files a module imports, from its real import and export statements (a statement
 * starts a line; the examples inside doc comments start with ` * ` and are not the module's).
 */
function libImports(file: string): string[] {
  const text = Deno.readTextFileSync(join(ROOT, file));
  const specifiers = [
    ...text.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+"(\.{1,2}\/[^"]+)"/gms),
    ...text.matchAll(/^\s*(?:const|let)?[^*\n]*\bimport\(\s*"(\.{1,2}\/[^"]+)"\s*\)/gm),
  ].map((match) => match[1]);
  return specifiers
    .map((specifier) => relative(ROOT, normalize(join(ROOT, dirname(file), specifier))))
    .filter((target) => target.startsWith("lib/"));
}

/** The layer of a `lib/` file: the first folder under `lib/`. */
function layerOf(file: string): string {
  return file.split("/")[1];
}

const files = tsFiles(LIB);
const graph = new Map(files.map((file) => [file, libImports(file)]));

Deno.test("lib/: every file lies in one of the layers' folders", () => {
  const outside = files.filter((file) => !(LAYERS as readonly string[]).includes(layerOf(file)));
  assert.deepEqual(outside, [], `files outside the layers ${LAYERS.join(", ")}`);
});

/** Each import from a lower folder up to a higher one, as "FILE imports TARGET". */
function upwardImports(graph: ReadonlyMap<string, readonly string[]>): string[] {
  const rank = (file: string) => LAYERS.indexOf(layerOf(file) as typeof LAYERS[number]);
  return [...graph].flatMap(([file, imports]) =>
    imports.filter((target) => rank(target) > rank(file)).map((target) =>
      `${file} imports ${target}`
    )
  );
}

/** Each import circle found by a depth-first walk, as "A -> B -> A". */
function importCircles(graph: ReadonlyMap<string, readonly string[]>): string[] {
  const circles: string[] = [];
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (file: string): void => {
    if (state.get(file) === "done") return;
    if (state.get(file) === "open") {
      circles.push([...path.slice(path.indexOf(file)), file].join(" -> "));
      return;
    }
    state.set(file, "open");
    path.push(file);
    for (const target of graph.get(file) ?? []) visit(target);
    path.pop();
    state.set(file, "done");
  };
  for (const file of graph.keys()) visit(file);
  return circles;
}

Deno.test("lib/: no import runs from a lower folder up to a higher one", () => {
  assert.deepEqual(upwardImports(graph), [], `order (lowest first): ${LAYERS.join(", ")}`);
});

Deno.test("lib/: no import circle", () => {
  assert.deepEqual(importCircles(graph), []);
});

Deno.test("the layer checks read the real imports, and name an upward import and a circle", () => {
  // The two checks above pass on an empty graph too: this proves they read lib/ and would fail.
  assert.ok(graph.get("lib/host/pct.ts")?.includes("lib/core/command_text.ts"));
  assert.ok(graph.get("main.ts") === undefined && graph.size > 60);
  const bad = new Map([
    ["lib/core/a.ts", ["lib/host/b.ts"]],
    ["lib/host/b.ts", ["lib/core/a.ts"]],
  ]);
  assert.deepEqual(upwardImports(bad), ["lib/core/a.ts imports lib/host/b.ts"]);
  assert.deepEqual(importCircles(bad), ["lib/core/a.ts -> lib/host/b.ts -> lib/core/a.ts"]);
});

Deno.test("README: its map of lib/ names exactly the layers, in their order", () => {
  const readme = Deno.readTextFileSync(join(ROOT, "README.md"));
  const map = readme.match(/<!-- layers -->\n```\n([\s\S]*?)```/);
  assert.ok(map, "the README has a map of lib/ between <!-- layers --> and a code block");
  const named = [...map[1].matchAll(/^lib\/([a-z_]+)\//gm)].map((match) => match[1]);
  assert.deepEqual(named, [...LAYERS].reverse(), "the README lists the folders highest first");
});
