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
  const dir = await Deno.makeTempDir();
  try {
    const report = join(dir, "r.json");
    const args = await readInputs(FACTS, {
      args: ["--dry-run", "--report", report, "920"],
      env: {},
      invocation: { argv0: EXECUTABLE, execPath: EXECUTABLE },
    });
    assert.deepEqual(args, { action: "setup", ctid: "920", dryRun: true, reportFile: report });
    // Checked by creating it, and not left behind: the run writes it at its end.
    assert.deepEqual([...Deno.readDirSync(dir)], []);
    // An existing report is checked without being changed.
    await Deno.writeTextFile(report, "{}\n");
    await readInputs(FACTS, {
      args: ["920"],
      env: { PHOENIX_REPORT_FILE: report },
      invocation: { argv0: EXECUTABLE, execPath: EXECUTABLE },
    });
    assert.equal(await Deno.readTextFile(report), "{}\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readInputs refuses a report file it cannot write, in plain words, with exit 1", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cases: [string[], Record<string, string>, RegExp][] = [
      [
        ["--report", join(dir, "missing", "r.json"), "920"],
        {},
        /Cannot write the run report to ".*\/missing\/r\.json" \(--report\): its directory does not exist\. Give a file in a directory this user can write, or leave --report out$/,
      ],
      [
        ["920"],
        { PHOENIX_REPORT_FILE: dir },
        /Cannot write the run report to ".*" \(PHOENIX_REPORT_FILE\): it is a directory, not a file\. .* or leave PHOENIX_REPORT_FILE out$/,
      ],
    ];
    for (const [args, env, message] of cases) {
      const log = join(dir, "log");
      const run = await answer(args, { ...env, MAIN_LOG_FILE: log });
      assert.equal(run.code, 1);
      assert.ok(!run.stderr.some((line) => line.includes("Usage:")), run.stderr.join("\n"));
      const lines = await logLines(log);
      assert.match(lines[0], /^\[ERROR\] /);
      assert.match(lines[0], message);
      assert.match(lines.at(-1)!, /failed during checking the report file\. Exit code 1\.$/);
      assert.ok(
        !lines.some((line) =>
          line.includes("Cannot write the run report") && line.includes("WARN")
        ),
      );
      await Deno.remove(log);
    }
    assert.deepEqual([...Deno.readDirSync(dir)], [], "nothing written");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
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
