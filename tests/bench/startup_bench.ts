/**
 * `deno task bench`: what users feel, each figure next to a baseline measured in the same run.
 * The machine is shared and noisy, so the runs of a figure and of its baseline are taken in
 * turns, and medians are compared:
 *
 * - size, and start-up of `--version`, `--help` and a usage error, against a bare
 *   `console.log` program compiled with the same runtime;
 * - the `pct` calls of an idempotent re-run (950, 910, a template) and of first runs (900,
 *   903), against the simulated containers of the containers' own tests (first runs next to
 *   their count before checks were batched);
 * - a 950 re-run when every `pct` call takes `--latency` ms (default 300, a real host's Perl
 *   start-up), against a bash script making the same `pct` calls;
 * - a template's re-run started on another node of a simulated cluster (forwarded over SSH),
 *   against the same re-run on the node that owns it, and with the executable sent along;
 * - the build's hashing of the executables, against `sha256sum` of the same files, and again
 *   with nothing changed (as a warm build sees the cached runtime).
 *
 *     deno task bench [--latency MS] [--runs N]
 *
 * @module
 */

import { join } from "node:path";
import { parseArgs } from "node:util";
import { fallbackDenort } from "../../lib/build/runtime.ts";
import { FileHashes, sha256File } from "../../lib/build/file_hashes.ts";
import { ContainerScenario, HIERARCHY, portainer } from "../containers/_harness.ts";
import type { SimulationOptions } from "../containers/_simulated_container.ts";
import { probeBatchCommands } from "../fake_pct/_exec.ts";
import { compiledExecutable, runExecutable } from "../support/executables.ts";
import { SimulatedCluster } from "../e2e/cluster/harness.ts";
import { clusterWith900, EXECUTABLE as CLUSTER_EXECUTABLE } from "../e2e/cluster/_template_900.ts";
import { shellWords } from "../support/shell_quote.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    latency: { type: "string", default: "300" },
    runs: { type: "string", default: "21" },
  },
});
const LATENCY_MS = Number(values.latency);
const RUNS = Number(values.runs);

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

/** Runs each of `fns` `runs` times, in turns, and returns each one's median in ms. */
async function interleaved(fns: (() => Promise<unknown>)[], runs: number): Promise<number[]> {
  const times: number[][] = fns.map(() => []);
  for (let i = 0; i < runs; i++) {
    for (const [k, fn] of fns.entries()) times[k].push(await time(fn));
  }
  return times.map(median);
}

/**
 * The baseline of size and start-up: a bare `console.log` program compiled with the runtime the
 * build uses here (`DENORT_BIN`, else the pinned fallback), so a ratio says what ours adds.
 */
async function bareProgram(dir: string): Promise<string> {
  const root = new URL("../../", import.meta.url).pathname;
  const denort = Deno.env.get("DENORT_BIN") ?? await fallbackDenort(join(root, ".build"));
  await Deno.writeTextFile(join(dir, "hello.ts"), 'console.log("hello");\n');
  const output = join(dir, "hello");
  const compiled = await new Deno.Command(Deno.execPath(), {
    args: ["compile", "--quiet", "--no-config", "--no-lock", "-A", "-o", output, "hello.ts"],
    cwd: dir,
    env: { DENORT_BIN: denort },
  }).output();
  if (compiled.code !== 0) throw new Error(new TextDecoder().decode(compiled.stderr));
  return output;
}

const rows: string[][] = [["what", "measured", "baseline", "ratio, goal"]];
const row = (...cells: string[]) => rows.push(cells);
const ms = (n: number) => n >= 1000 ? `${(n / 1000).toFixed(2)} s` : `${n.toFixed(0)} ms`;
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;

/**
 * The pct calls of first runs before checks were batched, as the tests pinned them then: a run
 * cannot measure both ways, since batching is not something to switch off.
 */
const FIRST_RUN_BEFORE: Record<string, number> = { "900": 36, "903": 44 };

/** What the simulated containers serve, as the containers' own tests have it. */
const SIMULATION: Record<string, SimulationOptions> = {
  "950": { servedModels: [String(HIERARCHY["950"].vllm_model)] },
  "910": { dockerContainers: [portainer()] },
};

