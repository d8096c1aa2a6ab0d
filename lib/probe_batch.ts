/**
 * Many read-only commands in one `pct exec`: on a real host every `pct` call costs hundreds of
 * milliseconds, so the steps' checks are run together in one round trip. The commands travel as
 * the script's arguments (each as its word count followed by its words), never in its text; the
 * script runs each with standard input closed and prints one line per command: its exit code,
 * then its stdout and its stderr, each base64 so that any bytes (and trailing newlines) survive.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeProbeArguments, encodeProbeOutput, parseProbeOutput, probeArguments } from "./probe_batch.ts";
 * const commands = [["cat", "/etc/hostname"], ["systemctl", "is-active", "--quiet", "x"]];
 * assert.deepEqual(decodeProbeArguments(probeArguments(commands)), commands);
 * const results = [{ exitCode: 0, stdout: "ct\n", stderr: "" }, { exitCode: 3, stdout: "", stderr: "" }];
 * assert.deepEqual(parseProbeOutput(encodeProbeOutput(results), 2), results);
 * ```
 *
 * @module
 */

/** How long one command of a batch may take before `timeout` stops it (exit 124, as alone). */
export const PROBE_COMMAND_TIMEOUT_SECONDS = 120;

/**
 * The script (bash: `${@:1:n}` slices the arguments). Each command runs under coreutils'
 * `timeout`, so a hung one (a `docker info` whose daemon does not answer) costs its deadline,
 * not the batch's. `base64 | tr -d '\n'` rather than `base64 -w0`, which busybox lacks. `$(...)`
 * drops trailing newlines, hence the exit code appended after one: everything before the last
 * newline is the output as printed.
 */
export const PROBE_SCRIPT = [
  `e=$(mktemp) || exit 125`,
  `trap 'rm -f "$e"' EXIT`,
  `while [ "$#" -gt 0 ]; do`,
  `  n=$1; shift`,
  `  out=$(timeout -k 5 ${PROBE_COMMAND_TIMEOUT_SECONDS} "\${@:1:$n}" 2>"$e" </dev/null; printf '\\n%d' "$?")`,
  `  shift "$n"`,
  `  printf '%s %s %s\\n' "\${out##*$'\\n'}" "$(printf '%s' "\${out%$'\\n'*}" | base64 | tr -d '\\n')" "$(base64 <"$e" | tr -d '\\n')"`,
  `done`,
].join("\n");

/** What one command of a batch did. */
export interface ProbeResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The script's arguments for `commands`: each command's word count, then its words. */
export function probeArguments(commands: readonly (readonly string[])[]): string[] {
  return commands.flatMap((argv) => [String(argv.length), ...argv]);
}

/** The commands back from the script's arguments (the inverse of {@linkcode probeArguments}). */
export function decodeProbeArguments(args: readonly string[]): string[][] {
  const commands: string[][] = [];
  for (let i = 0; i < args.length;) {
    const count = Number(args[i]);
    if (!Number.isInteger(count) || count < 1 || i + 1 + count > args.length) {
      throw new SyntaxError(`Cannot decode probe arguments at ${i}: ${JSON.stringify(args[i])}`);
    }
    commands.push(args.slice(i + 1, i + 1 + count));
    i += 1 + count;
  }
  return commands;
}

function fromBase64(text: string): string {
  return new TextDecoder().decode(Uint8Array.from(atob(text), (c) => c.charCodeAt(0)));
}

function toBase64(text: string): string {
  return btoa(Array.from(new TextEncoder().encode(text), (b) => String.fromCharCode(b)).join(""));
}

/**
 * The results of the script's `count` commands from its stdout.
 *
 * @throws {SyntaxError} When the output is not `count` well-formed lines.
 */
export function parseProbeOutput(stdout: string, count: number): ProbeResult[] {
  const lines = stdout.split("\n").filter((line) => line !== "");
  if (lines.length !== count) {
    throw new SyntaxError(`Expected ${count} probe results, got ${lines.length}`);
  }
  return lines.map((line) => {
    const [code, out, err] = line.split(" ");
    if (!/^\d+$/.test(code) || out === undefined || err === undefined) {
      throw new SyntaxError(`Cannot parse probe result ${JSON.stringify(line.slice(0, 80))}`);
    }
    return { exitCode: Number(code), stdout: fromBase64(out), stderr: fromBase64(err) };
  });
}

/** The script's stdout for `results` (the inverse of {@linkcode parseProbeOutput}; for test doubles). */
export function encodeProbeOutput(results: readonly ProbeResult[]): string {
  return results.map((r) => `${r.exitCode} ${toBase64(r.stdout)} ${toBase64(r.stderr)}\n`).join("");
}
