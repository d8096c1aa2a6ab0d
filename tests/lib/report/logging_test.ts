import assert from "node:assert/strict";
import { join } from "node:path";
import type { LogRecord } from "../../../lib/deps/logtape.ts";
import {
  createLog,
  flushLogs,
  formatLine,
  formatTimestamp,
  setupLogging,
} from "../../../lib/report/logging.ts";
import { registerSecret } from "../../../lib/core/secrets.ts";

const SOURCE = "phoenix_hypervisor_setup_920.sh";
const LINE = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \[(DEBUG|INFO|WARN|ERROR|FATAL)\] (\S+): (.*)$/;

function record(
  level: LogRecord["level"],
  message: readonly unknown[],
  timestamp: number,
): LogRecord {
  return {
    category: ["phoenix"],
    level,
    message,
    rawMessage: message.filter((_, i) => i % 2 === 0).join(""),
    timestamp,
    properties: {},
  };
}

/** Runs `fn` with console.log/console.error captured; returns what each received. */
async function captureConsole(
  fn: () => Promise<void>,
): Promise<{ stdout: string[]; stderr: string[] }> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const { log, error } = console;
  console.log = (...args: unknown[]) => void stdout.push(args.join(" "));
  console.error = (...args: unknown[]) => void stderr.push(args.join(" "));
  try {
    await fn();
  } finally {
    console.log = log;
    console.error = error;
  }
  return { stdout, stderr };
}

/** Parses the lines of a log file: [level, source, message] each. */
function parseLogFile(text: string): [string, string, string][] {
  assert.ok(text.endsWith("\n"), "every line ends with a newline");
  return text.slice(0, -1).split("\n").map((line) => {
    const match = LINE.exec(line);
    assert.ok(match, `not in the orchestrator's format: ${JSON.stringify(line)}`);
    return [match[1], match[2], match[3]];
  });
}

Deno.test("formatTimestamp renders local time as YYYY-MM-DD HH:MM:SS", () => {
  assert.equal(formatTimestamp(new Date(2025, 7, 30, 14, 2, 11).getTime()), "2025-08-30 14:02:11");
});

Deno.test("formatTimestamp pads every field to two digits", () => {
  assert.equal(formatTimestamp(new Date(2026, 0, 5, 3, 4, 5).getTime()), "2026-01-05 03:04:05");
  assert.equal(
    formatTimestamp(new Date(2026, 11, 31, 23, 59, 59, 999).getTime()),
    "2026-12-31 23:59:59",
  );
});

Deno.test("formatLine renders the orchestrator's format for every level", () => {
  const ts = new Date(2025, 7, 30, 14, 2, 11).getTime();
  const cases: [LogRecord["level"], string][] = [
    ["trace", "DEBUG"],
    ["debug", "DEBUG"],
    ["info", "INFO"],
    ["warning", "WARN"],
    ["error", "ERROR"],
    ["fatal", "FATAL"],
  ];
  for (const [level, name] of cases) {
    assert.equal(
      formatLine(record(level, ["", "Processing container 920", ""], ts), SOURCE),
      `2025-08-30 14:02:11 [${name}] ${SOURCE}: Processing container 920`,
    );
  }
});

Deno.test("formatLine joins template parts and values as plain text", () => {
  const ts = new Date(2025, 7, 30, 14, 2, 11).getTime();
  assert.equal(
    formatLine(record("info", ["CT ", 920, " has ", '{"a": 1}', ""], ts), "x.sh"),
    '2025-08-30 14:02:11 [INFO] x.sh: CT 920 has {"a": 1}',
  );
});

Deno.test("formatLine repeats the prefix on every line of a multi-line message", () => {
  const ts = new Date(2025, 7, 30, 14, 2, 11).getTime();
  assert.equal(
    formatLine(record("warning", ["", "stderr: E: one\nE: two", ""], ts), SOURCE),
    `2025-08-30 14:02:11 [WARN] ${SOURCE}: stderr: E: one\n` +
      `2025-08-30 14:02:11 [WARN] ${SOURCE}: E: two`,
  );
});

Deno.test("formatLine masks secrets", () => {
  registerSecret("formatline-secret-value");
  const ts = new Date(2025, 7, 30, 14, 2, 11).getTime();
  const line = formatLine(
    record("error", ["", "token formatline-secret-value and HF_TOKEN=hf_abcdefghijk", ""], ts),
    SOURCE,
  );
  assert.equal(line, `2025-08-30 14:02:11 [ERROR] ${SOURCE}: token *** and HF_TOKEN=***`);
});

