/**
 * Verifications that a command works inside the container: the tool is installed and runs
 * (`jq --version`), optionally printing what is expected (`locale -a` listing a locale).
 *
 * @module
 */

import type { Verification } from "../module/container_module.ts";

/** Options of {@linkcode commandSucceeds}. */
export interface CommandSucceedsOptions {
  /** The verification's name; default `<argv> runs`. */
  readonly name?: string;
  /** What stdout must match, e.g. `/^en_US\.utf-?8$/im`; any output when absent. */
  readonly expectOutput?: RegExp;
  /** Kill the command after this many milliseconds. Default 60000. */
  readonly timeoutMs?: number;
}

/**
 * A verification that `argv` exits 0 in the container (and, with `expectOutput`, prints what is
 * expected). The first line it prints is logged, so a version command leaves the installed
 * version in the log.
 *
 * @param argv The command, as argv.
 * @param options Name, expected output and timeout.
 * @returns The verification.
 *
 * @example
 * ```ts
 * import { commandSucceeds } from "./commands.ts";
 * const tools = ["curl", "jq"].map((tool) => commandSucceeds([tool, "--version"]));
 * const locale = commandSucceeds(["locale", "-a"], {
 *   name: "locale -a lists en_US.utf8",
 *   expectOutput: /^en_US\.utf-?8$/im,
 * });
 * ```
 */
export function commandSucceeds<S>(
  argv: readonly string[],
  options: CommandSucceedsOptions = {},
): Verification<S> {
  if (argv.length === 0 || argv[0] === "") {
    throw new TypeError(
      'Cannot verify an empty command: expected argv such as ["jq", "--version"]',
    );
  }
  const command = [...argv];
  const shown = command.join(" ");
  return {
    name: options.name ?? `${shown} runs`,
    probes: () => [command],
    run: async (ctx) => {
      const output = await ctx.container.output(command, {
        timeoutMs: options.timeoutMs ?? 60_000,
      });
      if (options.expectOutput && !options.expectOutput.test(output)) {
        const printed = output === "" ? "nothing" : JSON.stringify(output.slice(0, 300));
        throw new Error(
          `${shown} printed ${printed}, which does not match ${options.expectOutput}`,
        );
      }
      ctx.log.info(`${shown} in container ${ctx.ctid}: ${outputInOneLine(output)}`);
    },
  };
}

/** How many lines of a command's answer its log line shows whole. */
const SHOWN_LINES = 6;

/**
 * A command's output as one log line: a few lines whole, separated by `; `; more as the first of
 * them and how many there are (the log file has every line of output).
 *
 * @example
 * ```ts
 * import { outputInOneLine } from "./commands.ts";
 * outputInOneLine("C\nC.utf8\nen_US.utf8\nPOSIX\n"); // "C; C.utf8; en_US.utf8; POSIX (4 lines)"
 * outputInOneLine("jq-1.7.1\n"); // "jq-1.7.1"
 * ```
 */
export function outputInOneLine(output: string): string {
  const lines = output.split("\n").map((line) => line.trim()).filter((line) => line !== "");
  if (lines.length === 0) return "(no output)";
  if (lines.length === 1) return lines[0];
  if (lines.length <= SHOWN_LINES) return `${lines.join("; ")} (${lines.length} lines)`;
  return `${lines.slice(0, SHOWN_LINES).join("; ")}; ... (${lines.length} lines, the first ` +
    `${SHOWN_LINES} shown; the log file has them all)`;
}
