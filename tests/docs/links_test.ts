/**
 * Every relative link in README.md and `docs/*.md` leads somewhere: the file exists, and an
 * anchor (`#heading`) names a heading of the file it points into, as GitHub makes anchors.
 *
 * @module
 */

import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** README.md and the Markdown files in `docs/`, as absolute paths. */
function markdownFiles(): string[] {
  const docs = readdirSync(join(ROOT, "docs")).filter((name) => name.endsWith(".md")).sort();
  return [join(ROOT, "README.md"), ...docs.map((name) => join(ROOT, "docs", name))];
}

/** The lines of a Markdown text outside fenced code blocks, with inline code removed. */
function proseLines(markdown: string): string[] {
  const lines: string[] = [];
  let fence: string | undefined;
  for (const line of markdown.split("\n")) {
    const opening = /^(`{3,})/.exec(line);
    if (fence === undefined && opening) fence = opening[1];
    else if (fence !== undefined && line.startsWith(fence) && line.trim() === fence) {
      fence = undefined;
    } else if (fence === undefined) lines.push(line.replace(/`[^`]*`/g, "code"));
  }
  return lines;
}

/**
 * The anchors GitHub gives a file's headings: lower case, punctuation other than `-` and `_`
 * dropped, spaces made `-`; a repeated one gets `-1`, `-2`, ...
 */
export function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fence: string | undefined;
  for (const line of markdown.split("\n")) {
    const opening = /^(`{3,})/.exec(line);
    if (fence === undefined && opening) fence = opening[1];
    else if (fence !== undefined && line.trim() === fence) fence = undefined;
    if (fence !== undefined || opening) continue;
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const slug = heading[1].toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

Deno.test("docs: a heading's anchor is GitHub's", () => {
  const anchors = anchorsOf(
    "# A\n## What the build and `--install` do\n```\n# not a heading\n```\n## Signals, the watchdog\n## A\n",
  );
  assert.deepEqual([...anchors], [
    "a",
    "what-the-build-and---install-do",
    "signals-the-watchdog",
    "a-1",
  ]);
});

for (const file of markdownFiles()) {
  const name = relative(ROOT, file);
  Deno.test(`docs: every relative link in ${name} resolves`, () => {
    const broken: string[] = [];
    const lines = proseLines(readFileSync(file, "utf8"));
    for (const line of lines) {
      for (const [, target] of line.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target)) continue; // https:, mailto:
        const [path, anchor] = target.split("#");
        const into = path === "" ? file : join(dirname(file), path);
        if (!existsSync(into)) {
          broken.push(`${target}: no file ${relative(ROOT, into)}`);
        } else if (anchor !== undefined && !anchorsOf(readFileSync(into, "utf8")).has(anchor)) {
          broken.push(`${target}: ${relative(ROOT, into)} has no heading with that anchor`);
        }
      }
    }
    assert.ok(lines.some((line) => line.includes("](")), `${name} has no links to check`);
    assert.deepEqual(broken, [], `${name} has links that lead nowhere`);
  });
}
