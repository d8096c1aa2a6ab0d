/**
 * A fake `pct` program for tests: behaves like Proxmox's `pct` (see `handle_pct.ts`, which
 * answers every call) over a state kept in `$FAKE_PCT_DIR/state.json`. Run it as
 * `deno run --allow-all pct.ts <pct arguments...>`; `fake_pct.ts` writes a `pct` wrapper that
 * does so.
 *
 * Every call first appends its argv as one JSON array line to `$FAKE_PCT_DIR/calls.jsonl`, so a
 * test can assert the exact calls even of those that fail, and its pid, argv and the names of its
 * environment variables to `$FAKE_PCT_DIR/processes.jsonl`.
 *
 * Exit codes of the fake itself: 99 when it cannot work at all (`FAKE_PCT_DIR` unset, an internal
 * error); its message then starts with `fake pct:`.
 *
 * @module
 */

import { callReadsStdin, handlePct, type Outcome, waitOutDelay } from "./handle_pct.ts";
import {
  callsFile,
  type PctProcess,
  processesFile,
  readState,
  withStateLock,
  writeState,
} from "./state.ts";

/** Exit code when the fake itself cannot work (not something real pct does). */
const FAKE_BROKEN_EXIT = 99;

async function main(): Promise<void> {
  const dir = Deno.env.get("FAKE_PCT_DIR");
  if (!dir) {
    return await finish({
      stdout: "",
      stderr: "fake pct: FAKE_PCT_DIR is not set\n",
      exitCode: FAKE_BROKEN_EXIT,
    });
  }
  await Deno.writeTextFile(callsFile(dir), JSON.stringify(Deno.args) + "\n", { append: true });
  const process: PctProcess = {
    pid: Deno.pid,
    argv: Deno.args,
    env: Object.keys(Deno.env.toObject()).sort(),
  };
  await Deno.writeTextFile(processesFile(dir), JSON.stringify(process) + "\n", { append: true });
  let outcome: Outcome;
  try {
    outcome = await handle(dir, Deno.args);
  } catch (error) {
    const detail = error instanceof Error ? error.stack ?? error.message : String(error);
    outcome = { stdout: "", stderr: `fake pct: ${detail}\n`, exitCode: FAKE_BROKEN_EXIT };
  }
  await finish(outcome);
}

/** Runs the call on the state under the lock, and saves what it changed. */
async function handle(dir: string, argv: readonly string[]): Promise<Outcome> {
  let stdin: Promise<string> | undefined;
  const readStdin = () => stdin ??= new Response(Deno.stdin.readable).text();
  // A caller may take its time writing stdin; read it before taking the lock, so that it does
  // not stall every other pct call meanwhile.
  if (argv[0] === "exec" && callReadsStdin(await readState(dir), argv)) await readStdin();
  return await withStateLock(dir, async () => {
    const state = await readState(dir);
    const original = JSON.stringify(state);
    const outcome = await handlePct(state, argv, { readStdin });
    if (JSON.stringify(state) !== original) await writeState(dir, state);
    // The latency counts from the process's start (performance.now()'s origin), so a call
    // takes what it would on a host however long the fake itself took to start.
    const latency = (state.latencyMs ?? 0) - performance.now();
    return latency > (outcome.delayMs ?? 0) ? { ...outcome, delayMs: latency } : outcome;
  });
}

/** Waits the outcome's delay, writes its output and exits with its code. */
async function finish(outcome: Outcome): Promise<never> {
  if (outcome.progress) await writeAll(Deno.stdout, outcome.progress);
  await waitOutDelay(outcome);
  await writeAll(Deno.stdout, outcome.stdout);
  await writeAll(Deno.stderr, outcome.stderr);
  Deno.exit(outcome.exitCode);
}

async function writeAll(stream: { write(p: Uint8Array): Promise<number> }, text: string) {
  let bytes = new TextEncoder().encode(text);
  while (bytes.length > 0) bytes = bytes.subarray(await stream.write(bytes));
}

if (import.meta.main) await main();
