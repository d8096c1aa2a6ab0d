import assert from "node:assert/strict";
import {
  CommandError,
  type CommandResult,
  displayCommand,
  outputTail,
  TIMEOUT_EXIT_CODE,
} from "../../../lib/core/command_text.ts";
import { loggingRunner } from "../../../lib/report/logging_runner.ts";
import { CommandStartError, createCommandRunner, zxRunner } from "../../../lib/host/command.ts";
import { commandEnvironment } from "../../../lib/host/command_environment.ts";
import { ExitCode } from "../../../lib/core/exit_codes.ts";
import { RunStopped, RunSupervisor } from "../../../lib/host/run_supervisor.ts";
import { eventually } from "../../support/assertions.ts";
import { isAlive } from "../../support/processes.ts";
import { RunRecord } from "../../../lib/report/run_record.ts";
import { redact } from "../../../lib/core/secrets.ts";
import { RecordingLog } from "../../support/recording_log.ts";
import { scriptedRunner } from "../../support/scripted_runner.ts";

function result(fields: Partial<CommandResult>): CommandResult {
  return { argv: ["x"], exitCode: 0, stdout: "", stderr: "", durationMs: 0, ...fields };
}

/** What was logged, without the command output lines (asserted on their own). */
function withoutOutput(log: RecordingLog) {
  return log.entries.filter(([level]) => level !== "output");
}

const numbered = (n: number) => Array.from({ length: n }, (_, i) => `line ${i + 1}`).join("\n");

Deno.test("outputTail keeps the last lines and drops trailing whitespace", () => {
  assert.equal(outputTail("a\nb\nc\n", 2), "b\nc");
  assert.equal(outputTail("a\nb\nc\n\n  \n", 2), "b\nc");
  assert.equal(outputTail("only\n"), "only");
  assert.equal(outputTail(""), "");
  assert.equal(outputTail("\n\n"), "");
});

Deno.test("outputTail keeps 15 lines by default", () => {
  assert.equal(outputTail(numbered(40) + "\n"), numbered(40).split("\n").slice(25).join("\n"));
  assert.equal(outputTail(numbered(15)), numbered(15));
});

Deno.test("CommandError quotes the stderr tail and keeps the result", () => {
  const failed = result({ exitCode: 255, stdout: "ignored\n", stderr: "CT 920 not running\n" });
  const error = new CommandError("pct shutdown 920", failed);
  assert.ok(error instanceof Error);
  assert.equal(error.name, "CommandError");
  assert.equal(error.message, "pct shutdown 920 failed with exit code 255: CT 920 not running");
  assert.equal(error.result, failed);
});

Deno.test("CommandError falls back to the stdout tail when stderr is empty", () => {
  const error = new CommandError("apt-get update", result({ exitCode: 100, stdout: "E: boom\n" }));
  assert.equal(error.message, "apt-get update failed with exit code 100: E: boom");
});

Deno.test("CommandError without any output says only the exit code", () => {
  const error = new CommandError("false", result({ exitCode: 1, stderr: " \n" }));
  assert.equal(error.message, "false failed with exit code 1");
});

Deno.test("CommandError quotes at most 15 lines of stderr", () => {
  const error = new CommandError("x", result({ exitCode: 2, stderr: numbered(30) }));
  assert.equal(
    error.message,
    `x failed with exit code 2: ${numbered(30).split("\n").slice(15).join("\n")}`,
  );
  assert.equal(error.message.includes("line 15\n"), false);
});

Deno.test("displayCommand shows plain words bare and quotes the rest", () => {
  assert.equal(displayCommand(["pct", "status", "920"]), "pct status 920");
  assert.equal(
    displayCommand([
      "pct",
      "exec",
      "920",
      "--",
      "bash",
      "-c",
      "apt-get update && apt-get install jq",
    ]),
    'pct exec 920 -- bash -c "apt-get update && apt-get install jq"',
  );
  assert.equal(displayCommand(["echo", ""]), 'echo ""');
  assert.equal(displayCommand(["echo", "`id`", "$HOME"]), 'echo "`id`" "$HOME"');
  assert.equal(
    displayCommand([
      "pct",
      "set",
      "920",
      "--features",
      "nesting=1,keyctl=1",
      "--mp0",
      "/a/b:c@d%e+f",
    ]),
    "pct set 920 --features nesting=1,keyctl=1 --mp0 /a/b:c@d%e+f",
  );
  assert.equal(displayCommand(["printf", 'a "b"\n']), 'printf "a \\"b\\"\\n"');
});

