/**
 * The one place the project's npm dependencies are named and pinned.
 *
 * They are not in `deno.json`'s import map on purpose: `deno task` resolves every `npm:` entry of
 * the import map before it runs a task, in a process that does not yet have
 * `DENO_TLS_CA_STORE=system`, and that fails on machines behind a private certificate authority
 * (see `../shared/docs/toolchain.md`). Written here once, they are fetched by the task's own
 * process. Exact versions plus `deno.lock` pin them.
 *
 * @module
 */

export { $, ProcessOutput, quote } from "npm:zx@8.8.5/core";
export {
  configure,
  dispose,
  getLogger,
  type Logger,
  type LogRecord,
  type Sink,
} from "npm:@logtape/logtape@2.4.2";
export {
  findNodeAtLocation,
  type Node,
  parse as parseJsonc,
  type ParseError,
  parseTree,
  printParseErrorCode,
} from "npm:jsonc-parser@3.3.1";
export { z } from "npm:zod@4.6.7";
