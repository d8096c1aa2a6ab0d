/**
 * Logging: human lines on the console and the same events appended to the orchestrator's log
 * file, in its format, so the combined log reads as one story:
 *
 * `2025-08-30 14:02:11 [INFO] phoenix_hypervisor_setup_920.sh: Setup for container ...`
 *
 * Every line passes through {@linkcode redact} before it is written anywhere.
 *
 * @module
 */

import { configure, dispose, getLogger, type LogRecord, type Sink } from "../deps/logtape.ts";
import { describeIoError } from "../core/io_errors.ts";
import { redact } from "../core/secrets.ts";

/** The orchestrator's level names, by LogTape level. */
const LEVEL_NAMES: Record<string, string> = {
  trace: "DEBUG",
  debug: "DEBUG",
  info: "INFO",
  warning: "WARN",
  error: "ERROR",
  fatal: "FATAL",
};

/** The logging facade every module uses; messages are plain text, never templates. */
export interface Log {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  fatal(message: string): void;
  /**
   * One line of a command's output: always written to the log file (at DEBUG), on the console
   * only with PHOENIX_DEBUG=true, so the file holds what every command printed.
   */
  output(message: string): void;
}

/** Where and how to log. */
export interface LoggingOptions {
  /** The name in every line: the executable's file name. */
  readonly source: string;
  /** The orchestrator's log file; `undefined` logs to the console only. */
  readonly logFile?: string;
  /** Whether DEBUG lines are written. */
  readonly debug: boolean;
  /** A problem with the logging settings themselves, logged as a warning once logging works. */
  readonly warning?: string;
  /**
   * The run was forwarded here from another cluster node: the console carries every record the
   * log file gets, as {@linkcode ForwardedRecord} JSON lines, for that node to show.
   */
  readonly forwarded?: boolean;
}

/** One log record as a forwarded run prints it on its console: one JSON line. */
export interface ForwardedRecord {
  readonly phoenix: "log";
  /** `debug`, `info`, `warning`, `error` or `fatal`. */
  readonly level: string;
  /** A command's output line (see {@linkcode Log.output}) rather than a message. */
  readonly output?: true;
  readonly message: string;
}

function pad(n: number): string {
  return String(n).padStart(2, "0");
}

