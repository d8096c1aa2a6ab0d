/**
 * The scenarios whose output the README and `docs/*.md` show (see `markdown_samples.ts`): each
 * runs the compiled executable against the fake `pct`, or `build.ts`, as a user would, checks
 * that it ended as the sample says it did, and returns what the user sees, normalised.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { ContainerScenario, TOP_LEVEL } from "../containers/_harness.ts";
import { eventually } from "../support/assertions.ts";
import { compiledExecutable, type Run, runBuild, runExecutable } from "../support/executables.ts";
import { PROBE_SCRIPT } from "../../lib/host/probe_batch.ts";
import { normalise } from "./markdown_samples.ts";
import { SimulatedCluster } from "../e2e/cluster/harness.ts";
import { clusterWith900, EXECUTABLE as EXECUTABLE_900 } from "../e2e/cluster/_template_900.ts";

/**
 * The console of template 900's first run started on node pve1 of the simulated cluster while
 * the container lives on pve2: this node's own lines, the first lines of the run there, then its
 * last two and this node's closing line.
 */
async function forwardedFirstRun(): Promise<string> {
  await using cluster = await clusterWith900({
    owner: "pve2",
    installedOn: ["pve1", "pve2"],
    nodes: ["pve1", "pve2"],
  });
  const run = await cluster.exec("pve1", [EXECUTABLE_900, "900"], { timeoutMs: 180_000 });
  assertEnded({ code: run.code, stdout: run.stdout, stderr: run.stderr }, 0, "900 from pve1");
  const lines = run.stdout.trimEnd().split("\n");
  const remote = lines.map((line, i) => [line, i] as const).filter(([l]) => l.includes(" [pve2] "));
  const firstRemote = remote[0][1];
  const lastRemote = remote.at(-1)![1];
  return normalise([
    ...lines.slice(0, firstRemote + 4),
    "...",
    ...lines.slice(lastRemote - 1),
  ].join("\n"));
}

/** One scenario: what it shows, and how to get it. */
export interface SampleScenario {
  /** What the sample is, for a reader of this registry. */
  readonly description: string;
  /** Runs it; resolves to the normalised text of the sample. */
  readonly run: () => Promise<string>;
  /**
   * Why it cannot run on this machine (e.g. a cluster needs root and sshd), or `undefined`; its
   * samples are then reported as ignored, and left as they are by `deno task samples`.
   */
  readonly unavailable?: () => Promise<string | undefined>;
}

/** A temporary folder, and its name as a sample shows it (the random part as `XXXXXX`). */
async function tempDir(prefix: string): Promise<{ path: string; names: Record<string, string> }> {
  const path = await Deno.makeTempDir({ prefix });
  return { path, names: { [path]: `/tmp/${prefix}` } };
}

/** Fails, with all it printed, unless `run` exited with `code`. */
function assertEnded(run: Run, code: number, what: string): void {
  assert.equal(
    run.code,
    code,
    `${what}: exit ${run.code}, wanted ${code}\n${run.stdout}\n${run.stderr}`,
  );
}

/** What a first run of template 920 left: the console, the log file and the run report. */
interface FirstRun {
  readonly console: string;
  readonly logFile: string;
  readonly report: string;
}

const PIP_INSTALL = "^/opt/vllm/bin/pip install --no-input vllm$";
const PIP_HEARTBEAT = "Still running: /opt/vllm/bin/pip install";
/** How many heartbeats the `pip install` of the first run is held for. */
const HEARTBEATS = 1;

let firstRun920: Promise<FirstRun> | undefined;

/**
 * A first run of template 920, cloned from 901: its `pip install` prints two lines, then runs
 * until the log has {@linkcode HEARTBEATS} of its heartbeats (the fake's `releasedBy`), so that
 * their number does not depend on the machine's speed. The interval is the default (10 s): with a
 * short one, any other call that a busy machine makes slow would have a heartbeat too. One run
 * serves every sample of it.
 */
