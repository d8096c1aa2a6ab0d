/**
 * The compiled executables in the environment a real host gives them (issue 15): a GPU host's
 * `LD_LIBRARY_PATH` and friends, the orchestrator's exported variables and its dry run, a command
 * that cannot start, and the watchdog. Against the fake pct, which records the environment and
 * the pid of every `pct` process.
 */

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ContainerScenario } from "../containers/_harness.ts";
import { GPU_HOST_ENVIRONMENT as GPU_HOST } from "../support/gpu_host.ts";
import { isAlive } from "../support/processes.ts";
import { assertExit } from "../support/assertions.ts";
import { randomToken } from "../support/random_token.ts";

/** A GPU host's environment, and a token the host's shell holds. */
const GPU_HOST_ENVIRONMENT = {
  ...GPU_HOST,
  HF_TOKEN: randomToken(),
};

/** What reaches `pct`: the chosen environment, plus what the fake's wrapper and sh add. */
const REACHES_PCT = new Set([
  "PATH",
  "HOME",
  "LANG",
  "LC_ALL",
  "FAKE_PCT_DIR",
  "PWD",
  "SHLVL",
  "_",
]);

Deno.test("a GPU host's LD_*, DYLD_*, PYTHONPATH, PERL5LIB and secrets never reach pct, and the run ends as without them", async (t) => {
  for (const args of [["920"], ["--dry-run", "920"]]) {
    await t.step(args.join(" "), async () => {
      await using plain = await ContainerScenario.of({ ctid: "920" });
      const baseline = await plain.run(args);
      await using s = await ContainerScenario.of({ ctid: "920", env: GPU_HOST_ENVIRONMENT });
      const started = Date.now();
      const run = await s.run(args);
      assertExit(run, baseline.code);
      assert.ok(Date.now() - started < 60_000, "no hang");
      assert.deepEqual(await s.calls(), await plain.calls());
      const processes = await s.fake.processes();
      assert.ok(processes.length > 0);
      for (const process of processes) {
        const foreign = process.env.filter((name) => !REACHES_PCT.has(name));
        assert.deepEqual(foreign, [], `pct ${process.argv.join(" ")} received ${foreign}`);
      }
    });
  }
});

Deno.test("the orchestrator's whole environment with PHOENIX_DRY_RUN=true makes a dry run, and says who asked", async (t) => {
  for (const [name, value] of [["PHOENIX_DRY_RUN", "true"], ["DRY_RUN", "true"]]) {
    await t.step(`${name}=${value}`, async () => {
      await using s = await ContainerScenario.of({ ctid: "920" });
      const run = await s.run(["920"], {
        env: {
          ...orchestratorEnvironment(s),
          [name]: value,
        },
      });
      assertExit(run, 0);
      assert.deepEqual(await s.mutatingCalls(), [], "a dry run changes nothing");
      const first = (await s.logLines()).find((line) => line.includes("phoenix-setup"));
      assert.match(
        first ?? "",
        new RegExp(`dry run of the setup of template 920 .*; dry run asked for by ${name}=true$`),
      );
      assert.match(run.stdout, /Dry run for template 920 finished: nothing was changed\./);
    });
  }
});

Deno.test("PHOENIX_DRY_RUN with a value that is not yes/no: exit 2 before any pct call", async () => {
  await using s = await ContainerScenario.of({ ctid: "920" });
  const run = await s.run(["920"], { env: { PHOENIX_DRY_RUN: "perhaps" } });
  assertExit(run, 2);
  assert.match(
    run.stderr,
    /Cannot tell whether to do a dry run: PHOENIX_DRY_RUN="perhaps" is not a yes\/no value/,
  );
  assert.deepEqual(await s.calls(), []);
});

