/**
 * Faults injected into the compiled executables (issue 9): races for the lock, a lock left by a
 * SIGKILL, an unusable lock directory, hostile configuration files, odd PHOENIX_DEBUG values,
 * I/O failures, and a run of 950 killed while it hands the Hugging Face token over. Each test
 * asserts the exit code, the message, the pct calls and what is left on the host.
 */

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ContainerScenario } from "../containers/_harness.ts";
import type { ExecRule } from "../fake_pct/fake_pct.ts";
import { WRITE_FILE_SCRIPT } from "../../lib/steps/files.ts";
import { assertExit, eventually } from "../support/assertions.ts";
import { isAlive, outputOf } from "../support/processes.ts";
import { randomToken } from "../support/random_token.ts";

const VENV = "^python3 -m venv /opt/vllm$";
/** Deno's own wording of an I/O error, which must never reach a user. */
const DENO_TEXT = /\(os error \d+\)|readfile '|open '|mkdir '|stat '|RangeError| {4}at /;

function template(options: { exec?: ExecRule[]; config?: string } = {}) {
  return ContainerScenario.of({ ctid: "920", ...options });
}

function noDenoText(run: { stdout: string; stderr: string }): void {
  assert.doesNotMatch(run.stdout + run.stderr, DENO_TEXT);
}

// --- the lock ---------------------------------------------------------------------------------

Deno.test("20 runs started at once: exactly one proceeds, the 19 others exit 7 at once naming it", async () => {
  // The winner stays inside its first step until the test stops it.
  await using s = await template({ exec: [{ match: VENV, set: ["venv"], delayMs: 120_000 }] });
  const children = await Promise.all(Array.from({ length: 20 }, () => s.spawn()));
  const byPid = new Map(children.map((child) => [child.pid, child]));
  // Each child's output is read once, here or in the clean-up.
  const outputs = new Map<number, ReturnType<typeof outputOf>>();
  const collect = (pid: number) => {
    if (!outputs.has(pid)) outputs.set(pid, outputOf(byPid.get(pid)!));
    return outputs.get(pid)!;
  };
  try {
    const exited: number[] = [];
    for (const child of children) child.status.then(() => exited.push(child.pid));
    // Twenty executables starting on a busy machine take a while; the losers exit at once then.
    await eventually(
      () => exited.length >= 19,
      "19 of the 20 runs never exited (all but the one holding the lock)",
      180_000,
    );
    const venv = await s.waitForPct((argv) => argv.includes("venv"));
    const winners = children.map((child) => child.pid).filter((pid) => !exited.includes(pid));
    const losers = [...exited];
    assert.equal(
      winners.length,
      1,
      `still running: ${winners}; the first to exit said: ` +
        (await Promise.all(losers.slice(0, 2).map(async (pid) => (await collect(pid)).stderr)))
          .join("\n"),
    );
    assert.equal(losers.length, 19);
    const [winner] = winners;
    for (const pid of losers) {
      const run = await collect(pid);
      assertExit(run, 7);
      assert.match(
        run.stderr,
        new RegExp(
          `Another setup run for container 920 is in progress \\(pid ${winner}, lock ` +
            `${s.lockFile.replaceAll("/", "\\/")}\\); wait for it to finish`,
        ),
      );
      assert.match(run.stderr, /failed during locking\. Exit code 7\.$/m);
    }
    // Only the winner talked to pct.
    const calls = await s.calls();
    assert.deepEqual(calls.filter((argv) => argv[0] === "status"), [[
      "status",
      "920",
      "--verbose",
    ]]);
    assert.deepEqual(await s.mutatingCalls(), []);
    byPid.get(winner)!.kill("SIGTERM");
    assertExit(await collect(winner), 143);
    assert.equal(await isAlive(venv.pid), false);
    assert.equal(existsSync(s.lockFile), false, "the winner released the lock");
  } finally {
    for (const child of children) {
      try {
        child.kill("SIGKILL");
      } catch { /* it has exited */ }
      await collect(child.pid);
    }
  }
});

