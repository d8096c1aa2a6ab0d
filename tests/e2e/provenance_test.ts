/**
 * Templates that stay true, through the compiled executables against the fake pct: the stamp a
 * snapshot carries and the record a template holds, drift on re-run (version, plan, entry,
 * driver), a snapshot made by something else, `--check`, `--refresh` (with failures before and
 * after the old snapshot's removal), and a clone saying which template snapshot it came from.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import container920 from "../../containers/920.ts";
import { currentStamp, parseProvenance, stampLine } from "../../lib/pattern/provenance.ts";
import { callSummary } from "../fake_pct/calls.ts";
import { ContainerScenario, oneGpuConfig } from "../containers/_harness.ts";
import { assertExit } from "../support/assertions.ts";
import { REAL_HOSTS_AVAILABLE, realHostTree } from "../support/host_tree.ts";
import { validReport } from "../support/run_reports.ts";

/** The stamp 920's snapshot carries now: this version, 920's plan, its (empty) vllm settings. */
const STAMP_920 = stampLine(currentStamp(container920, { vllm: {} }));

/** A clone of the finished 901, as 920 starts. */
function fresh920(): Promise<ContainerScenario> {
  return ContainerScenario.of({ ctid: "920" });
}

/** Forgets the calls and log lines so far: what follows is the next run's alone. */
async function forgetSoFar(s: ContainerScenario): Promise<void> {
  await s.fake.clearCalls();
  await Deno.writeTextFile(s.logFile, "");
}

/** 920 after its first run: a complete template whose snapshot is stamped. */
async function complete920() {
  const s = await fresh920();
  assertExit(await s.run(), 0);
  await forgetSoFar(s);
  return s;
}

/** Replaces the description of `ctid`'s only snapshot (what an older or other maker left). */
async function describeSnapshot(s: ContainerScenario, description: string | undefined) {
  await s.fake.update((state) => {
    const snapshot = state.containers[s.ctid].snapshots[0];
    if (description === undefined) delete snapshot.description;
    else snapshot.description = description;
  });
}

/** The log file's WARN lines, without their timestamp and source. */
async function warnings(s: ContainerScenario): Promise<string[]> {
  return (await s.logLines()).filter((line) => line.includes(" [WARN] ")).map((line) =>
    line.replace(/^.*? \[WARN\] \S+: /, "")
  );
}

Deno.test("provenance: 920's snapshot carries the stamp, and the container the whole record", async () => {
  await using s = await fresh920();
  assertExit(await s.run(), 0);
  const state = (await s.fake.state()).containers["920"];
  assert.equal(state.snapshots.length, 1);
  assert.equal(state.snapshots[0].description, STAMP_920);
  assert.match(
    STAMP_920,
    /^phoenix-setup 0\.1\.0 plan=[0-9a-f]{12} entry=[0-9a-f]{12} parts=vllm$/,
  );
  // The record is in the snapshot itself, so every clone of it has it.
  const file = state.snapshots[0].files?.["/etc/phoenix-setup/provenance.json"];
  assert.ok(file, "the snapshot holds /etc/phoenix-setup/provenance.json");
  const record = parseProvenance(file.content ?? "");
  assert.ok(record, file.content);
  assert.equal(record.stamp, STAMP_920);
  assert.equal(record.ctid, "920");
  assert.equal(record.snapshot, "vllm-base-snapshot");
  assert.equal(record.version, "0.1.0");
  assert.deepEqual(record.parts, ["vllm"]);
  assert.deepEqual(record.setup.steps, container920.steps.map((step) => step.name));
  assert.equal(file.mode, "0644");
});

Deno.test("provenance: an in-sync re-run makes 2 pct calls and warns of nothing", async () => {
  await using s = await complete920();
  const run = await s.run();
  assertExit(run, 0);
  assert.deepEqual(callSummary(await s.calls()), ["status 920 --verbose", "listsnapshot 920"]);
  assert.deepEqual(await warnings(s), []);
  assert.match(
    run.stdout,
    /already complete: snapshot 'vllm-base-snapshot' exists\. Nothing to do\./,
  );
});