Deno.test("setupLogging appends orchestrator-format lines to the log file, without DEBUG", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "phoenix_hypervisor.log");
    const earlier =
      "2025-08-30 14:02:11 [INFO] phoenix_establish_hypervisor.sh: Processing container 920\n";
    await Deno.writeTextFile(file, earlier);
    const consoleOut = await captureConsole(async () => {
      const log = await setupLogging({ source: SOURCE, logFile: file, debug: false });
      log.debug("a debug line");
      log.info("Setup started");
      log.warn("a warning");
      log.error("an error");
      log.fatal("the end");
      await flushLogs();
    });
    const text = await Deno.readTextFile(file);
    assert.ok(text.startsWith(earlier), "existing content is kept (append, like tee -a)");
    assert.deepEqual(parseLogFile(text.slice(earlier.length)), [
      ["INFO", SOURCE, "Setup started"],
      ["WARN", SOURCE, "a warning"],
      ["ERROR", SOURCE, "an error"],
      ["FATAL", SOURCE, "the end"],
    ]);
    // The console gets the same lines: INFO on stdout, the rest on stderr.
    assert.deepEqual(consoleOut.stdout.map((l) => LINE.exec(l)?.[3]), ["Setup started"]);
    assert.deepEqual(consoleOut.stderr.map((l) => LINE.exec(l)?.[3]), [
      "a warning",
      "an error",
      "the end",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("setupLogging writes DEBUG lines when debug is true", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "debug.log");
    const consoleOut = await captureConsole(async () => {
      const log = await setupLogging({ source: SOURCE, logFile: file, debug: true });
      log.debug("Running: pct status 920");
      log.info("pct status 920 (exit 0, 12 ms)");
      await flushLogs();
    });
    assert.deepEqual(parseLogFile(await Deno.readTextFile(file)), [
      ["DEBUG", SOURCE, "Running: pct status 920"],
      ["INFO", SOURCE, "pct status 920 (exit 0, 12 ms)"],
    ]);
    assert.equal(consoleOut.stdout.length, 2);
    assert.equal(consoleOut.stderr.length, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("setupLogging masks secrets in the file and on the console", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "secret.log");
    registerSecret("logging-file-secret-42");
    const consoleOut = await captureConsole(async () => {
      const log = await setupLogging({ source: SOURCE, logFile: file, debug: true });
      log.info("using logging-file-secret-42 now");
      log.debug("curl -H 'Authorization: Bearer abc.def.ghi' http://localhost:8000/v1/models");
      log.warn("HF_TOKEN=hf_zyxwvutsrqpon");
      await flushLogs();
    });
    const text = await Deno.readTextFile(file);
    assert.equal(text.includes("logging-file-secret-42"), false);
    assert.equal(text.includes("abc.def.ghi"), false);
    assert.equal(text.includes("hf_zyxwvutsrqpon"), false);
    assert.deepEqual(parseLogFile(text).map(([, , message]) => message), [
      "using *** now",
      "curl -H 'Authorization: Bearer ***' http://localhost:8000/v1/models",
      "HF_TOKEN=***",
    ]);
    const all = [...consoleOut.stdout, ...consoleOut.stderr].join("\n");
    assert.equal(all.includes("logging-file-secret-42"), false);
    assert.equal(all.includes("hf_zyxwvutsrqpon"), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("setupLogging keeps braces in messages literally", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "braces.log");
    await captureConsole(async () => {
      const log = await setupLogging({ source: SOURCE, logFile: file, debug: false });
      log.info('{"lxc_configs": {"920": {}}}');
      log.error("placeholder {ctid} and {0} and {{double}} and ${x}");
      await flushLogs();
    });
    assert.deepEqual(parseLogFile(await Deno.readTextFile(file)).map(([, , m]) => m), [
      '{"lxc_configs": {"920": {}}}',
      "placeholder {ctid} and {0} and {{double}} and ${x}",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("setupLogging prefixes every line of a multi-line message", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "multi.log");
    await captureConsole(async () => {
      const log = await setupLogging({ source: SOURCE, logFile: file, debug: false });
      log.warn("stderr: line one\nline two\n\nHF_TOKEN=hf_abcdefghijkl");
      await flushLogs();
    });
    assert.deepEqual(parseLogFile(await Deno.readTextFile(file)), [
      ["WARN", SOURCE, "stderr: line one"],
      ["WARN", SOURCE, "line two"],
      ["WARN", SOURCE, ""],
      ["WARN", SOURCE, "HF_TOKEN=***"],
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("setupLogging logs the warning of its settings once logging works", async () => {
  const consoleOut = await captureConsole(async () => {
    await setupLogging({ source: SOURCE, debug: false, warning: "PHOENIX_DEBUG is odd" });
    await flushLogs();
  });
  assert.deepEqual(consoleOut.stderr.map((l) => LINE.exec(l)?.slice(1, 3)), [["WARN", SOURCE]]);
  assert.equal(LINE.exec(consoleOut.stderr[0])?.[3], "PHOENIX_DEBUG is odd");
  assert.deepEqual(consoleOut.stdout, []);
});

Deno.test("setupLogging goes on with the console when the log file cannot be opened", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "missing-dir", "phoenix.log");
    const consoleOut = await captureConsole(async () => {
      const log = await setupLogging({ source: SOURCE, logFile: file, debug: false });
      log.info("still logging");
      await flushLogs();
    });
    assert.equal(consoleOut.stderr.length, 1);
    const [, level, source, message] = LINE.exec(consoleOut.stderr[0]) ?? [];
    assert.equal(level, "WARN");
    assert.equal(source, SOURCE);
    assert.equal(
      message,
      `Cannot append to log file ${JSON.stringify(file)}: its directory does not exist; logging ` +
        "to the console only (set MAIN_LOG_FILE to a writable path)",
      "in our words, not Deno's",
    );
    assert.deepEqual(consoleOut.stdout.map((l) => LINE.exec(l)?.[3]), ["still logging"]);
    await assert.rejects(Deno.stat(file), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("setupLogging without a log file logs to the console only", async () => {
  const consoleOut = await captureConsole(async () => {
    const log = await setupLogging({ source: "x.sh", debug: false });
    log.info("console only");
    log.debug("not shown");
    await flushLogs();
  });
  assert.deepEqual(consoleOut.stdout.map((l) => LINE.exec(l)?.slice(1)), [
    ["INFO", "x.sh", "console only"],
  ]);
  assert.deepEqual(consoleOut.stderr, []);
});

Deno.test("createLog follows the configuration made after it was created", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "late.log");
    const early = createLog();
    await captureConsole(async () => {
      await setupLogging({ source: SOURCE, logFile: file, debug: false });
      early.info("through an early log");
      await flushLogs();
    });
    assert.deepEqual(parseLogFile(await Deno.readTextFile(file)), [
      ["INFO", SOURCE, "through an early log"],
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