Deno.test("zxRunner runs argv without a shell and captures stdout", async () => {
  const argv = ["printf", "%s|", "a b", "$HOME", "it's", "`id`", "x;y"];
  const ran = await zxRunner(argv);
  assert.equal(ran.exitCode, 0);
  assert.equal(ran.stdout, "a b|$HOME|it's|`id`|x;y|");
  assert.equal(ran.stderr, "");
  assert.deepEqual(ran.argv, argv);
  assert.ok(Number.isInteger(ran.durationMs) && ran.durationMs >= 0);
});

Deno.test("zxRunner reports a non-zero exit code without throwing", async () => {
  const ran = await zxRunner(["sh", "-c", "echo out; echo err >&2; exit 3"]);
  assert.equal(ran.exitCode, 3);
  assert.equal(ran.stdout, "out\n");
  assert.equal(ran.stderr, "err\n");
});

Deno.test("zxRunner passes input on stdin", async () => {
  const ran = await zxRunner(["cat"], { input: "line 1\nline 2 $HOME\n" });
  assert.equal(ran.exitCode, 0);
  assert.equal(ran.stdout, "line 1\nline 2 $HOME\n");
});

// The timeout keeps a regression (stdin left open) from hanging the suite.
Deno.test("zxRunner closes stdin when there is no input", async () => {
  const ran = await zxRunner(["sh", "-c", "cat; echo done"], { timeoutMs: 5000 });
  assert.ok(ran.durationMs < 4000, `stdin was left open: ${ran.durationMs} ms`);
  assert.equal(ran.exitCode, 0);
  assert.equal(ran.stdout, "done\n");
});

Deno.test("zxRunner closes stdin when the input is empty", async () => {
  const ran = await zxRunner(["sh", "-c", "cat; echo done"], { input: "", timeoutMs: 5000 });
  assert.ok(ran.durationMs < 4000, `stdin was left open: ${ran.durationMs} ms`);
  assert.equal(ran.exitCode, 0);
  assert.equal(ran.stdout, "done\n");
});

Deno.test("zxRunner reports a missing program as exit 127, not an exception", async () => {
  const ran = await zxRunner(["/nonexistent/phoenix-no-such-program"]);
  assert.equal(ran.exitCode, 127);
  assert.match(ran.stderr, /phoenix-no-such-program/);
});

Deno.test("zxRunner kills a command at its timeout", async () => {
  const ran = await zxRunner(["sleep", "10"], { timeoutMs: 200 });
  assert.notEqual(ran.exitCode, 0);
  assert.ok(ran.durationMs >= 150, `too early: ${ran.durationMs} ms`);
  assert.ok(ran.durationMs < 5000, `not killed: ${ran.durationMs} ms`);
});

Deno.test("zxRunner reports a timed-out command with exit code 124 and says so", async () => {
  const ran = await zxRunner(["sleep", "10"], { timeoutMs: 200 });
  assert.equal(TIMEOUT_EXIT_CODE, 124);
  assert.equal(ran.exitCode, 124);
  assert.match(ran.stderr, /after the 200 ms timeout/);
});

Deno.test("zxRunner passes the caller's environment to the command", async () => {
  Deno.env.set("PHOENIX_COMMAND_TEST_VALUE", "value with spaces");
  try {
    const ran = await zxRunner(["sh", "-c", 'printf %s "$PHOENIX_COMMAND_TEST_VALUE"']);
    assert.equal(ran.stdout, "value with spaces");
  } finally {
    Deno.env.delete("PHOENIX_COMMAND_TEST_VALUE");
  }
});

Deno.test("zxRunner leaves a command that finishes in time alone", async () => {
  const ran = await zxRunner(["sh", "-c", "exit 0"], { timeoutMs: 5000 });
  assert.equal(ran.exitCode, 0);
});