Deno.test("provenance: drift in version and plan is a warning each, exit 0, in the report", async () => {
  await using s = await complete920();
  const made = STAMP_920.replace("phoenix-setup 0.1.0", "phoenix-setup 0.0.9")
    .replace(/plan=[0-9a-f]{12}/, "plan=000000000000");
  await describeSnapshot(s, made);
  const report = join(s.dir, "report.json");
  const run = await s.run(["--report", report, "920"]);
  assertExit(run, 0);
  assert.deepEqual(callSummary(await s.calls()), ["status 920 --verbose", "listsnapshot 920"]);
  const plan = /plan=([0-9a-f]{12})/.exec(STAMP_920)![1];
  assert.deepEqual(await warnings(s), [
    "Snapshot 'vllm-base-snapshot' is out of date: made by phoenix-setup 0.0.9; this is 0.1.0",
    "Snapshot 'vllm-base-snapshot' is out of date: what the executable sets up changed " +
    `(plan 000000000000; now ${plan}), with the version`,
    "Clones of 'vllm-base-snapshot' get what made it, not what this executable makes now; to " +
    "rebuild it in place, run again with --refresh (or PHOENIX_REFRESH=true)",
  ]);
  assert.match(run.stdout, /It is out of date \(2 differences\); --refresh rebuilds it\./);
  const written = await validReport(report);
  assert.equal(written.outcome, "already-complete");
  assert.equal(written.exitCode, 0);
  assert.deepEqual(written.differences, [
    "made by phoenix-setup 0.0.9; this is 0.1.0",
    `what the executable sets up changed (plan 000000000000; now ${plan}), with the version`,
  ]);
  await s.assertNothingChanged();
});

Deno.test("provenance: a feature added to the entry since is named", async () => {
  await using s = await complete920();
  await describeSnapshot(s, STAMP_920.replace(" parts=vllm", ""));
  assertExit(await s.run(), 0);
  assert.deepEqual((await warnings(s)).slice(0, 1), [
    "Snapshot 'vllm-base-snapshot' is out of date: vllm added to the entry since",
  ]);
});

Deno.test("provenance: a snapshot without a stamp was made by something else, not drift", async () => {
  for (const description of [undefined, "vLLM 0.11 ready, made by hand"]) {
    await using s = await complete920();
    await describeSnapshot(s, description);
    const run = await s.run();
    assertExit(run, 0);
    const said = await warnings(s);
    assert.equal(said.length, 1, said.join("\n"));
    assert.match(
      said[0],
      /^Snapshot 'vllm-base-snapshot' was made by something else \(its description has no phoenix-setup stamp: ".*"\): whether it is what this executable makes cannot be told; --refresh rebuilds it with a stamp$/,
    );
    assert.doesNotMatch(said.join("\n"), /out of date/);
    await s.assertNothingChanged();
  }
});

Deno.test("provenance: --check answers 0 in sync, 12 with each difference, and changes nothing", async (t) => {
  await t.step("in sync", async () => {
    await using s = await complete920();
    const run = await s.run(["--check", "920"]);
    assertExit(run, 0);
    assert.match(run.stdout, /Check of template 920: it is what this executable makes\./);
    await s.assertNothingChanged();
  });
  await t.step("drifted", async () => {
    await using s = await complete920();
    await describeSnapshot(s, STAMP_920.replace("0.1.0", "0.0.9"));
    const report = join(s.dir, "report.json");
    const run = await s.run(["--check", "--report", report, "920"]);
    assertExit(run, 12);
    assert.match(
      run.stderr,
      /Check: snapshot 'vllm-base-snapshot': made by phoenix-setup 0\.0\.9; this is 0\.1\.0/,
    );
    assert.match(
      run.stderr,
      /Check of template 920: 1 difference; a run would change it\. Exit code 12\./,
    );
    const written = await validReport(report);
    assert.equal(written.outcome, "checked");
    assert.deepEqual(written.differences, [
      "snapshot 'vllm-base-snapshot': made by phoenix-setup 0.0.9; this is 0.1.0",
    ]);
    await s.assertNothingChanged();
  });
  await t.step("not set up yet", async () => {
    await using s = await fresh920();
    const run = await s.run(["--check", "920"]);
    assertExit(run, 12);
    assert.match(run.stderr, /Check: snapshot 'vllm-base-snapshot' does not exist yet/);
    assert.match(run.stderr, /Check: step 1 "Install Python 3 with venv and pip" is not done/);
    await s.assertNothingChanged();
  });
  await t.step("--check with --dry-run is refused", async () => {
    await using s = await fresh920();
    const run = await s.run(["--check", "--dry-run", "920"]);
    assertExit(run, 1);
    assert.match(run.stderr, /Options --check and --dry-run do not go together/);
    assert.deepEqual(await s.calls(), []);
  });
});

