/**
 * Running the compiled setup executables of the test-only modules (`./modules/<CTID>.ts`)
 * against a lab's containers, the way the orchestrator runs them, and reading back what they
 * logged.
 *
 * @module
 */

import { GPU_HOST_ENVIRONMENT } from "../../support/gpu_host.ts";
import assert from "node:assert/strict";
import { displayCommand } from "../../../lib/core/command_text.ts";
import { type RunReport, RunReportSchema } from "../../../lib/report/run_report_schema.ts";
import { compiledExecutable } from "../../support/executables.ts";
import { LAB_NODE, type LxcLab } from "./harness.ts";

/** The test-only modules, by CTID. */
export type TestCtid = "801" | "802" | "803" | "804";

/** The config file the runs read: the test-only modules' entries, templates marked as such. */
export const LXC_CONFIGS = {
  lxc_configs: {
    "801": { name: "TestTemplate", is_template: true },
    "802": { name: "TestHttpd", is_template: false },
    "803": { name: "TestStepFails", is_template: true },
    "804": { name: "TestVerificationFails", is_template: true },
  },
};

/** Seconds a template's clean shutdown may take; a busybox container needs about 2. */
export const SHUTDOWN_TIMEOUT = 5;

/** The node name `pct` puts in its error messages. */
export const NODE = LAB_NODE;

/** One orchestrator log line: `YYYY-MM-DD HH:MM:SS [LEVEL] <source>: <message>`. */
const LOG_LINE =
  /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) \[(DEBUG|INFO|WARN|ERROR|FATAL)\] ([^ :]+): (.*)$/;

/** A parsed log line. */
export interface LogEntry {
  readonly level: string;
  readonly message: string;
}

/** What one run of a setup executable did. */
export interface SetupRun {
  /** The command line, for failure messages. */
  readonly what: string;
  /** The run's process id. */
  readonly pid: number;
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
  /** The log file's lines (the file may be shared with other runs). */
  readonly log: readonly LogEntry[];
  /** The run report (`PHOENIX_REPORT_FILE`); `undefined` when the run wrote none. */
  readonly report?: RunReport;
}

/** Options of one run. */
export interface RunSetupOptions {
  /** Arguments; default: the CTID alone. */
  readonly args?: readonly string[];
  /** `PHOENIX_SHUTDOWN_TIMEOUT`; default {@linkcode SHUTDOWN_TIMEOUT}. */
  readonly shutdownTimeout?: number;
  /** `MAIN_LOG_FILE`; default a new file per run. */
  readonly logFile?: string;
  /** Kill the run after this many milliseconds (a hung run fails its test). */
  readonly killAfterMs?: number;
  /** More environment for the run (e.g. `HF_TOKEN`). */
  readonly env?: Readonly<Record<string, string>>;
}

/** What a bench runs: which config, which executables. */
export interface SetupBenchOptions {
  /** The config file's text; default {@linkcode LXC_CONFIGS}. */
  readonly configText?: string;
  /** The executable for a CTID; default the test-only modules' ({@linkcode executableFor}). */
  readonly executable?: (ctid: string) => Promise<string>;
}

const MODULES = new URL("./modules/", import.meta.url).pathname;

/** The compiled executable of test-only module `ctid`, built through `build.ts` once per process. */
export function executableFor(ctid: TestCtid): Promise<string> {
  return compiledExecutable(ctid, `${MODULES}${ctid}.ts`);
}

/**
 * Runs setup executables in one lab: writes the config file, and gives every run the
 * orchestrator's environment (config, log file) plus the lab's `pct` and a private lock directory.
 */
export class SetupBench {
  readonly lab: LxcLab;
  /** `LXC_CONFIG_FILE`. */
  readonly configFile: string;
  /** `PHOENIX_LOCK_DIR`. */
  readonly lockDir: string;
  readonly #executable: (ctid: string) => Promise<string>;
  #runs = 0;

  private constructor(lab: LxcLab, executable: (ctid: string) => Promise<string>) {
    this.lab = lab;
    this.#executable = executable;
    this.configFile = `${lab.root}/phoenix_lxc_configs.json`;
    this.lockDir = `${lab.root}/lock`;
  }

  /** Prepares `lab` for setup runs. */
  static async create(lab: LxcLab, options: SetupBenchOptions = {}): Promise<SetupBench> {
    const bench = new SetupBench(
      lab,
      options.executable ?? ((ctid) => executableFor(ctid as TestCtid)),
    );
    await bench.writeConfig(options.configText ?? JSON.stringify(LXC_CONFIGS, null, 2) + "\n");
    return bench;
  }

  /** Replaces the config file the next runs read. */
  async writeConfig(text: string): Promise<void> {
    await Deno.writeTextFile(this.configFile, text);
  }

  /** A fresh log file path in the lab. */
  newLogFile(): string {
    return `${this.lab.root}/phoenix_hypervisor.${++this.#runs}.log`;
  }

