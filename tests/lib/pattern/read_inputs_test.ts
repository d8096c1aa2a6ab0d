import assert from "node:assert/strict";
import { join } from "node:path";
import container920 from "../../../containers/920.ts";
import { helpText } from "../../../lib/pattern/help.ts";
import {
  executableFacts,
  type InputOptions,
  readInputs,
} from "../../../lib/pattern/read_inputs.ts";
import { validReport } from "../../support/run_reports.ts";

const EXECUTABLE = "/usr/local/phoenix_hypervisor/bin/phoenix_hypervisor_setup_920.sh";
const FACTS = { ctid: "920", kind: "template", help: "The help of 920." } as const;

/** Stands in for Deno.exit: records the code and unwinds like a real exit would. */
class Exited extends Error {
  constructor(readonly code: number) {
    super(`exit(${code})`);
  }
}

/** What a call of `readInputs` printed, and the code it exited with (none when it returned). */
interface Answer {
  readonly stdout: string[];
  readonly stderr: string[];
  readonly code?: number;
}

async function answer(args: string[], env: Record<string, string> = {}): Promise<Answer> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const { log, error } = console;
  console.log = (...parts: unknown[]) => void stdout.push(parts.join(" "));
  console.error = (...parts: unknown[]) => void stderr.push(parts.join(" "));
  const options: InputOptions = {
    args,
    env: { MAIN_LOG_FILE: "/dev/null", ...env },
    invocation: { argv0: EXECUTABLE, execPath: EXECUTABLE },
    exit: (code) => {
      throw new Exited(code);
    },
  };
  try {
    await readInputs(FACTS, options);
    return { stdout, stderr };
  } catch (thrown) {
    if (!(thrown instanceof Exited)) throw thrown;
    return { stdout, stderr, code: thrown.code };
  } finally {
    Object.assign(console, { log, error });
  }
}

/** The log file's lines without their timestamps. */
async function logLines(path: string): Promise<string[]> {
  return (await Deno.readTextFile(path)).trimEnd().split("\n").map((l) =>
    l.replace(/^\S+ \S+ /, "")
  );
}

Deno.test("executableFacts gives the executable's help as helpText of its module", () => {
  assert.deepEqual(executableFacts(container920), {
    ctid: "920",
    kind: "template",
    help: helpText(container920),
  });
});

Deno.test("readInputs prints the facts' help for --help and -h and exits 0", async () => {
  for (const args of [["--help"], ["-h"], ["--help", "920", "950"]]) {
    assert.deepEqual(await answer(args), { stdout: [FACTS.help], stderr: [], code: 0 });
  }
});

Deno.test("readInputs prints the version line for --version and exits 0", async () => {
  assert.deepEqual(await answer(["--version"]), {
    stdout: ["phoenix_hypervisor_setup_920.sh (phoenix-setup 0.1.0) for container 920"],
    stderr: [],
    code: 0,
  });
});

Deno.test("readInputs returns the arguments of a setup of its own container", async () => {
  const args = await readInputs(FACTS, {
    args: ["--dry-run", "--report", "/tmp/r.json", "920"],
    env: {},
    invocation: { argv0: EXECUTABLE, execPath: EXECUTABLE },
  });
  assert.deepEqual(args, { action: "setup", ctid: "920", dryRun: true, reportFile: "/tmp/r.json" });
});

Deno.test("readInputs ends a command line it cannot parse as a failed run: usage, log, report, exit 1", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const env = { MAIN_LOG_FILE: join(dir, "log"), PHOENIX_REPORT_FILE: join(dir, "report.json") };
    const run = await answer(["--force", "920"], env);
    assert.equal(run.code, 1);
    assert.match(
      run.stderr[0],
      /^Usage: phoenix_hypervisor_setup_920\.sh \[--dry-run \| --check\]/,
    );
    const error = 'Unknown option "--force"; the options are --help, --version, --dry-run, ' +
      "--check, --refresh, --report <file>";
    const log = await logLines(env.MAIN_LOG_FILE);
    assert.equal(log.length, 3, log.join("\n"));
    assert.equal(log[0], `[ERROR] phoenix_hypervisor_setup_920.sh: ${error}`);
    assert.match(
      log[1],
      /^\[INFO\] phoenix_hypervisor_setup_920\.sh: Summary: 0 steps \(0 run, 0 already done, 0 failed\); no verification run; 0 pct calls; .* in total\.$/,
    );
    assert.equal(
      log[2],
      "[FATAL] phoenix_hypervisor_setup_920.sh: Setup for template 920 failed during argument " +
        "parsing. Exit code 1.",
    );
    const report = await validReport(env.PHOENIX_REPORT_FILE);
    assert.equal(report.exitCode, 1);
    assert.equal(report.outcome, "failed");
    assert.equal(report.kind, "template");
    assert.equal(report.dryRun, false);
    assert.deepEqual(report.steps, []);
    assert.deepEqual(report.error, { phase: "argument parsing", message: error });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readInputs refuses another CTID without the usage, reporting where --report says", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const report = join(dir, "report.json");
    const run = await answer(["--dry-run", "--report", report, "950"]);
    assert.equal(run.code, 1);
    assert.ok(!run.stderr.some((line) => line.includes("Usage:")), run.stderr.join("\n"));
    assert.match(
      run.stderr.join("\n"),
      /\[ERROR\] .*sets up container 920 only, but was asked for 950/,
    );
    const r = await validReport(report);
    assert.equal(r.error!.phase, "input validation");
    assert.equal(r.dryRun, false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
