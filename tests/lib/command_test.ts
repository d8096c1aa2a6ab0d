import assert from "node:assert/strict";
import {
  CommandError,
  type CommandResult,
  displayCommand,
  loggingRunner,
  outputTail,
  TIMEOUT_EXIT_CODE,
  zxRunner,
} from "../../lib/command.ts";
import { RecordingLog } from "../support/recording_log.ts";
import { scriptedRunner } from "../support/scripted_runner.ts";

function result(fields: Partial<CommandResult>): CommandResult {
  return { argv: ["x"], exitCode: 0, stdout: "", stderr: "", durationMs: 0, ...fields };
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

Deno.test("zxRunner keeps bash's locale warnings out of stderr but passes the locale on", async () => {
  const saved = Deno.env.get("LC_ALL");
  Deno.env.set("LC_ALL", "xx_NO.SUCH-LOCALE");
  try {
    const ran = await zxRunner(["sh", "-c", 'printf %s "$LC_ALL"']);
    assert.equal(ran.exitCode, 0);
    assert.equal(ran.stdout, "xx_NO.SUCH-LOCALE");
    assert.equal(ran.stderr, "");
    assert.deepEqual(ran.argv, ["sh", "-c", 'printf %s "$LC_ALL"']);
  } finally {
    if (saved === undefined) Deno.env.delete("LC_ALL");
    else Deno.env.set("LC_ALL", saved);
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
  assert.deepEqual(log.entries, [
    ["debug", "Running: pct status 920"],
    ["info", "pct status 920 (exit 0, 12 ms)"],
  ]);
});

Deno.test("loggingRunner logs a non-zero exit as information, with the stderr tail", async () => {
  const log = new RecordingLog();
  const stderr = `${numbered(20)}\nCT 920 not running\n`;
  const inner = scriptedRunner(() => ({ exitCode: 255, stdout: "noise\n", stderr, durationMs: 7 }));
  const ran = await loggingRunner(inner.run, log)(["pct", "shutdown", "920", "--timeout", "60"]);
  assert.equal(ran.exitCode, 255);
  assert.deepEqual(log.entries, [
    ["debug", "Running: pct shutdown 920 --timeout 60"],
    ["info", "pct shutdown 920 --timeout 60 (exit 255, 7 ms)"],
    ["info", `stderr: ${[...numbered(20).split("\n").slice(6), "CT 920 not running"].join("\n")}`],
  ]);
});

Deno.test("loggingRunner logs no stderr line for a silent failure", async () => {
  const log = new RecordingLog();
  const inner = scriptedRunner(() => ({ exitCode: 1, stdout: "only stdout\n", durationMs: 3 }));
  await loggingRunner(inner.run, log)(["pct", "exec", "920", "--", "test", "-e", "/x"]);
  assert.deepEqual(log.entries, [
    ["debug", "Running: pct exec 920 -- test -e /x"],
    ["info", "pct exec 920 -- test -e /x (exit 1, 3 ms)"],
  ]);
});

Deno.test("loggingRunner does not log the stderr of a successful command", async () => {
  const log = new RecordingLog();
  const inner = scriptedRunner(() => ({ stderr: "progress 100%\n", durationMs: 4 }));
  await loggingRunner(inner.run, log)(["pct", "start", "920"]);
  assert.deepEqual(log.entries, [
    ["debug", "Running: pct start 920"],
    ["info", "pct start 920 (exit 0, 4 ms)"],
  ]);
});

Deno.test("loggingRunner passes options through and never logs the input", async () => {
  const log = new RecordingLog();
  const inner = scriptedRunner();
  const options = { input: "stdin-only-content-xyz", timeoutMs: 1234 };
  await loggingRunner(inner.run, log)(["pct", "exec", "920", "--", "tee", "/etc/x"], options);
  assert.deepEqual(inner.calls, [{ argv: ["pct", "exec", "920", "--", "tee", "/etc/x"], options }]);
  assert.equal(log.entries.some(([, m]) => m.includes("stdin-only-content-xyz")), false);
});

Deno.test("loggingRunner over zxRunner logs a real failure", async () => {
  const log = new RecordingLog();
  const ran = await loggingRunner(zxRunner, log)(["sh", "-c", "echo broken >&2; exit 3"]);
  assert.equal(ran.exitCode, 3);
  assert.equal(log.entries.length, 3);
  assert.deepEqual(log.entries[0], ["debug", 'Running: sh -c "echo broken >&2; exit 3"']);
  assert.equal(log.entries[1][0], "info");
  assert.match(log.entries[1][1], /^sh -c "echo broken >&2; exit 3" \(exit 3, \d+ ms\)$/);
  assert.deepEqual(log.entries[2], ["info", "stderr: broken"]);
});

Deno.test("zxRunner keeps secrets out of the command's environment", async () => {
  Deno.env.set("HF_TOKEN", "hf_NotForChildren0123456789");
  Deno.env.set("PHOENIX_COMMAND_TEST_PLAIN", "plain");
  try {
    const ran = await zxRunner([
      "sh",
      "-c",
      'printf "%s|%s" "${HF_TOKEN:-unset}" "$PHOENIX_COMMAND_TEST_PLAIN"',
    ]);
    assert.equal(ran.stdout, "unset|plain");
  } finally {
    Deno.env.delete("HF_TOKEN");
    Deno.env.delete("PHOENIX_COMMAND_TEST_PLAIN");
  }
});
