/**
 * `deno task bench`: what users feel. Measures, on the compiled 920 executable:
 *
 * - start-up: `--version`, `--help` and a usage error (a CTID that is no CTID), each as the
 *   median of 21 runs and as a ratio to a bare program compiled with the same runtime; and
 *   `--version`'s median and p90 of 20 runs;
 * - an idempotent re-run of a finished template against the fake pct: wall time, the number
 *   of pct calls, and the time spent outside pct (our own overhead).
 *
 * On a real host each pct call costs hundreds of milliseconds, so the number of calls is the
 * figure that matters most; the fake's calls cost what starting Deno costs (about 40 ms).
 *
 * @module
 */

import { join } from "node:path";
import { fallbackDenort } from "../../build.ts";
import { FakePct } from "../fake_pct/fake_pct.ts";
import { compiledExecutable, runExecutable } from "../support/executables.ts";

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

const executable = await compiledExecutable("920");
const size = (await Deno.stat(executable)).size / 2 ** 20;

/**
 * The baseline: a bare `console.log` program compiled with the runtime the build uses here
 * (`DENORT_BIN`, else the pinned fallback), so a ratio says what our program adds.
 */
async function bareProgram(): Promise<string> {
  const root = new URL("../../", import.meta.url).pathname;
  const denort = Deno.env.get("DENORT_BIN") ?? await fallbackDenort(join(root, ".build"));
  const dir = await Deno.makeTempDir({ prefix: "phoenix-bench-" });
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

/**
 * The median wall time of each `[program, args]` over `runs` runs, taken in turns so that a
 * change in the machine's load (other jobs) weighs on every command alike, not on one ratio.
 */
async function medianRuns(commands: [string, string[]][], runs = 21): Promise<number[]> {
  const times: number[][] = commands.map(() => []);
  for (let i = 0; i < runs; i++) {
    for (const [n, [program, args]] of commands.entries()) {
      times[n].push(await time(() => runExecutable(program, args, {})));
    }
  }
  return times.map((each) => percentile(each, 0.5));
}

const bare = await bareProgram();
const bareSize = (await Deno.stat(bare)).size / 2 ** 20;
const [bareStart, versionStart, helpStart, usageStart] = await medianRuns([
  [bare, []],
  [executable, ["--version"]],
  [executable, ["--help"]],
  [executable, ["1"]],
]);

const startups: number[] = [];
for (let i = 0; i < 20; i++) {
  startups.push(await time(() => runExecutable(executable, ["--version"], {})));
}

const dir = await Deno.makeTempDir();
const config = `${dir}/config.json`;
await Deno.writeTextFile(config, '{"lxc_configs":{"920":{"is_template":true}}}');
await using fake = await FakePct.create({
  containers: { "920": { status: "running", snapshots: [{ name: "vllm-base-snapshot" }] } },
});
const env = {
  ...fake.env(),
  LXC_CONFIG_FILE: config,
  MAIN_LOG_FILE: `${dir}/log`,
  PHOENIX_LOCK_DIR: `${dir}/lock`,
};
const reruns: number[] = [];
let calls = 0;
for (let i = 0; i < 10; i++) {
  await fake.clearCalls();
  reruns.push(await time(() => runExecutable(executable, ["920"], env)));
  calls = (await fake.calls()).length;
}
const pctAlone: number[] = [];
for (let i = 0; i < 10; i++) {
  pctAlone.push(await time(() => runExecutable(fake.pctPath, ["status", "920"], env)));
}
await Deno.remove(dir, { recursive: true });

const ms = (n: number) => `${n.toFixed(0)} ms`;
const ratio = (n: number) => `${(n / bareStart).toFixed(2)}x`;
console.log(`executable: ${executable} (${size.toFixed(1)} MiB)`);
console.log(
  `size: ${size.toFixed(1)} MiB, the bare runtime's program ${bareSize.toFixed(1)} MiB: ` +
    `+${(size - bareSize).toFixed(1)} MiB (goal: at most +2)`,
);
console.log(
  `start-up, medians of 21: bare program ${ms(bareStart)}; --version ${ms(versionStart)} ` +
    `(${ratio(versionStart)}); --help ${ms(helpStart)} (${ratio(helpStart)}); a usage error ${
      ms(usageStart)
    } (${ratio(usageStart)}); ` +
    "goal: at most 1.5x",
);
console.log(
  `start-up (--version), 20 runs: median ${ms(percentile(startups, 0.5))}, p90 ${
    ms(percentile(startups, 0.9))
  }`,
);
console.log(
  `idempotent template re-run, 10 runs: median ${ms(percentile(reruns, 0.5))}, p90 ${
    ms(percentile(reruns, 0.9))
  }, ${calls} pct calls`,
);
const overhead = percentile(reruns, 0.5) - calls * percentile(pctAlone, 0.5);
console.log(
  `one fake pct call: median ${ms(percentile(pctAlone, 0.5))}; re-run time outside pct: about ${
    ms(overhead)
  }`,
);
console.log(
  `on a host where pct takes 300 ms a call, the re-run takes about ${ms(overhead + calls * 300)}`,
);