Deno.test("loggingRunner logs the command, then its exit code and duration", async () => {
  const log = new RecordingLog();
  const inner = scriptedRunner(() => ({ stdout: "status: running\n", durationMs: 12 }));
  const run = loggingRunner(inner.run, log);
  const ran = await run(["pct", "status", "920"]);
  assert.deepEqual(ran, {
    argv: ["pct", "status", "920"],
    exitCode: 0,
    stdout: "status: running\n",
    stderr: "",
    durationMs: 12,
  });
  assert.deepEqual(withoutOutput(log), [
    ["debug", "Running: pct status 920"],
    ["info", "pct status 920 (exit 0, 12 ms)"],
  ]);
  // A runner that cannot stream still has its output logged, after the fact.
  assert.deepEqual(log.messages("output"), ["pct status 920 | status: running"]);
});

Deno.test("loggingRunner logs a non-zero exit as information, with the stderr tail", async () => {
  const log = new RecordingLog();
  const stderr = `${numbered(20)}\nCT 920 not running\n`;
  const inner = scriptedRunner(() => ({ exitCode: 255, stdout: "noise\n", stderr, durationMs: 7 }));
  const ran = await loggingRunner(inner.run, log)(["pct", "shutdown", "920", "--timeout", "60"]);
  assert.equal(ran.exitCode, 255);
  assert.deepEqual(withoutOutput(log), [
    ["debug", "Running: pct shutdown 920 --timeout 60"],
    ["info", "pct shutdown 920 --timeout 60 (exit 255, 7 ms)"],
    ["info", `stderr: ${[...numbered(20).split("\n").slice(6), "CT 920 not running"].join("\n")}`],
  ]);
});

Deno.test("loggingRunner logs no stderr line for a silent failure", async () => {
  const log = new RecordingLog();
  const inner = scriptedRunner(() => ({ exitCode: 1, stdout: "only stdout\n", durationMs: 3 }));
  await loggingRunner(inner.run, log)(["pct", "exec", "920", "--", "test", "-e", "/x"]);
  assert.deepEqual(withoutOutput(log), [
    ["debug", "Running: pct exec 920 -- test -e /x"],
    ["info", "pct exec 920 -- test -e /x (exit 1, 3 ms)"],
  ]);
});

Deno.test("loggingRunner does not log the stderr of a successful command", async () => {
  const log = new RecordingLog();
  const inner = scriptedRunner(() => ({ stderr: "progress 100%\n", durationMs: 4 }));
  await loggingRunner(inner.run, log)(["pct", "start", "920"]);
  assert.deepEqual(withoutOutput(log), [
    ["debug", "Running: pct start 920"],
    ["info", "pct start 920 (exit 0, 4 ms)"],
  ]);
});

Deno.test("loggingRunner passes options through and never logs the input", async () => {
  const log = new RecordingLog();
  const inner = scriptedRunner();
  const options = { input: "stdin-only-content-xyz", timeoutMs: 1234 };
  await loggingRunner(inner.run, log)(["pct", "exec", "920", "--", "tee", "/etc/x"], options);
  assert.equal(inner.calls.length, 1);
  assert.deepEqual(inner.calls[0].argv, ["pct", "exec", "920", "--", "tee", "/etc/x"]);
  assert.equal(inner.calls[0].options?.input, options.input);
  assert.equal(inner.calls[0].options?.timeoutMs, options.timeoutMs);
  assert.equal(log.entries.some(([, m]) => m.includes("stdin-only-content-xyz")), false);
});

Deno.test("loggingRunner over zxRunner logs a real failure", async () => {
  const log = new RecordingLog();
  const ran = await loggingRunner(zxRunner, log)(["sh", "-c", "echo broken >&2; exit 3"]);
  assert.equal(ran.exitCode, 3);
  assert.equal(log.entries.length, 4);
  assert.deepEqual(log.entries[0], ["debug", 'Running: sh -c "echo broken >&2; exit 3"']);
  assert.deepEqual(log.entries[1], ["output", 'sh -c "echo broken >&2; exit 3" stderr| broken']);
  assert.equal(log.entries[2][0], "info");
  assert.match(log.entries[2][1], /^sh -c "echo broken >&2; exit 3" \(exit 3, \d+ ms\)$/);
  assert.deepEqual(log.entries[3], ["info", "stderr: broken"]);
});