Deno.test("a lock left by a SIGKILLed run is taken over by the next run, once, and logged", async () => {
  await using s = await template({
    exec: [{ match: VENV, set: ["venv"], delayMs: 1500, times: 1 }],
  });
  const killed = await s.spawn();
  await s.waitForPct((argv) => argv.includes("venv"));
  killed.kill("SIGKILL");
  assert.equal((await outputOf(killed)).signal, "SIGKILL");
  assert.match(Deno.readTextFileSync(s.lockFile), new RegExp(`^${killed.pid} \\d+\\n$`));
  // The venv pct the killed run left behind ends by itself; until then the run would refuse.
  await eventually(
    async () =>
      !(await Promise.all((await s.fake.processes()).map((p) => isAlive(p.pid)))).some(Boolean),
    "the killed run's pct never ended",
    30_000,
  );

  const run = await s.run();
  assertExit(run, 0);
  const takeover = `Took over the lock ${s.lockFile} of an earlier run for container 920 (pid ` +
    `${killed.pid}), which ended without releasing it (killed?)`;
  const warned = (text: string) => text.split("\n").filter((line) => line.endsWith(takeover));
  assert.equal(warned(run.stderr).length, 1, run.stderr);
  assert.match(
    warned((await s.logLines()).join("\n"))[0],
    /\[WARN\] phoenix_hypervisor_setup_920\.sh: /,
  );
  assert.equal(existsSync(s.lockFile), false);

  const again = await s.run();
  assertExit(again, 0);
  assert.deepEqual(warned(again.stderr), [], "a released lock is not taken over");
});

Deno.test("an unusable PHOENIX_LOCK_DIR is exit 10, says what is wrong, and calls no pct", async (t) => {
  await using s = await template();
  const file = join(s.dir, "a-file");
  await Deno.writeTextFile(file, "");
  const cases: [string, string, string][] = [
    ["a file", file, "it is a file, not a directory"],
    ["below a file", join(file, "lock"), "cannot create it: a part of the path is not a directory"],
    ["on /sys", "/sys", "cannot create the lock file in it: permission denied"],
    ["below /proc", "/proc/phoenix", "cannot create it: no such file or directory"],
  ];
  for (const [name, dir, what] of cases) {
    await t.step(name, async () => {
      await s.fake.clearCalls();
      const run = await s.run(["920"], { env: { PHOENIX_LOCK_DIR: dir } });
      assertExit(run, 10);
      assert.ok(
        run.stderr.includes(
          `Cannot use the lock directory ${dir} (PHOENIX_LOCK_DIR): ${what}. Set ` +
            "PHOENIX_LOCK_DIR to a directory on a local file system that root can write to " +
            "(the default is /run/lock/phoenix_hypervisor)",
        ),
        run.stderr,
      );
      assert.match(run.stderr, /failed during locking\. Exit code 10\.$/m);
      noDenoText(run);
      assert.deepEqual(await s.calls(), []);
      assert.equal(Deno.readTextFileSync(file), "", "the file in the way is left alone");
    });
  }
});

// --- hostile configuration files --------------------------------------------------------------

Deno.test("hostile configuration files are exit 2 naming the file, never a crash, and call no pct", async (t) => {
  const bytes = (text: string) => new TextEncoder().encode(text);
  const cases: [string, Uint8Array | number, (path: string) => RegExp][] = [
    [
      "100,000 nested arrays",
      bytes(`{ "lxc_configs": {}, "x": ${"[".repeat(100_000)}${"]".repeat(100_000)} }`),
      (path) =>
        new RegExp(
          `Cannot parse the configuration file ${path}: ${path}:1:90: arrays and objects nest ` +
            "more than 64 levels deep here",
        ),
    ],
    [
      "17 MiB",
      17 * 1024 * 1024,
      (path) =>
        new RegExp(
          `Cannot read the configuration file ${path}: it is 17825792 bytes, more than 16 MiB`,
        ),
    ],
    [
      "Latin-1 text",
      new Uint8Array([
        ...bytes('{ "lxc_configs": { "920": {\n "name": "caf'),
        0xe9,
        ...bytes('" } } }'),
      ]),
      (path) =>
        new RegExp(
          `Cannot read the configuration file ${path}: it is not UTF-8 text: byte 0xE9 at ` +
            `byte offset 41 \\(${path}:2:14\\); save it as UTF-8`,
        ),
    ],
    [
      "a CTID with a leading zero",
      bytes('{ "lxc_configs": { "0920": { "is_template": true } } }'),
      (path) =>
        new RegExp(
          `Invalid configuration file: ${path}:1:20: lxc_configs: key "0920": expected a CTID ` +
            'as a string of digits, e\\.g\\. "900", without a leading zero',
        ),
    ],
  ];
  await using s = await template();
  for (const [name, content, message] of cases) {
    await t.step(name, async () => {
      await s.fake.clearCalls();
      if (typeof content === "number") {
        await Deno.writeTextFile(s.configFile, "");
        await Deno.truncate(s.configFile, content);
      } else {
        await Deno.writeFile(s.configFile, content);
      }
      const run = await s.run();
      assertExit(run, 2);
      assert.match(run.stderr, message(s.configFile.replaceAll("/", "\\/")));
      assert.match(run.stderr, /failed during configuration\. Exit code 2\.$/m);
      noDenoText(run);
      assert.deepEqual(await s.calls(), []);
      assert.equal(existsSync(s.lockFile), false, "no lock taken");
    });
  }
});

