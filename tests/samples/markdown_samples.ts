/**
 * The samples of output in the README and `docs/*.md`: a marker comment naming the scenario that
 * produces the sample, right before a fenced code block that holds it.
 *
 * ````markdown
 * <!-- sample: 920-first-run -->
 * ```text
 * YYYY-MM-DD hh:mm:ss [INFO] phoenix_hypervisor_setup_920.sh: ...
 * ```
 * ````
 *
 * A sample holds what the scenario printed, with only what differs from run to run replaced by
 * placeholders ({@linkcode normalise}).
 *
 * @module
 */

import { join } from "node:path";

/** The marker line: `<!-- sample: NAME -->`. */
const MARKER = /^<!-- sample: ([a-z0-9][a-z0-9-]*) -->$/;
/** An opening fence: three or more backticks, then an optional language. */
const FENCE = /^(`{3,})([\w-]*)$/;

/** One marked sample in a Markdown file. */
export interface Sample {
  /** The scenario the marker names. */
  readonly scenario: string;
  /** The marker's line number (1-based), for messages. */
  readonly line: number;
  /** The block's content (without the fences; no trailing newline). */
  readonly text: string;
  /** Index of the first content line in the file's lines. */
  readonly start: number;
  /** Index of the closing fence in the file's lines. */
  readonly end: number;
}

/**
 * The marked samples of a Markdown text (`file`, for messages), in order.
 *
 * @throws {Error} When a marker is not followed by a fenced block, or a block is not closed:
 * saying the file and the line.
 */
export function findSamples(markdown: string, file = "the text"): Sample[] {
  const lines = markdown.split("\n");
  const samples: Sample[] = [];
  for (let i = 0; i < lines.length; i++) {
    const marker = MARKER.exec(lines[i]);
    if (!marker) continue;
    const fence = FENCE.exec(lines[i + 1] ?? "");
    if (!fence) {
      throw new Error(
        `${file}:${i + 1}: the sample marker "${marker[1]}" must be followed at once by a fenced ` +
          "code block (```text)",
      );
    }
    const end = lines.findIndex((line, j) => j > i + 1 && line === fence[1]);
    if (end < 0) {
      throw new Error(`${file}:${i + 2}: the code block of sample "${marker[1]}" is not closed`);
    }
    samples.push({
      scenario: marker[1],
      line: i + 1,
      text: lines.slice(i + 2, end).join("\n"),
      start: i + 2,
      end,
    });
    i = end;
  }
  return samples;
}

/**
 * `markdown` with each marked block's content replaced by `contentOf(scenario)` (the fences and
 * everything outside the blocks kept as they are).
 */
export function replaceSamples(
  markdown: string,
  contentOf: (scenario: string, current: string) => string,
): string {
  const lines = markdown.split("\n");
  // From the last block to the first, so that earlier indices stay valid.
  for (const sample of findSamples(markdown).reverse()) {
    lines.splice(
      sample.start,
      sample.end - sample.start,
      ...contentOf(sample.scenario, sample.text).split("\n"),
    );
  }
  return lines.join("\n");
}

/**
 * What varies between two runs of the same program, and the placeholder that stands for it. Only
 * these: a sample that differs in anything else has drifted from what the program prints.
 */
const VARYING: readonly [RegExp, string][] = [
  // A log line's time, and a run report's.
  [/\b\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\b/g, "YYYY-MM-DD hh:mm:ss"],
  [/\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z\b/g, "YYYY-MM-DDThh:mm:ss.sssZ"],
  // A measured duration as formatDuration writes one under a minute (`689 ms`, `37.4 s`; a
  // setting such as `timeout 60 s` has no decimal and stays), and a report's milliseconds.
  [/\b\d+ ms\b/g, "<time>"],
  [/\b\d+\.\d s\b/g, "<time>"],
  [/"durationMs": \d+/g, '"durationMs": "<ms>"'],
  // Process ids.
  [/\b(PID|pid) \d+\b/g, "$1 <pid>"],
];

/**
 * `text` with what varies between runs replaced by placeholders, and each of `tempDirs` (the
 * temporary folders a scenario made, whose names are random) by its name with `XXXXXX` for the
 * random part. Normalising a normalised text changes nothing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { normalise } from "./markdown_samples.ts";
 *
 * assert.equal(
 *   normalise("2026-12-04 16:42:38 [INFO] x: pct status 920 (exit 0, 550 ms) in /tmp/a-1f2e", {
 *     "/tmp/a-1f2e": "/tmp/a-",
 *   }),
 *   "YYYY-MM-DD hh:mm:ss [INFO] x: pct status 920 (exit 0, <time>) in /tmp/a-XXXXXX",
 * );
 * ```
 */
export function normalise(text: string, tempDirs: Record<string, string> = {}): string {
  let result = text;
  // The longest first, so that a folder inside another is replaced whole.
  for (const dir of Object.keys(tempDirs).sort((a, b) => b.length - a.length)) {
    result = result.replaceAll(dir, `${tempDirs[dir]}XXXXXX`);
  }
  for (const [pattern, placeholder] of VARYING) result = result.replace(pattern, placeholder);
  return result;
}

/** The repository's root. */
export const ROOT: string = new URL("../../", import.meta.url).pathname;

/** The Markdown files that may hold samples: README.md and `docs/*.md`, relative to the root. */
export function sampleFiles(): string[] {
  const docs: string[] = [];
  try {
    for (const entry of Deno.readDirSync(join(ROOT, "docs"))) {
      if (entry.isFile && entry.name.endsWith(".md")) docs.push(join("docs", entry.name));
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return ["README.md", ...docs.sort()];
}

/** The first line where `expected` and `actual` differ, as a message; `undefined` when equal. */
export function firstDifference(expected: string, actual: string): string | undefined {
  const want = expected.split("\n");
  const got = actual.split("\n");
  for (let i = 0; i < Math.max(want.length, got.length); i++) {
    if (want[i] !== got[i]) {
      return `line ${i + 1} of the block:\n  the file says:    ${
        want[i] ?? "(nothing: the block ends)"
      }\n  the program says: ${got[i] ?? "(nothing: its output ends)"}`;
    }
  }
  return undefined;
}