function firstRun(): Promise<FirstRun> {
  return firstRun920 ??= (async () => {
    const own = await tempDir("phoenix-samples-");
    const release = join(own.path, "release-pip");
    const report = join(own.path, "report.json");
    try {
      await using s = await ContainerScenario.of({
        ctid: "920",
        exec: [{
          match: PIP_INSTALL,
          when: "venv",
          set: ["pip:vllm"],
          progress: "Collecting vllm\nCollecting torch==2.8.0\n",
          delayMs: 60_000,
          releasedBy: release,
        }],
      });
      const child = await s.spawn(["--report", report, "920"]);
      let ended = false;
      const output = child.output().finally(() => ended = true);
      const beats = async () =>
        (await s.logLines()).filter((l) => l.includes(PIP_HEARTBEAT)).length;
      // Until the heartbeats are logged, or the run ended without them (then its exit code and
      // output say why).
      await eventually(
        async () => ended || await beats() >= HEARTBEATS,
        `${HEARTBEATS} heartbeat(s) of the pip install in the log`,
        60_000,
      ).finally(() => Deno.writeTextFile(release, ""));
      const done = await output;
      const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
      const run = { code: done.code, stdout: decode(done.stdout), stderr: decode(done.stderr) };
      assertEnded(run, 0, "920's first run");
      assert.equal(run.stderr, "");
      const names = { ...own.names, [s.dir]: "/tmp/phoenix-scenario-" };
      return {
        console: normalise(run.stdout.trimEnd(), names),
        logFile: normalise(await Deno.readTextFile(s.logFile), names),
        report: normalise(
          compactJson(namingTheBatchScript(JSON.parse(await Deno.readTextFile(report)))),
          names,
        ),
      };
    } finally {
      await Deno.remove(own.path, { recursive: true });
    }
  })();
}

/** How the report sample shows {@linkcode PROBE_SCRIPT}, the same in every batch of checks. */
const BATCH_SCRIPT = "<PROBE_SCRIPT of lib/host/probe_batch.ts>";

/**
 * The report with the batch of checks' script (a constant, the same in every batch) named instead of quoted
 * in each call's argv; the words the batch carries stay.
 */
function namingTheBatchScript(report: { pctCalls: { argv: string[] }[] }): unknown {
  for (const call of report.pctCalls) {
    call.argv = call.argv.map((word) => word === PROBE_SCRIPT ? BATCH_SCRIPT : word);
  }
  return report;
}

/**
 * JSON with a top-level object's fields one a line, and each element of an array one a line:
 * the run report as the program writes it, but short enough to read (the same content).
 */
function compactJson(value: unknown, indent = ""): string {
  const inner = indent + "  ";
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    return `[\n${value.map((item) => inner + oneLine(item)).join(",\n")}\n${indent}]`;
  }
  if (value !== null && typeof value === "object") {
    const fields = Object.entries(value).map(([key, field]) =>
      `${inner}${JSON.stringify(key)}: ${compactJson(field, inner)}`
    );
    return `{\n${fields.join(",\n")}\n${indent}}`;
  }
  return JSON.stringify(value);
}