// --- I/O failures in our words ----------------------------------------------------------------

Deno.test("unreadable files and unwritable logs are said in our words, never Deno's", async (t) => {
  await using s = await ContainerScenario.of({ ctid: "950", simulation: { servedModels: [] } });
  await t.step("the config file is a directory: exit 2", async () => {
    const run = await s.run(["950"], { env: { LXC_CONFIG_FILE: s.dir } });
    assertExit(run, 2);
    assert.ok(
      run.stderr.includes(
        `Cannot read the configuration file ${s.dir}: it is a directory, not a file. Set ` +
          "LXC_CONFIG_FILE",
      ),
      run.stderr,
    );
    noDenoText(run);
  });
  await t.step("HF_TOKEN_FILE is missing: exit 2", async () => {
    const run = await s.run(["950"], { env: { HF_TOKEN_FILE: join(s.dir, "no-token") } });
    assertExit(run, 2);
    assert.ok(
      run.stderr.includes(
        "Cannot read the Hugging Face token from the file named by HF_TOKEN_FILE: no such " +
          "file or directory",
      ),
      run.stderr,
    );
    noDenoText(run);
  });
  await t.step("the log file cannot be created: one warning, the run goes on", async () => {
    const run = await s.run(["--dry-run", "950"], {
      env: { MAIN_LOG_FILE: "/proc/phoenix/setup.log" },
    });
    assertExit(run, 0);
    assert.match(
      run.stderr,
      /Cannot append to log file "\/proc\/phoenix\/setup\.log": its directory does not exist; logging to the console only/,
    );
    noDenoText(run);
  });
  assert.deepEqual(await s.mutatingCalls(), []);
});

// --- PHOENIX_DEBUG ------------------------------------------------------------------------------

Deno.test("PHOENIX_DEBUG: YES and 1 add DEBUG lines, an unknown value one warning and none", async (t) => {
  await using s = await template();
  const debugLines = (text: string) => text.split("\n").filter((line) => line.includes("[DEBUG]"));
  for (const value of ["YES", "1", "True"]) {
    await t.step(value, async () => {
      const run = await s.run(["--dry-run", "920"], { env: { PHOENIX_DEBUG: value } });
      assertExit(run, 0);
      assert.ok(debugLines(run.stdout).length > 0, `no DEBUG line for ${value}`);
      assert.doesNotMatch(run.stderr, /PHOENIX_DEBUG/);
    });
  }
  for (const value of ["verbose", "2"]) {
    await t.step(value, async () => {
      const run = await s.run(["--dry-run", "920"], { env: { PHOENIX_DEBUG: value } });
      assertExit(run, 0);
      assert.deepEqual(debugLines(run.stdout), []);
      const warnings = run.stderr.split("\n").filter((line) => line.includes("PHOENIX_DEBUG"));
      assert.equal(warnings.length, 1, run.stderr);
      assert.match(
        warnings[0],
        new RegExp(
          `\\[WARN\\] phoenix_hypervisor_setup_920\\.sh: PHOENIX_DEBUG="${value}" is not a ` +
            "yes/no value \\(expected true/false, 1/0, yes/no\\); logging without DEBUG lines$",
        ),
      );
    });
  }
  assert.deepEqual(await s.mutatingCalls(), []);
});

// --- the Hugging Face token never touches the host's disk ----------------------------------------

/** Every file below `dir` (or `dir` itself) whose content holds `secret`. */
async function filesHolding(dir: string, secret: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (path: string) => {
    let info;
    try {
      info = await Deno.lstat(path);
    } catch {
      return; // gone meanwhile (another test's file)
    }
    if (info.isDirectory) {
      const entries = await Array.fromAsync(Deno.readDir(path)).catch(() => []);
      for (const entry of entries) await walk(join(path, entry.name));
    } else if (info.isFile && info.size < 64 * 1024 * 1024) {
      const text = await Deno.readTextFile(path).catch(() => "");
      if (text.includes(secret)) found.push(path);
    }
  };
  await walk(dir);
  return found;
}