/** Formats a timestamp as `YYYY-MM-DD HH:MM:SS` in local time, as the orchestrator's `date` does. */
export function formatTimestamp(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/**
 * Renders one record as orchestrator log lines (without the final newline), secrets masked.
 * A multi-line message (a command's stderr tail) gets the prefix on every line, so `grep` on the
 * log file finds each one with its time and source.
 *
 * @param source The executable's file name.
 */
export function formatLine(record: LogRecord, source: string): string {
  const prefix = `${formatTimestamp(record.timestamp)} [${LEVEL_NAMES[record.level]}] ${source}: `;
  const text = record.message.map((part) => String(part)).join("");
  return redact(text.split("\n").map((line) => prefix + line).join("\n"));
}

function consoleSink(source: string): Sink {
  return (record) => {
    const line = formatLine(record, source);
    if (record.level === "debug" || record.level === "info" || record.level === "trace") {
      console.log(line);
    } else {
      console.error(line);
    }
  };
}

/**
 * The console of a forwarded run: each record as one {@linkcode ForwardedRecord} line, secrets
 * masked. A console that is gone (the SSH session was cut) must not stop the cleanup.
 */
function forwardedSink(): Sink {
  const encoder = new TextEncoder();
  return (record) => {
    const text = record.message.map((part) => String(part)).join("");
    const line: ForwardedRecord = {
      phoenix: "log",
      level: record.level,
      ...(record.category[1] === "output" && { output: true }),
      message: redact(text),
    };
    const bytes = encoder.encode(`${JSON.stringify(line)}\n`);
    try {
      for (let done = 0; done < bytes.length;) done += Deno.stdout.writeSync(bytes.subarray(done));
    } catch { /* nobody is listening any more */ }
  };
}

/** Plain words for why the log file cannot be written. */
function describeWriteError(error: unknown): string {
  const code = (error as { code?: string })?.code;
  // Said of a log file, "no such file" would be wrong: appending creates it.
  if (code === "ENOENT" || error instanceof Deno.errors.NotFound) {
    return "its directory does not exist";
  }
  return describeIoError(error);
}

/**
 * A sink that appends each line to the orchestrator's log file as it is logged, with one write
 * (so lines of concurrent writers do not interleave) and no fsync (which `/dev/null` and pipes
 * refuse). A file that stops taking lines (a full disk) is reported once on the console, and the
 * run goes on logging there: losing the file log must not stop a setup.
 *
 * @throws When the file cannot be opened at all.
 */
function fileSink(path: string, source: string): Sink & Disposable {
  const file = Deno.openSync(path, { append: true, create: true });
  const encoder = new TextEncoder();
  let broken = false;
  const sink = (record: LogRecord) => {
    if (broken) return;
    try {
      const bytes = encoder.encode(formatLine(record, source) + "\n");
      for (let done = 0; done < bytes.length;) done += file.writeSync(bytes.subarray(done));
    } catch (error) {
      broken = true;
      console.error(
        `${formatTimestamp(Date.now())} [WARN] ${source}: Cannot write to log file ` +
          `${JSON.stringify(path)}: ${describeWriteError(error)}; logging to the console only ` +
          "from here on (set MAIN_LOG_FILE to a writable path)",
      );
    }
  };
  return Object.assign(sink, { [Symbol.dispose]: () => file.close() });
}

/**
 * Configures the sinks. When the log file cannot be opened the run goes on with the console only,
 * and says so: losing the file log must not stop a setup.
 */
export async function setupLogging(options: LoggingOptions): Promise<Log> {
  const sinks: Record<string, Sink> = {
    console: options.forwarded ? forwardedSink() : consoleSink(options.source),
  };
  let fileProblem: string | undefined;
  if (options.logFile) {
    try {
      // Opened eagerly so an unusable path is found here, not on the first line.
      sinks.file = fileSink(options.logFile, options.source);
    } catch (error) {
      fileProblem = `Cannot append to log file ${JSON.stringify(options.logFile)}: ${
        describeWriteError(error)
      }; logging to the console only (set MAIN_LOG_FILE to a writable path)`;
    }
  }
  await configure({
    reset: true,
    sinks,
    loggers: [
      {
        category: ["phoenix"],
        lowestLevel: options.debug ? "debug" : "info",
        sinks: Object.keys(sinks),
      },
      {
        category: ["phoenix", "output"],
        lowestLevel: "debug",
        sinks: Object.keys(sinks).filter((name) =>
          name === "file" || options.debug || options.forwarded
        ),
        parentSinks: "override",
      },
      // LogTape's own notices would otherwise go to the console unformatted.
      { category: ["logtape", "meta"], lowestLevel: "error", sinks: ["console"] },
    ],
  });
  const log = createLog();
  if (options.warning) log.warn(options.warning);
  if (fileProblem) log.warn(fileProblem);
  return log;
}

/** A {@linkcode Log} over the configured LogTape logger (silent until `setupLogging`). */
export function createLog(): Log {
  const logger = getLogger(["phoenix"]);
  const output = getLogger(["phoenix", "output"]);
  // The tagged-template form keeps braces in messages (JSON, stderr) from being read as
  // LogTape placeholders.
  return {
    debug: (message) => logger.debug`${message}`,
    info: (message) => logger.info`${message}`,
    warn: (message) => logger.warn`${message}`,
    error: (message) => logger.error`${message}`,
    fatal: (message) => logger.fatal`${message}`,
    output: (message) => output.debug`${message}`,
  };
}

/** Writes out and closes every sink; call before exiting. */
export async function flushLogs(): Promise<void> {
  await dispose();
}
