/**
 * The compiled executable of 903 (BaseTemplateDockerGPU) against the fake pct, a simulated clone
 * of 902 and a host fixture with driver 580.76.05 and two GPUs: first run, re-run, dry run, each
 * verification failing, and what must stop it before any change.
 */

import assert from "node:assert/strict";
import { configText, ContainerScenario, containerTests, HOSTS, thenFails } from "./_harness.ts";
import { literally } from "../fake_pct/fake_pct.ts";
import { GPU_DEVICES } from "./_simulated_container.ts";
import { assertExit } from "../support/assertions.ts";

const SOURCE = "/etc/apt/sources.list.d/nvidia-container-toolkit.list";

containerTests({
  ctid: "903",
  pctCalls: { firstRun: 33, rerun: 2, dryRun: 3 },
  snapshot: "docker-gpu-snapshot",
  finished: { clonedFrom: "903" },
  verificationFailures: [
    {
      verification: "The container's NVIDIA driver matches the host's",
      exec: thenFails(
        literally("nvidia-smi --query-gpu=driver_version --format=csv,noheader"),
        { stdout: "580.76.05\n580.76.05\n" },
        {
          exit: 18,
          stdout: "Failed to initialize NVML: Driver/library version mismatch\n",
        },
      ),
      message:
        /Cannot read the NVIDIA driver version in container 903 \(NVML reports a driver\/library version mismatch\)/,
    },
    {
      verification:
        "docker run --rm --gpus all nvidia/cuda:12.8.0-base-ubuntu24.04 nvidia-smi succeeds",
      exec: [{
        // From the local image, then with a pull: both fail.
        match:
          "^docker run --rm (--pull never )?--gpus all nvidia/cuda:12\\.8\\.0-base-ubuntu24\\.04 " +
          "nvidia-smi$",
        exit: 125,
        stderr: "nvidia-container-cli: mount error: failed to add device rules: " +
          "bpf_prog_query(BPF_CGROUP_DEVICE) failed: operation not permitted\n",
      }],
      message: /bpf_prog_query\(BPF_CGROUP_DEVICE\) failed/,
    },
  ],
  afterFirstRun: async (s) => {
    const state = (await s.fake.state()).containers["903"];
    assert.deepEqual(state.files[SOURCE], {
      content: "deb [signed-by=/etc/apt/keyrings/nvidia-container-toolkit.asc] " +
        "https://developer.download.nvidia.com/compute/cuda/repos/ubuntu2404/x86_64/ /\n",
      mode: "0644",
    });
    assert.deepEqual(state.config, { features: "nesting=1", ...GPU_DEVICES });
    // The new apt source makes the package step update the lists again.
    const updates = (await s.callLines()).filter((line) => line.endsWith("apt-get update"));
    assert.equal(updates.length, 1);
  },
});

Deno.test("903: without nvidia_repo_url the toolkit comes from NVIDIA's own repository", async () => {
  await using s = await ContainerScenario.of({
    ctid: "903",
    config: configText({}, { nvidia_repo_url: undefined }),
  });
  assertExit(await s.run(), 0);
  const lines = await s.callLines();
  assert.ok(lines.includes(
    "pct exec 903 -- curl -fsSL --retry 3 -o /etc/apt/keyrings/nvidia-container-toolkit.asc " +
      "https://nvidia.github.io/libnvidia-container/gpgkey",
  ));
  assert.equal(
    (await s.fake.state()).containers["903"].files[SOURCE].content,
    "deb [signed-by=/etc/apt/keyrings/nvidia-container-toolkit.asc] " +
      "https://nvidia.github.io/libnvidia-container/stable/deb/$(ARCH) /\n",
  );
});

Deno.test("903: a host without the NVIDIA driver fails with exit 8 before any change", async () => {
  await using s = await ContainerScenario.of({ ctid: "903", hostRoot: HOSTS.noDriver });
  const run = await s.run();
  assertExit(run, 8);
  assert.match(run.stderr, /The host has no NVIDIA driver loaded/);
  // The other requirement (nesting=1, met) is checked too, so that all are reported at once.
  assert.deepEqual(await s.callLines(), [
    "pct status 903 --verbose",
    "pct listsnapshot 903",
    "pct config 903 --current 1",
  ]);
  assert.match(run.stdout, /Summary: 10 steps \(0 run, 1 already done, 1 failed, 8 not run\)/);
});

Deno.test("903: every requirement not met is reported in the same run, and nothing else counts as failed", async () => {
  await using s = await ContainerScenario.of({
    ctid: "903",
    hostRoot: HOSTS.noDriver,
    container: { config: { features: "keyctl=1" } },
  });
  const report = `${s.dir}/report.json`;
  const run = await s.run(["--report", report, "903"]);
  assertExit(run, 8);
  const errors = run.stderr.split("\n").filter((line) => / \[ERROR\] /.test(line));
  assert.equal(errors.length, 2, run.stderr);
  assert.match(errors[0], /Step 1\/10 "Check the host's NVIDIA driver": .*no NVIDIA driver loaded/);
  assert.match(
    errors[1],
    /Step 2\/10 .*: .*Container 903 does not have the feature nesting=1 .*\(1 more requirement is not met: see above\)$/,
  );
  assert.match(
    run.stdout,
    /\[INFO\] .*: Summary: 10 steps \(0 run, 0 already done, 2 failed, 8 not run\); no verification run; 4 pct calls; /,
  );
  assert.doesNotMatch(run.stdout + run.stderr, /produced|snapshot .* created/i);
  const r = JSON.parse(await Deno.readTextFile(report));
  assert.equal(r.outcome, "failed");
  assert.equal(r.produced, undefined);
  assert.deepEqual(
    r.steps.map((step: { status: string }) => step.status),
    ["failed", "failed", ...Array(8).fill("not-run")],
  );
  await s.assertNothingChanged();
});

Deno.test("903: a container without nesting=1 fails with exit 8 before any change", async () => {
  await using s = await ContainerScenario.of({
    ctid: "903",
    container: { config: { features: "" } },
  });
  const run = await s.run();
  assertExit(run, 8);
  assert.match(run.stderr, /Container 903 does not have the feature nesting=1/);
  assert.deepEqual(await s.mutatingCalls(), []);
});
