/**
 * The owner node's side of a forwarded run (see `forward_run.ts` and `host/remote_run.ts`):
 * `PHOENIX_FORWARDED_FROM` names the node it came from, and standard input brings one JSON line
 * of settings (the configuration, the variables that matter, secrets), then stays open as the
 * lifeline: its end means the node it came from stopped the run (a signal, its watchdog, or the
 * connection ended), and this run stops as it would on SIGTERM. Its log lines go out on standard
 * output as JSON records (`report/logging.ts`), its report as the last record.
 *
 * @module
 */

import { join } from "node:path";
import { SetupError } from "../core/errors.ts";
import { ExitCode } from "../core/exit_codes.ts";
import type { RunReport } from "../report/run_report.ts";
import type { ForwardedSettings } from "./forward_run.ts";
import type { Interruption } from "./interruption.ts";

/** The variable that makes a run a forwarded one, naming the node it came from. */
export const FORWARDED_FROM = "PHOENIX_FORWARDED_FROM";

/** How long the settings may take to arrive once the run started. */
export const SETTINGS_TIMEOUT_MS = 30_000;

/** The longest settings line taken (a configuration file is far smaller). */
const MAX_SETTINGS_BYTES = 16 * 1024 * 1024;

/** A forwarded run, as received. */
export interface ReceivedRun {
  /** The node it came from. */
  readonly from: string;
  /** The run's environment: this node's, with the settings sent over it. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Where the sent configuration was read on the node it came from (`<node>:<path>`). */
  readonly origin: string;
  /** Settles when the node it came from ends the lifeline. */
  readonly lifeline: Promise<void>;
  /** Removes the private copy of the configuration. */
  cleanup(): void;
}

function protocolError(from: string, what: string): SetupError {
  return new SetupError(
    `This run was forwarded from node '${from}' (${FORWARDED_FROM}), but ${what}. Nothing was ` +
      "changed. A forwarded run is started by the setup executable on another cluster node; " +
      `run it without ${FORWARDED_FROM} by hand`,
    ExitCode.InvalidInput,
    { phase: "receiving the forwarded run" },
  );
}

/**
 * Reads the settings line from `input`, keeps the configuration in a private temporary file
 * (its `LXC_CONFIG_FILE`), and watches the rest of `input` as the lifeline.
 *
 * @param timeoutMs How long the settings may take ({@linkcode SETTINGS_TIMEOUT_MS}).
 * @throws {SetupError} (exit 1) When no valid settings line arrives in time.
 */
export async function receiveForwardedRun(
  env: Readonly<Record<string, string | undefined>>,
  input: ReadableStream<Uint8Array> = Deno.stdin.readable,
  timeoutMs: number = SETTINGS_TIMEOUT_MS,
): Promise<ReceivedRun> {
  const from = env[FORWARDED_FROM] ?? "";
  const reader = input.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let timer: number | undefined;
  const deadline = new Promise<"late">((resolve) => {
    timer = setTimeout(() => resolve("late"), timeoutMs);
  });
  let line: string | undefined;
  try {
    while (line === undefined) {
      const read = await Promise.race([reader.read(), deadline]);
      if (read === "late") {
        throw protocolError(from, `its settings did not arrive in ${timeoutMs / 1000} s`);
      }
      if (read.done) throw protocolError(from, "its standard input ended before its settings");
      const end = read.value.indexOf(0x0a);
      chunks.push(end === -1 ? read.value : read.value.subarray(0, end));
      size += read.value.length;
      if (end !== -1) line = new TextDecoder().decode(concat(chunks));
      else if (size > MAX_SETTINGS_BYTES) throw protocolError(from, "its settings are too long");
    }
  } finally {
    clearTimeout(timer);
  }
  let settings: ForwardedSettings;
  try {
    settings = JSON.parse(line);
    if (typeof settings?.config?.text !== "string" || typeof settings.env !== "object") {
      throw new TypeError("not a settings object");
    }
  } catch {
    throw protocolError(from, "its settings line is not what this version sends");
  }
  const dir = Deno.makeTempDirSync({ prefix: "phoenix-setup-forwarded-" });
  const configFile = join(dir, "phoenix_lxc_configs.json");
  Deno.writeTextFileSync(configFile, settings.config.text, { mode: 0o600 });
  const lifeline = (async () => {
    try {
      while (!(await reader.read()).done) { /* nothing more is sent: only the end matters */ }
    } catch { /* a broken input is an ended one */ }
  })();
  return {
    from,
    env: { ...env, ...settings.env, LXC_CONFIG_FILE: configFile },
    origin: settings.config.origin,
    lifeline,
    cleanup() {
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch { /* already gone */ }
    },
  };
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const whole = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    whole.set(chunk, at);
    at += chunk.length;
  }
  return whole;
}

/**
 * Stops the run as SIGTERM would (exit 143, the container's power state put back) when the node
 * it was forwarded from ends its lifeline.
 */
export function stopWhenLifelineEnds(
  received: ReceivedRun,
  interruption: Pick<Interruption, "stopFor">,
  ctid: string,
): void {
  received.lifeline.then(() =>
    interruption.stopFor(
      `node '${received.from}' ended the run`,
      ExitCode.Terminated,
      `Node '${received.from}', which forwarded this run here, stopped it (a signal or its ` +
        `watchdog there, or the connection ended); stopping the setup of container ${ctid} ` +
        `(exit code ${ExitCode.Terminated})`,
    )
  );
}

/** Sends the run's report to the node the run came from: the last record on standard output. */
export function sendReport(report: RunReport): void {
  const bytes = new TextEncoder().encode(`${JSON.stringify({ phoenix: "report", report })}\n`);
  try {
    for (let done = 0; done < bytes.length;) done += Deno.stdout.writeSync(bytes.subarray(done));
  } catch { /* the node it came from is gone: its report is lost with it */ }
}