Deno.test("a host that cannot start commands (no file descriptors left): a prompt exit 8, never a hang", async () => {
  // Where the limit falls depends on what the runtime opened first, so every limit from where
  // the runtime itself starts to where the run succeeds is tried: each ends at once, in our
  // words, and one of them is a command that cannot start.
  const outcomes = new Map<number, number>();
  for (let limit = 16; limit <= 30; limit++) {
    await using s = await ContainerScenario.of({ ctid: "920" });
    const started = Date.now();
    const run = await s.run(["--dry-run", "920"], { wrapper: ["prlimit", `--nofile=${limit}`] });
    assert.ok(Date.now() - started < 30_000, `--nofile=${limit} took ${Date.now() - started} ms`);
    outcomes.set(limit, run.code);
    if (run.code === 8) {
      assert.match(
        run.stderr,
        /Cannot start the command pct status 920 --verbose: too many open files\. Nothing ran/,
      );
    }
    assert.ok([0, 2, 8].includes(run.code), `--nofile=${limit}: exit ${run.code}\n${run.stderr}`);
  }
  assert.ok([...outcomes.values()].includes(8), `no limit made a command fail: ${[...outcomes]}`);
  assert.equal(outcomes.get(30), 0);
});

Deno.test("the watchdog ends a stuck run: exit 9, says what it waited for, restores power, frees the lock", async () => {
  await using s = await ContainerScenario.of({
    ctid: "920",
    // The snapshot never answers in time; the watchdog fires while it runs.
    failures: [{ command: "snapshot", stderr: "got timeout", delayMs: 120_000 }],
  });
  const run = await s.run(["920"], { env: { PHOENIX_RUN_TIMEOUT: "20" } });
  assertExit(run, 9);
  assert.match(
    run.stderr,
    /The run has taken longer than PHOENIX_RUN_TIMEOUT \(20\.0 s\); stopping it; it was waiting for: pct snapshot 920 vllm-base-snapshot --description "phoenix-setup [^"]+" \(running for [\d.]+ (ms|s)\)/,
  );
  assert.match(run.stderr, /failed during an interruption \(the watchdog\)\. Exit code 9\./);
  // The stuck pct is gone, the template runs again, the lock is free.
  const snapshot = (await s.fake.processes()).find((p) => p.argv[0] === "snapshot");
  assert.ok(snapshot);
  assert.equal(await isAlive(snapshot.pid), false, "the stuck pct snapshot still runs");
  // Started again, and the start confirmed by pct status.
  assert.deepEqual((await s.calls()).slice(-2), [["start", "920"], ["status", "920"]]);
  assert.equal((await s.fake.state()).containers["920"].status, "running");
  assert.equal(existsSync(s.lockFile), false);
});

/** What the real orchestrator exports before it runs a setup executable (phoenix-cli). */
function orchestratorEnvironment(s: ContainerScenario): Record<string, string> {
  return {
    PHOENIX_DEBUG: "true",
    LANG: "en_US.UTF-8",
    LC_ALL: "en_US.UTF-8",
    PATH: `/usr/local/bin:${s.env().PATH}`,
    MAIN_LOG_FILE: s.logFile,
    LXC_CONFIG_FILE: s.configFile,
    HYPERVISOR_CONFIG_FILE: join(s.dir, "phoenix_hypervisor_config.json"),
  };
}

Deno.test("MAIN_LOG_FILE as a device (/dev/stderr, /dev/null, /dev/full): the run goes on, in our words", async (t) => {
  for (const device of ["/dev/stderr", "/dev/null", "/dev/full"]) {
    await t.step(device, async () => {
      await using s = await ContainerScenario.of({ ctid: "920" });
      const run = await s.run(["--dry-run", "920"], { env: { MAIN_LOG_FILE: device } });
      assertExit(run, 0);
      const said = run.stdout + run.stderr;
      assert.doesNotMatch(said, /Requires|--allow|Failed to emit|os error|flushBuffer/);
      if (device === "/dev/full") {
        assert.match(
          run.stderr,
          /\[WARN\] phoenix_hypervisor_setup_920\.sh: Cannot write to log file "\/dev\/full": no space left on the device; logging to the console only from here on/,
        );
      } else {
        assert.doesNotMatch(said, /\[WARN\]/);
      }
      if (device === "/dev/stderr") {
        assert.match(run.stderr, /\[INFO\] .*Dry run for template 920 finished/);
      }
    });
  }
});
