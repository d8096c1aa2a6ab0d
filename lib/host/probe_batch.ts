/**
 * Many read-only commands in one `pct exec`: on a real host every `pct` call costs hundreds of
 * milliseconds, so the steps' checks are run together in one round trip. The commands travel as
 * the script's arguments (each as its word count followed by its words), never in its text; the
 * script runs each with standard input closed and prints one line per command: its exit code,
 * then its stdout and its stderr, each base64 so that any bytes (and trailing newlines) survive.
 *
 * A batch has two parts: the steps' checks, then the verification's commands, which run only if
 * every check exited 0. That is a re-run, where nothing will change and their answers are used;
 * otherwise a step acts, which forgets every answer, and running them would be wasted (a
 * `docker run` that pulls an image, say).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeProbeArguments, encodeProbeOutput, parseProbeOutput, probeArguments } from "./probe_batch.ts";
 * const batch = { checks: [["cat", "/etc/hostname"], ["systemctl", "is-active", "--quiet", "x"]], verifications: [] };
 * assert.deepEqual(decodeProbeArguments(probeArguments(batch)), batch);
 * const results = [{ exitCode: 0, stdout: "ct\n", stderr: "" }, { exitCode: 3, stdout: "", stderr: "" }];
 * assert.deepEqual(parseProbeOutput(encodeProbeOutput(results), batch), results);
 * ```
 *
 * @module
 */

/** How long one command of a batch may take before `timeout` stops it (exit 124, as alone). */
export const PROBE_COMMAND_TIMEOUT_SECONDS = 120;

/**
 * The script (bash: `${@:1:n}` slices the arguments). Each command runs under coreutils'
 * `timeout`, so a hung one (a `docker info` whose daemon does not answer) costs its deadline,
 * not the batch's. A word count of 0 separates the checks from the verification's commands: the
 * script stops there unless every check exited 0. `base64 | tr -d '\n'` rather than
 * `base64 -w0`, which busybox lacks. `$(...)` drops trailing newlines, hence the exit code
 * appended after one: everything before the last newline is the output as printed.
 */
export const PROBE_SCRIPT = [
  `e=$(mktemp) || exit 125`,
  `trap 'rm -f "$e"' EXIT`,
  `ok=1`,
  `while [ "$#" -gt 0 ]; do`,
  `  n=$1; shift`,
  `  if [ "$n" = 0 ]; then [ "$ok" = 1 ] || break; continue; fi`,
  `  out=$(timeout -k 5 ${PROBE_COMMAND_TIMEOUT_SECONDS} "\${@:1:$n}" 2>"$e" </dev/null; printf '\\n%d' "$?")`,
  `  shift "$n"`,
  `  code=\${out##*$'\\n'}`,
  `  [ "$code" = 0 ] || ok=0`,
  `  printf '%s %s %s\\n' "$code" "$(printf '%s' "\${out%$'\\n'*}" | base64 | tr -d '\\n')" "$(base64 <"$e" | tr -d '\\n')"`,
  `done`,
].join("\n");

/** The commands of one batch. */
export interface ProbeBatch {
  /** The steps' checks: each runs, whatever the others answer. */
  readonly checks: readonly (readonly string[])[];
  /** The verification's commands: they run only if every check exited 0. */
  readonly verifications: readonly (readonly string[])[];
}

/** What one command of a batch did. */
export interface ProbeResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * The script's arguments for `batch`: each command's word count, then its words; a `0` before
 * the verification's commands, if there are any.
 */
export function probeArguments(batch: ProbeBatch): string[] {
  const words = (commands: readonly (readonly string[])[]) =>
    commands.flatMap((argv) => [String(argv.length), ...argv]);
  return batch.verifications.length === 0
    ? words(batch.checks)
    : [...words(batch.checks), "0", ...words(batch.verifications)];
}

/** The batch back from the script's arguments (the inverse of {@linkcode probeArguments}). */
export function decodeProbeArguments(args: readonly string[]): ProbeBatch {
  const checks: string[][] = [];
  const verifications: string[][] = [];
  let part = checks;
  for (let i = 0; i < args.length;) {
    const count = Number(args[i]);
    if (count === 0 && part === checks) {
      part = verifications;
      i++;
      continue;
    }
    if (!Number.isInteger(count) || count < 1 || i + 1 + count > args.length) {
      throw new SyntaxError(`Cannot decode probe arguments at ${i}: ${JSON.stringify(args[i])}`);
    }
    part.push(args.slice(i + 1, i + 1 + count));
    i += 1 + count;
  }
  return { checks, verifications };
}

function fromBase64(text: string): string {
  return new TextDecoder().decode(Uint8Array.from(atob(text), (c) => c.charCodeAt(0)));
}

function toBase64(text: string): string {
  return btoa(Array.from(new TextEncoder().encode(text), (b) => String.fromCharCode(b)).join(""));
}

/**
 * The results of `batch` from the script's stdout, in its order: the checks', then the
 * verification's when they ran.
 *
 * @throws {SyntaxError} When the output is not one well-formed line per check, or per command.
 */
export function parseProbeOutput(stdout: string, batch: ProbeBatch): ProbeResult[] {
  const lines = stdout.split("\n").filter((line) => line !== "");
  const checks = batch.checks.length;
  const all = checks + batch.verifications.length;
  if (lines.length !== checks && lines.length !== all) {
    throw new SyntaxError(
      `Expected ${
        checks === all ? checks : `${checks} or ${all}`
      } probe results, got ${lines.length}`,
    );
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
