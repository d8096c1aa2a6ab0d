/**
 * A Hugging Face token made up for one test run: a test that looks for its token on the host
 * finds only what this run wrote, never a copy of the project (whose source would hold a fixed
 * literal) nor another run's files.
 *
 * @module
 */

/**
 * A token shaped like Hugging Face's (`hf_` and 32 letters and digits), different every call.
 *
 * @example
 * ```ts
 * import { randomToken } from "./random_token.ts";
 * randomToken(); // e.g. "hf_3f9c0d...": matches /^hf_[0-9a-f]{32}$/
 * ```
 */
export function randomToken(): string {
  return `hf_${crypto.randomUUID().replaceAll("-", "")}`;
}