Deno.test("provenance: --refresh rebuilds the template and replaces its snapshot", async () => {
  await using s = await complete920();
  await describeSnapshot(s, "made by hand");
  const run = await s.run(["--refresh", "920"]);
  assertExit(run, 0);
  assert.match(
    run.stdout,
    /Setup for template 920 completed successfully\. Snapshot 'vllm-base-snapshot' replaced\./,
  );
  assert.deepEqual((await s.mutatingCalls()).map((argv) => argv.slice(0, 3).join(" ")), [
    "shutdown 920 --timeout",
    "delsnapshot 920 vllm-base-snapshot",
    "snapshot 920 vllm-base-snapshot",
    "start 920",
  ]);
  const state = (await s.fake.state()).containers["920"];
  assert.equal(state.status, "running");
  assert.deepEqual(state.snapshots.map((x) => [x.name, x.description]), [
    ["vllm-base-snapshot", STAMP_920],
  ]);
  // PHOENIX_REFRESH asks for the same.
  await s.fake.clearCalls();
  assertExit(await s.run(["920"], { env: { PHOENIX_REFRESH: "yes" } }), 0);
  assert.ok((await s.mutatingCalls()).some((argv) => argv[0] === "delsnapshot"));
});

Deno.test("provenance: --refresh failing before the old snapshot's removal leaves it and the container as they were", async () => {
  await using s = await complete920();
  await describeSnapshot(s, "made by hand");
  await s.fake.update((state) => {
    state.failures.push({ command: "shutdown", stderr: "container did not stop" });
  });
  const run = await s.run(["--refresh", "920"]);
  assertExit(run, 5);
  const state = (await s.fake.state()).containers["920"];
  assert.equal(state.status, "running");
  assert.deepEqual(state.snapshots.map((x) => [x.name, x.description]), [
    ["vllm-base-snapshot", "made by hand"],
  ]);
  assert.ok(!(await s.mutatingCalls()).some((argv) => argv[0] === "delsnapshot"));
});

Deno.test("provenance: --refresh failing after the old snapshot's removal leaves a verified, running container that the next run snapshots", async () => {
  await using s = await complete920();
  await describeSnapshot(s, "made by hand");
  await s.fake.update((state) => {
    state.failures.push({
      command: "snapshot",
      stderr: "snapshot feature is not available",
      times: 1,
    });
  });
  const run = await s.run(["--refresh", "920"]);
  assertExit(run, 6);
  assert.match(
    run.stderr,
    /the old snapshot is already removed: the container is set up and verified, and the next run takes the snapshot/,
  );
  let state = (await s.fake.state()).containers["920"];
  assert.equal(state.status, "running");
  assert.deepEqual(state.snapshots, []);
  const next = await s.run();
  assertExit(next, 0);
  assert.match(next.stdout, /Snapshot 'vllm-base-snapshot' created\./);
  state = (await s.fake.state()).containers["920"];
  assert.deepEqual(state.snapshots.map((x) => x.description), [STAMP_920]);
});

Deno.test("provenance: --dry-run --refresh prints the plan and changes nothing", async () => {
  await using s = await complete920();
  const run = await s.run(["--dry-run", "--refresh", "920"]);
  assertExit(run, 0);
  for (
    const line of [
      "[dry-run] Would record /etc/phoenix-setup/provenance.json in container 920",
      "[dry-run] Would shut down container 920 (timeout 60 s)",
      "[dry-run] Would remove the old snapshot 'vllm-base-snapshot'",
      "[dry-run] Would take snapshot 'vllm-base-snapshot' stamped with what made it",
      "[dry-run] Would start container 920 again",
    ]
  ) {
    assert.ok(run.stdout.includes(line), `${line}\n${run.stdout}`);
  }
  await s.assertNothingChanged();
});

Deno.test("provenance: a clone says which template snapshot it came from, and whether it was refreshed since", async () => {
  await using s = await complete920();
  const snapshot = (await s.fake.state()).containers["920"].snapshots[0];
  const record = snapshot.files!["/etc/phoenix-setup/provenance.json"];
  // 950 is cloned from 920's snapshot: it inherits the record.
  await s.fake.update((state) => {
    state.containers["950"] = {
      ...structuredClone(state.containers["920"]),
      snapshots: [],
      files: { ...state.containers["920"].files, "/etc/phoenix-setup/provenance.json": record },
    };
  });
  const check = async () => {
    const run = await s.run(["--check", "950"], { path: await cloneExecutable() });
    return run.stdout + run.stderr;
  };
  assert.match(
    await check(),
    /Check: cloned from template 920's snapshot 'vllm-base-snapshot' \(phoenix-setup [^)]+\), unchanged since/,
  );
  await describeSnapshot(s, STAMP_920.replace(/entry=\w+/, "entry=111111111111"));
  assert.match(
    await check(),
    /Check: cloned from template 920's snapshot 'vllm-base-snapshot' \(phoenix-setup [^)]+\), which has been refreshed since \(now phoenix-setup [^)]+entry=111111111111[^)]*\): a new clone would get the refreshed setup/,
  );
});