const scratch = await Deno.makeTempDir({ prefix: "phoenix-bench-" });
try {
  const ctids = ["950", "910", "920", "900", "903"];
  const built: Record<string, string> = Object.fromEntries(
    await Promise.all(ctids.map(async (ctid) => [ctid, await compiledExecutable(ctid)])),
  );
  const hello = await bareProgram(scratch);

  // Size and start-up.
  const helloSize = (await Deno.stat(hello)).size;
  const size = (await Deno.stat(built["920"])).size;
  row(
    "size of one executable",
    mib(size),
    `${mib(helloSize)} (bare)`,
    `+${mib(size - helloSize)}, goal +2.0 MiB`,
  );
  row(
    "12 installed executables on disk",
    mib(12 * size),
    `${mib(12 * helloSize)} (12 bare)`,
    `+${mib(12 * (size - helloSize))}`,
  );
  const env = { MAIN_LOG_FILE: join(scratch, "start-up.log") };
  const [bare, version, help, usage] = await interleaved([
    () => runExecutable(hello, [], env),
    () => runExecutable(built["920"], ["--version"], env),
    () => runExecutable(built["920"], ["--help"], env),
    () => runExecutable(built["920"], [], env),
  ], RUNS);
  for (
    const [what, measured] of [["--version", version], ["--help", help], [
      "a usage error",
      usage,
    ]] as const
  ) {
    row(
      `start-up: ${what}`,
      ms(measured),
      `${ms(bare)} (bare)`,
      `${ratio(measured, bare)}, goal 1.5x`,
    );
  }

  // pct calls of idempotent re-runs and first runs, each container as its own tests simulate it.
  const reruns: Record<string, ContainerScenario> = {};
  for (const ctid of ["950", "910", "920"]) {
    const s = await ContainerScenario.of({ ctid, simulation: SIMULATION[ctid] });
    const first = await s.run([ctid], { path: built[ctid] });
    if (first.code !== 0) {
      throw new Error(`${ctid}'s first run failed: ${first.stderr.slice(-500)}`);
    }
    await s.fake.clearCalls();
    await s.run([ctid], { path: built[ctid] });
    const calls = await s.calls();
    row(`re-run ${ctid}: pct calls`, String(calls.length), "", "goal 2");
    reruns[ctid] = s;
  }
  for (const ctid of ["900", "903"]) {
    await using s = await ContainerScenario.of({ ctid });
    await s.run([ctid], { path: built[ctid] });
    const calls = await s.calls();
    const batches = calls.map((argv) => probeBatchCommands(argv.slice(argv.indexOf("--") + 1)))
      .filter((batch) => batch !== undefined);
    const batched = batches.reduce(
      (sum, batch) => sum + batch.checks.length + batch.verifications.length,
      0,
    );
    row(
      `first run ${ctid}: pct calls`,
      String(calls.length),
      `${FIRST_RUN_BEFORE[ctid]} before batching (pinned at 3f69851)`,
      `${
        ratio(calls.length, FIRST_RUN_BEFORE[ctid])
      }; ${batched} commands in ${batches.length} batches`,
    );
  }

  // A 950 re-run at a real host's pct latency, against bash making the same calls.
  const s950 = reruns["950"];
  await s950.fake.update((state) => {
    state.latencyMs = LATENCY_MS;
  });
  await s950.fake.clearCalls();
  await s950.run(["950"], { path: built["950"] });
  const script = join(scratch, "same_calls.sh");
  const lines = (await s950.calls()).map((argv) => `${shellWords(["pct", ...argv])} >/dev/null`);
  await Deno.writeTextFile(script, ["#!/bin/bash", ...lines, ""].join("\n"), { mode: 0o755 });
  const [ours, bash] = await interleaved([
    () => s950.run(["950"], { path: built["950"] }),
    () => runExecutable(script, [], s950.env()),
  ], Math.min(RUNS, 7));
  row(
    `re-run 950, pct at ${LATENCY_MS} ms a call`,
    ms(ours),
    `${ms(bash)} (bash, the same ${lines.length} calls)`,
    `${ratio(ours, bash)}, +${ms(ours - bash)}; goal under 1.5 s`,
  );
  for (const s of Object.values(reruns)) await s[Symbol.asyncDispose]();

  // A cluster: the same re-run on the owner node, and started on another node (over SSH).
  const noCluster = await SimulatedCluster.available();
  if (noCluster) {
    row("re-run 900 from another cluster node", "not measured", noCluster, "");
  } else {
    await using cluster = await clusterWith900({
      owner: "pve2",
      installedOn: ["pve1", "pve2"],
      nodes: ["pve1", "pve2"],
    });
    const first = await cluster.exec("pve2", [CLUSTER_EXECUTABLE, "900"], { timeoutMs: 180_000 });
    if (first.code !== 0) throw new Error(`900's first run on pve2 failed: ${first.stderr}`);
    const [forwarded, owner] = await interleaved([
      () => cluster.exec("pve1", [CLUSTER_EXECUTABLE, "900"]),
      () => cluster.exec("pve2", [CLUSTER_EXECUTABLE, "900"]),
    ], Math.min(RUNS, 7));
    row(
      "re-run 900 from another cluster node",
      ms(forwarded),
      `${ms(owner)} (on the owner node)`,
      `+${ms(forwarded - owner)}; goal under +1.5 s`,
    );
    await cluster.exec("pve2", ["rm", CLUSTER_EXECUTABLE]);
    const [sent] = await interleaved([() => cluster.exec("pve1", [CLUSTER_EXECUTABLE, "900"])], 3);
    row(
      "the same, the owner without the executable",
      ms(sent),
      `${ms(owner)} (on the owner node)`,
      `+${ms(sent - owner)} (${mib(size)} sent)`,
    );
  }

  // Hashing: streamed, and only what changed, against sha256sum of the same files.
  const files = Object.values(built);
  const [sum, streamed] = await interleaved([
    () => new Deno.Command("sha256sum", { args: files, stdout: "null" }).output(),
    () => Promise.all(files.map(sha256File)),
  ], 3);
  row(
    `hash ${files.length} executables`,
    ms(streamed),
    `${ms(sum)} (sha256sum)`,
    `${ratio(streamed, sum)}, goal 1x`,
  );
  const cacheFile = join(scratch, "sha256.json");
  const cold = await FileHashes.load(cacheFile, { now: () => Date.now() + 60_000 });
  for (const file of files) await cold.sha256(file);
  await cold.save();
  const warmHashes = await FileHashes.load(cacheFile);
  const warm = await time(async () => {
    for (const file of files) await warmHashes.sha256(file);
  });
  row(
    "the same, nothing changed since",
    ms(warm),
    `${ms(sum)} (sha256sum)`,
    `${ratio(warm, sum)}; ${warmHashes.counts.reused} reused, ${warmHashes.counts.hashed} read`,
  );
} finally {
  await Deno.remove(scratch, { recursive: true });
}

const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
for (const r of rows) console.log(r.map((cell, i) => cell.padEnd(widths[i])).join("  ").trimEnd());