Deno.test("the runner hands over each output line as it arrives, before the command ends", async () => {
  const seen: [string, string, number][] = [];
  const started = performance.now();
  const ran = await zxRunner(
    ["sh", "-c", "echo one; echo two >&2; sleep 1; printf 'three\\r\\nfour'"],
    { onOutput: (stream, line) => seen.push([stream, line, performance.now() - started]) },
  );
  assert.equal(ran.exitCode, 0);
  assert.deepEqual(seen.map(([stream, line]) => [stream, line]), [
    ["stdout", "one"],
    ["stderr", "two"],
    ["stdout", "three"],
    ["stdout", "four"],
  ]);
  // The first lines came while the command still slept, not with its end.
  assert.ok(seen[0][2] < ran.durationMs - 500, `first line at ${seen[0][2]} ms`);
  // The captured output, which parsers read, is whole.
  assert.equal(ran.stdout, "one\nthree\r\nfour");
});

Deno.test("loggingRunner logs output lines with the step, and a long command's heartbeat", async () => {
  const log = new RecordingLog();
  const record = new RunRecord();
  const run = loggingRunner(zxRunner, log, { record, heartbeatIntervalMs: 200 });
  await record.during(
    { label: "Step 3/4", checking: false },
    () => run(["sh", "-c", "echo Collecting torch HF_TOKEN=hf_abcdefghijkl; sleep 0.7"]),
  );
  assert.deepEqual(log.messages("output"), [
    "Step 3/4 | Collecting torch HF_TOKEN=hf_abcdefghijkl",
  ]);
  const beats = log.messages("info").filter((m) => m.includes("Still running"));
  assert.ok(beats.length >= 2, `${beats.length} heartbeats`);
  assert.match(
    beats.at(-1)!,
    /^Step 3\/4: Still running: sh -c "echo Collecting torch .*" \(\d+ ms; last output: "Collecting torch HF_TOKEN=hf_abcdefghijkl"\)$/,
  );
  // The log formatter masks every line, heartbeats included.
  assert.doesNotMatch(redact(beats.at(-1)!), /hf_abcdefghijkl/);
  // The heartbeat stopped with the command: in the 2.5 intervals after its end, not one more beat.
  const count = beats.length;
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.equal(log.messages("info").filter((m) => m.includes("Still running")).length, count);
});

Deno.test("loggingRunner logs a check's commands at DEBUG and keeps its answer", async () => {
  const log = new RecordingLog();
  const record = new RunRecord();
  const inner = scriptedRunner(() => ({
    exitCode: 1,
    stderr: "dpkg-query: no packages found matching jq\n",
    durationMs: 1500,
  }));
  const argv = ["pct", "exec", "920", "--", "dpkg-query", "-W", "jq"];
  await record.during(
    { label: "Step 1/2", checking: true },
    () => loggingRunner(inner.run, log, { record })(argv),
  );
  assert.deepEqual(withoutOutput(log), [
    ["debug", "Running: pct exec 920 -- dpkg-query -W jq"],
    ["debug", "pct exec 920 -- dpkg-query -W jq (exit 1, 1.5 s)"],
    ["debug", "stderr: dpkg-query: no packages found matching jq"],
  ]);
  assert.equal(record.checkAnswer, "dpkg-query: no packages found matching jq");
  assert.deepEqual(record.commands, [{ argv, exitCode: 1, durationMs: 1500, check: true }]);
});

Deno.test("loggingRunner shows a labelled command by its label, at INFO even in a check", async () => {
  const log = new RecordingLog();
  const record = new RunRecord();
  const inner = scriptedRunner(() => ({ exitCode: 0, stdout: "0 aGk= \n", durationMs: 240 }));
  const argv = ["pct", "exec", "950", "--", "bash", "-c", "long script", "bash", "1", "true"];
  await record.during(
    { label: "Step 1/7", checking: true },
    () =>
      loggingRunner(inner.run, log, { record })(argv, {
        label: "1 check in one call in container 950",
        hideOutput: true,
      }),
  );
  assert.deepEqual(withoutOutput(log), [
    ["debug", 'Running: pct exec 950 -- bash -c "long script" bash 1 true'],
    ["info", "1 check in one call in container 950 (exit 0, 240 ms)"],
  ]);
});

const HOSTILE_HOST_ENV = {
  PATH: "/usr/bin:/bin",
  HOME: "/root",
  LD_LIBRARY_PATH: "/usr/local/nvidia/lib64:/usr/local/nvidia/lib",
  LD_PRELOAD: "/nonexistent/libphoenix-test.so",
  DYLD_LIBRARY_PATH: "/x",
  PYTHONPATH: "/host/python",
  PERL5LIB: "/host/perl",
  HF_TOKEN: "hf_NotForChildren0123456789",
  LANG: "en_US.UTF-8",
  LC_ALL: "en_US.UTF-8",
};

