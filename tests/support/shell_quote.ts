/**
 * Quoting for the shell scripts tests write (wrappers, stand-ins): the tests' one way to do it.
 *
 * @module
 */

/**
 * `text` as one word of a POSIX shell, single-quoted.
 *
 * @example
 * ```ts
 * import { shellQuote } from "./shell_quote.ts";
 * shellQuote("it's"); // "'it'\\''s'"
 * ```
 */
export function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/** `argv` as one line of shell, each word single-quoted. */
export function shellWords(argv: readonly string[]): string {
  return argv.map(shellQuote).join(" ");
}