Deno.test("950 with HF_TOKEN, run whole or SIGKILLed at several points: the token is in no host file, no pct argv, no log", async (t) => {
  // Made up for this run: a copy of the project or another run's files cannot hold it.
  const token = randomToken();
  const ENV_WRITE = "^bash -c .* /etc/vllm /etc/vllm/vllm.env 0600$";
  const points: [string, ExecRule[], (argv: readonly string[]) => boolean][] = [
    [
      "while the token file is being written",
      [{ match: ENV_WRITE, stdinToFile: "/etc/vllm/vllm.env", delayMs: 60_000 }],
      // The write itself, not the batch of checks that asks about the same file.
      (argv) => argv.includes(WRITE_FILE_SCRIPT) && argv.includes("/etc/vllm/vllm.env"),
    ],
    [
      "while the unit is being written",
      [{
        match: "^bash -c .* vllm\\.service 0644$",
        stdinToFile: "/etc/systemd/system/vllm.service",
        delayMs: 60_000,
      }],
      (argv) =>
        argv.includes(WRITE_FILE_SCRIPT) && argv.includes("/etc/systemd/system/vllm.service"),
    ],
    [
      "while vLLM is being started",
      [{ match: "^systemctl enable --now vllm\\.service$", delayMs: 60_000 }],
      (argv) => argv.includes("enable"),
    ],
  ];
  const tmpdir = await Deno.makeTempDir({ prefix: "phoenix-tmpdir-" });
  try {
    for (const [name, exec, wanted] of points) {
      await t.step(`SIGKILL ${name}`, async () => {
        await using s = await ContainerScenario.of({
          ctid: "950",
          exec,
          simulation: { servedModels: ["Qwen/Qwen2.5-Coder-7B-Instruct-AWQ"] },
        });
        const child = await s.spawn(["950"], { env: { HF_TOKEN: token, TMPDIR: tmpdir } });
        const pct = await s.waitForPct(wanted);
        child.kill("SIGKILL");
        await outputOf(child);
        // The pct it left behind would go on for a minute; it may have ended already.
        if (await isAlive(pct.pid)) Deno.kill(pct.pid, "SIGKILL");
        await assertTokenNowhere(s, token, tmpdir);
      });
    }
    await t.step("a whole run", async () => {
      await using s = await ContainerScenario.of({
        ctid: "950",
        simulation: { servedModels: ["Qwen/Qwen2.5-Coder-7B-Instruct-AWQ"] },
      });
      const run = await s.run(["950"], {
        env: { HF_TOKEN: token, TMPDIR: tmpdir, PHOENIX_DEBUG: "true" },
      });
      assertExit(run, 0);
      assert.ok(!(run.stdout + run.stderr).includes(token));
      const file = (await s.fake.state()).containers["950"].files["/etc/vllm/vllm.env"];
      assert.match(
        file.content,
        new RegExp(`^HF_TOKEN=${token}$`, "m"),
        "it did reach the container",
      );
      assert.equal(file.mode, "0600");
      await assertTokenNowhere(s, token, tmpdir);
    });
  } finally {
    await Deno.remove(tmpdir, { recursive: true });
  }
});

/**
 * The token is in no pct call's argv, no log line, and no host file of this test's own
 * directories: the run's TMPDIR, the scenario's (config, log, lock directory) and the fake
 * pct's, whose `state.json` alone must hold it: the simulated container's own disk. Only these:
 * the rest of /tmp belongs to other runs and other checkouts.
 */
async function assertTokenNowhere(s: ContainerScenario, token: string, tmpdir: string) {
  assert.ok(!JSON.stringify(await s.calls()).includes(token), "the token is in a pct argv");
  assert.ok(!(await s.logLines()).join("\n").includes(token), "the token is in the log");
  assert.deepEqual(await filesHolding(tmpdir, token), [], "a file in TMPDIR holds the token");
  assert.deepEqual(await filesHolding(s.dir, token), [], "a file of the scenario holds it");
  const state = join(s.fake.dir, "state.json");
  // The token did reach the simulated container, which keeps its disk in the fake's state.
  assert.deepEqual(await filesHolding(s.fake.dir, token), [state]);
}