Deno.test("a setup run's commands get only the chosen environment, whatever the caller has", async () => {
  const run = createCommandRunner({ env: commandEnvironment(HOSTILE_HOST_ENV) });
  const ran = await run(["env"], { timeoutMs: 10_000 });
  assert.equal(ran.exitCode, 0, ran.stderr);
  assert.equal(ran.stderr, "");
  const names = ran.stdout.trim().split("\n").map((line) => line.split("=")[0]).sort();
  // bash adds PWD, SHLVL and _ itself.
  assert.deepEqual(names.filter((n) => !["PWD", "SHLVL", "_"].includes(n)), [
    "HOME",
    "LANG",
    "LC_ALL",
    "PATH",
  ]);
  assert.match(ran.stdout, /^LC_ALL=C\.UTF-8$/m);
  assert.match(ran.stdout, /^PATH=\/usr\/bin:\/bin$/m);
});

Deno.test("an LD_* variable in the runner's environment cannot hang a command", async () => {
  // The environment commandEnvironment() keeps out: under restricted run permission Deno refused
  // it and zx never settled. Now the executables have all permissions, and the deadline holds.
  const run = createCommandRunner({ env: { PATH: "/usr/bin:/bin", LD_LIBRARY_PATH: "/x" } });
  const ran = await run(["true"], { timeoutMs: 10_000 });
  assert.equal(ran.exitCode, 0, ran.stderr);
});

Deno.test("a command that cannot be started is a prompt CommandStartError, not a hang", async () => {
  // A working directory that does not exist makes spawn itself fail: no process ever runs.
  const cwd = Deno.cwd();
  const gone = await Deno.makeTempDir();
  Deno.chdir(gone);
  await Deno.remove(gone);
  const started = Date.now();
  try {
    const run = createCommandRunner({ env: { PATH: "/usr/bin:/bin" } });
    const error = await run(["true"]).then(() => undefined, (e) => e);
    assert.ok(error instanceof CommandStartError, String(error));
    assert.equal(error.exitCode, ExitCode.HostPrerequisite);
    assert.match(error.message, /^Cannot start the command true: .*Nothing ran/);
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
  } finally {
    Deno.chdir(cwd);
  }
});

Deno.test("every command runs in a process group of its own, which the supervisor signals", async () => {
  const supervisor = new RunSupervisor();
  const run = createCommandRunner({ env: { PATH: "/usr/bin:/bin" }, supervisor });
  // A grandchild that ignores nothing: killing only the direct child would leave it behind.
  const pidFile = await Deno.makeTempFile();
  const running = run(["sh", "-c", `sleep 30 & echo $! > ${pidFile}; wait`], { timeoutMs: 60_000 });
  await eventually(
    async () => (await Deno.readTextFile(pidFile)).trim() !== "",
    "the command never wrote its grandchild's pid",
    5000,
  );
  const grandchild = Number((await Deno.readTextFile(pidFile)).trim());
  assert.equal(supervisor.runningCount, 1);
  assert.match(supervisor.describe(), /^sh -c .* \(running for \d+ ms\)$/);
  supervisor.signalAll("SIGTERM");
  assert.equal(await supervisor.settle(5000), true);
  const ran = await running;
  assert.equal(ran.exitCode, 143);
  assert.equal(supervisor.runningCount, 0);
  assert.match(supervisor.describe(), /^no command \(the last one, sh -c .*, ended \d+ ms ago\)$/);
  // The group's signal reaches the grandchild at once; it ends (and init reaps it) a moment later.
  await eventually(async () => !await isAlive(grandchild), "the grandchild outlived the signal");
  await Deno.remove(pidFile);
});

Deno.test("a stopped supervisor refuses new commands until reopened", async () => {
  const supervisor = new RunSupervisor();
  const run = createCommandRunner({ env: { PATH: "/usr/bin:/bin" }, supervisor });
  supervisor.stop("SIGTERM");
  await assert.rejects(run(["true"]), (error: Error) => {
    assert.ok(error instanceof RunStopped);
    assert.equal(error.message, "Not starting true: the run is being stopped (SIGTERM)");
    return true;
  });
  supervisor.reopen();
  assert.equal((await run(["true"])).exitCode, 0);
});