  /**
   * Starts the executable for `ctid` with stdin closed and piped output, like the orchestrator.
   *
   * @returns Its pid and the promise of its outcome.
   */
  async start(
    ctid: string,
    options: RunSetupOptions = {},
  ): Promise<{ pid: number; done: Promise<SetupRun> }> {
    const executable = await this.#executable(ctid);
    const args = [...(options.args ?? [ctid])];
    const logFile = options.logFile ?? this.newLogFile();
    const reportFile = `${logFile}.report.json`;
    const abort = new AbortController();
    const started = performance.now();
    const child = new Deno.Command(executable, {
      args,
      clearEnv: true,
      // As a real GPU host runs it: its LD_LIBRARY_PATH and friends reach the executable, and
      // must reach neither pct nor the container.
      env: {
        ...GPU_HOST_ENVIRONMENT,
        ...this.lab.env(),
        HOME: "/root",
        LXC_CONFIG_FILE: this.configFile,
        MAIN_LOG_FILE: logFile,
        PHOENIX_LOCK_DIR: this.lockDir,
        PHOENIX_SHUTDOWN_TIMEOUT: String(options.shutdownTimeout ?? SHUTDOWN_TIMEOUT),
        PHOENIX_DEBUG: "false",
        PHOENIX_REPORT_FILE: reportFile,
        ...options.env,
      },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: abort.signal,
    }).spawn();
    const timer = setTimeout(() => abort.abort(), options.killAfterMs ?? 120_000);
    const done = (async (): Promise<SetupRun> => {
      let output: Deno.CommandOutput;
      try {
        output = await child.output();
      } finally {
        clearTimeout(timer);
      }
      const durationMs = performance.now() - started;
      const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
      const logText = await Deno.readTextFile(logFile).catch(() => "");
      const reportText = await Deno.readTextFile(reportFile).catch(() => undefined);
      return {
        what: `phoenix_hypervisor_setup_${ctid}.sh ${args.join(" ")}`,
        pid: child.pid,
        code: output.code,
        stdout: decode(output.stdout),
        stderr: decode(output.stderr),
        durationMs,
        log: parseLog(logText, ctid),
        ...(reportText !== undefined && { report: RunReportSchema.parse(JSON.parse(reportText)) }),
      };
    })();
    return { pid: child.pid, done };
  }

  /** Runs the executable for `ctid` to the end. */
  async run(ctid: string, options: RunSetupOptions = {}): Promise<SetupRun> {
    return await (await this.start(ctid, options)).done;
  }
}

/**
 * Parses a log file, asserting that every line has the orchestrator's format and comes from the
 * executable for `ctid`.
 */
export function parseLog(text: string, ctid: string): LogEntry[] {
  const entries: LogEntry[] = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const match = LOG_LINE.exec(line);
    assert.ok(match, `Log line not in the orchestrator's format: ${JSON.stringify(line)}`);
    assert.equal(match[3], `phoenix_hypervisor_setup_${ctid}.sh`, `source of ${line}`);
    entries.push({ level: match[2], message: match[4] });
  }
  return entries;
}

/**
 * The `pct` commands a run made (`pct status 801`, ...), in order, from its run report (the log
 * has the checks' commands only with PHOENIX_DEBUG=true). A snapshot's stamp shows as
 * `"<stamp>"`: what it says is `tests/e2e/provenance_test.ts`'s to check, and the Debian tier's.
 */
export function pctCalls(run: SetupRun): string[] {
  assert.ok(run.report, `no run report\n${describe(run)}`);
  return run.report.pctCalls.map((call) =>
    displayCommand(call.argv).replace(
      / --description "phoenix-setup [^"]*"$/,
      ' --description "<stamp>"',
    )
  );
}

/**
 * The `pct` calls other than `pct exec`: the container-level operations, and any `pct push`,
 * `pct set` or other call a run should not have made, which shows here.
 */
export function callsBesidesExec(run: SetupRun): string[] {
  return pctCalls(run).filter((call) => !call.startsWith("pct exec "));
}

/**
 * The container-level `pct` calls alone (status, shutdown, snapshot, start, ...): neither the
 * commands inside the container (`pct exec`) nor the file copies into it (`pct push`).
 */
export function containerLevelCalls(run: SetupRun): string[] {
  return pctCalls(run).filter((call) => !/^pct (exec|push) /.test(call));
}

/** Everything a run said, for failure messages. */
export function describe(run: SetupRun): string {
  return `${run.what}: exit ${run.code} after ${Math.round(run.durationMs)} ms\n` +
    `--- stdout\n${run.stdout}--- stderr\n${run.stderr}---`;
}

/** Asserts that one of the run's log lines has `level` and includes `text`. */
export function assertLogged(run: SetupRun, level: string, text: string): void {
  assert.ok(
    run.log.some((entry) => entry.level === level && entry.message.includes(text)),
    `no [${level}] log line with ${JSON.stringify(text)}\n${describe(run)}`,
  );
}
