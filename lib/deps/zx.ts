/**
 * `zx`, pinned: every host command runs through it (`../host/command.ts`).
 *
 * The npm packages are named only in `lib/deps/`, one module per package, and not in
 * `deno.json`'s import map: `deno task` resolves every `npm:` entry of the import map before it
 * runs a task, in a process that does not yet have `DENO_TLS_CA_STORE=system`, and that fails on
 * machines behind a private certificate authority (see `../shared/docs/toolchain.md`). Written
 * here, they are fetched by the task's own process; exact versions plus `deno.lock` pin them. One
 * module per package because a bundle evaluates every package a module names, used or not: the
 * executable answers a usage error with LogTape alone, without evaluating zx and zod.
 *
 * @module
 */

export { $, ProcessOutput, quote } from "npm:zx@8.8.5/core";