/** `value` as JSON on one line, with a space after each `:` and `,` between fields. */
function oneLine(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(oneLine).join(", ")}]`;
  if (value !== null && typeof value === "object") {
    return `{${
      Object.entries(value).map(([key, field]) => `${JSON.stringify(key)}: ${oneLine(field)}`)
        .join(", ")
    }}`;
  }
  return JSON.stringify(value);
}

/**
 * The lines of `log` from the first one of step `step`'s to its `done in` line (both included).
 */
function stepLines(log: string, step: string): string {
  const lines = log.split("\n");
  const first = lines.findIndex((l) => l.includes(`: Step ${step}`));
  const last = lines.findIndex((l, i) =>
    i > first && new RegExp(`: Step ${step} ".*": done in `).test(l)
  );
  assert.ok(first >= 0 && last > first, `step ${step} in the log:\n${log}`);
  return lines.slice(first, last + 1).join("\n");
}

/** A config of four containers, as the latest real config has them (fields that matter here). */
const BUILD_CONFIG = {
  nvidia_driver_version: TOP_LEVEL.nvidia_driver_version,
  nvidia_runfile_url: TOP_LEVEL.nvidia_runfile_url,
  lxc_configs: {
    "900": {
      name: "Copy-Base",
      is_template: true,
      gpu_assignment: "none",
      features: ["base_setup"],
    },
    "911": {
      name: "Copy-VLLM-GPU0",
      is_template: true,
      clone_from_ctid: "901",
      gpu_assignment: "0",
      features: ["nvidia", "vllm", "trusted_ca", "step_cli"],
    },
    "914": {
      name: "ollama-gpu0",
      clone_from_ctid: "901",
      gpu_assignment: "0",
      features: ["nvidia", "ollama"],
      application_script: "phoenix_hypervisor_lxc_955.sh",
      ports: ["11434:11434"],
    },
    "103": {
      name: "Step-CA",
      clone_from_ctid: "900",
      gpu_assignment: "none",
      features: ["base_setup", "step_ca"],
      application_script: "phoenix_hypervisor_lxc_103.sh",
    },
  },
};

/** The scenarios by the name a sample's marker gives. */
export const SCENARIOS: Readonly<Record<string, SampleScenario>> = {
  "900-cluster-forwarded": {
    description: "the console of template 900's first run started on node pve1 of the " +
      "simulated cluster (tests/e2e/cluster) while the container lives on pve2: an excerpt",
    run: forwardedFirstRun,
    unavailable: () => SimulatedCluster.available(),
  },
  "920-usage": {
    description: "the first two lines of `phoenix_hypervisor_setup_920.sh --help`: its usage",
    run: async () => {
      const help = await runExecutable(await compiledExecutable("920"), ["--help"], {});
      assertEnded(help, 0, "920 --help");
      return normalise(help.stdout.split("\n").slice(0, 2).join("\n"));
    },
  },
  "920-log-line": {
    description: "the first `pct status` line of 920's first run (below), as the log file has it",
    run: async () => {
      const line = (await firstRun()).logFile.split("\n").find((l) =>
        /\[INFO\] .*: pct status 920 \(exit /.test(l)
      );
      assert.ok(line, "a pct status line in the log");
      return line;
    },
  },
  "920-first-run": {
    description: "the console of a first run of template 920 (cloned from 901) against the fake " +
      "pct, its pip install held until its first heartbeat",
    run: async () => (await firstRun()).console,
  },
  "920-first-run-log-pip": {
    description: "the same run's log file, from the first line of step 3 (pip install) to its end",
    run: async () => stepLines((await firstRun()).logFile, "3/4"),
  },
  "920-first-run-report": {
    description: "the run report the same run wrote (--report), each step, verification and pct " +
      "call on one line",
    run: async () => (await firstRun()).report,
  },
  "build-config-listing": {
    description: "what `build.ts --config FILE` prints first: one line per CTID of a config of " +
      "four (run with --ctid of the skipped one, so that nothing is compiled)",
    run: async () => {
      const dir = await tempDir("phoenix-samples-");
      try {
        const config = join(dir.path, "phoenix_lxc_configs.json");
        await Deno.writeTextFile(config, JSON.stringify(BUILD_CONFIG, null, 2) + "\n");
        const build = await runBuild([
          "--config",
          config,
          "--ctid",
          "103",
          "--out",
          join(dir.path, "dist"),
        ]);
        assertEnded(build, 1, "build --config --ctid 103");
        assert.match(build.stderr, /Nothing to build for container 103/);
        return normalise(build.stdout.trimEnd(), dir.names);
      } finally {
        await Deno.remove(dir.path, { recursive: true });
      }
    },
  },
};