/** The compiled executable of 950, for runs against a scenario of 920's fake host. */
async function cloneExecutable(): Promise<string> {
  const { compiledExecutable } = await import("../support/executables.ts");
  return await compiledExecutable("950");
}

Deno.test({
  name: "provenance: 901 on the real H200 capture after a driver upgrade: re-run warns, --check " +
    "says 12, --refresh with the old config refuses before changing anything" +
    (REAL_HOSTS_AVAILABLE ? "" : " (skipped: ../shared/real-hosts is absent)"),
  ignore: !REAL_HOSTS_AVAILABLE,
  fn: async () => {
    const host = await realHostTree("nvidia-h200");
    try {
      await using s = await ContainerScenario.of({
        ctid: "901",
        hostRoot: host.root,
        config: oneGpuConfig("580.159.04"),
        simulation: { driverVersion: "580.159.04", gpus: 1 },
      });
      assertExit(await s.run(), 0);
      const made = (await s.fake.state()).containers["901"].snapshots[0].description!;
      assert.match(made, / driver=580\.159\.04 parts=nvidia$/);
      // The host's driver is upgraded: its version file now names another 580.x.
      const versionFile = join(host.root, "proc/driver/nvidia/version");
      await Deno.writeTextFile(
        versionFile,
        (await Deno.readTextFile(versionFile)).replace("580.159.04", "580.105.08"),
      );
      await forgetSoFar(s);
      const rerun = await s.run();
      assertExit(rerun, 0);
      assert.deepEqual(callSummary(await s.calls()), ["status 901 --verbose", "listsnapshot 901"]);
      assert.ok(
        (await warnings(s)).includes(
          "Snapshot 'gpu-snapshot' is out of date: made for NVIDIA driver 580.159.04; the host " +
            "runs 580.105.08",
        ),
        (await warnings(s)).join("\n"),
      );

      // With the config still naming the old driver, the host and the config disagree: --check
      // and --refresh say so (exit 8) and change nothing.
      await s.fake.clearCalls();
      for (const args of [["--check", "901"], ["--refresh", "901"]]) {
        const refused = await s.run(args);
        assertExit(refused, 8);
        assert.match(
          refused.stderr,
          /The config asks for NVIDIA driver 580\.159\.04, but the host's kernel module is 580\.105\.08: .*set nvidia_driver_version \(and nvidia_runfile_url\) to 580\.105\.08/,
        );
      }
      assert.deepEqual(await s.mutatingCalls(), []);
      assert.deepEqual(
        (await s.fake.state()).containers["901"].snapshots.map((x) => x.description),
        [made],
      );

      // The config follows the host. The simulated container learns the new runfile: installing
      // it makes nvidia-smi report 580.105.08.
      await Deno.writeTextFile(s.configFile, oneGpuConfig("580.105.08"));
      await s.fake.update((state) => {
        state.exec.unshift(
          {
            match: "^nvidia-smi --query-gpu=driver_version --format=csv,noheader$",
            when: "driver-580.105.08",
            stdout: "580.105.08\n",
          },
          {
            match: "^nvidia-smi --query-gpu=index,name,driver_version --format=csv,noheader$",
            when: "driver-580.105.08",
            stdout: "0, NVIDIA H200, 580.105.08\n",
          },
          {
            match: "^sh /tmp/NVIDIA-Linux-x86_64-580\\.105\\.08\\.run ",
            set: ["nvidia-driver", "driver-580.105.08"],
          },
        );
      });
      const check = await s.run(["--check", "901"]);
      assertExit(check, 12);
      for (
        const difference of [
          "snapshot 'gpu-snapshot': made for NVIDIA driver 580.159.04; the host runs 580.105.08",
          "snapshot 'gpu-snapshot': the settings from the config entry changed",
          'step 3 "Install the NVIDIA user-space driver',
        ]
      ) {
        assert.ok(check.stderr.includes(`Check: ${difference}`), `${difference}\n${check.stderr}`);
      }

      const refresh = await s.run(["--refresh", "901"]);
      assertExit(refresh, 0);
      assert.ok(
        (await s.execs()).some((argv) =>
          argv.join(" ").includes("NVIDIA-Linux-x86_64-580.105.08.run")
        ),
        "the new driver's runfile is installed",
      );
      const refreshed = (await s.fake.state()).containers["901"].snapshots;
      assert.equal(refreshed.length, 1);
      assert.match(refreshed[0].description ?? "", / driver=580\.105\.08 parts=nvidia$/);
      await forgetSoFar(s);
      assertExit(await s.run(), 0);
      assert.deepEqual(callSummary(await s.calls()), ["status 901 --verbose", "listsnapshot 901"]);
      assert.deepEqual(await warnings(s), []);
    } finally {
      await host.cleanup();
    }
  },
});
