import assert from "node:assert/strict";
import { SetupError } from "../../../lib/core/errors.ts";
import { ExitCode } from "../../../lib/core/exit_codes.ts";
import { runSteps } from "../../../lib/pattern/run_steps.ts";
import {
  deviceEntries,
  devicePath,
  gpuPassthrough,
  neededGpuDevices,
  planPassthrough,
} from "../../../lib/steps/gpu.ts";
import { rejectsWith, stepCounts } from "../../support/assertions.ts";
import { HOST_FIXTURES, hostTree } from "../../support/host_tree.ts";
import { STEP_CTID, stepContext, stepPct } from "../../support/step_container.ts";

const hostRoot = HOST_FIXTURES.gpu580;

Deno.test("devicePath takes the path part of a devN value", () => {
  assert.equal(devicePath("/dev/nvidia0"), "/dev/nvidia0");
  assert.equal(devicePath("/dev/nvidia0,gid=44"), "/dev/nvidia0");
  assert.equal(devicePath("path=/dev/nvidia-uvm,mode=0666"), "/dev/nvidia-uvm");
  assert.equal(devicePath("mode=0666,path=/dev/nvidiactl"), "/dev/nvidiactl");
  assert.equal(devicePath("gid=44"), undefined);
  assert.deepEqual(
    deviceEntries(
      new Map([["dev0", ["/dev/nvidia0,gid=44"]], ["dev10", ["/dev/dri/card0"]], [
        "devices",
        ["x"],
      ], ["memory", ["4096"]]]),
    ),
    new Map([["dev0", "/dev/nvidia0"], ["dev10", "/dev/dri/card0"]]),
  );
});

Deno.test("planPassthrough fills free devN slots and drops GPUs not assigned", () => {
  const entries = new Map([
    ["dev0", "/dev/dri/renderD128"],
    ["dev1", "/dev/nvidia1"],
    ["dev3", "/dev/nvidiactl"],
  ]);
  assert.deepEqual(
    planPassthrough(entries, [
      "/dev/nvidia0",
      "/dev/nvidiactl",
      "/dev/nvidia-uvm",
      "/dev/nvidia-uvm-tools",
    ]),
    {
      add: { dev2: "/dev/nvidia0", dev4: "/dev/nvidia-uvm", dev5: "/dev/nvidia-uvm-tools" },
      remove: ["dev1"],
    },
  );
});

Deno.test("neededGpuDevices names per-GPU and control nodes, modeset only when the host has it", async () => {
  assert.deepEqual(await neededGpuDevices(hostRoot, [1, 0]), [
    "/dev/nvidia1",
    "/dev/nvidia0",
    "/dev/nvidiactl",
    "/dev/nvidia-uvm",
    "/dev/nvidia-uvm-tools",
  ]);
  const host = await hostTree({
    "proc/driver/nvidia/version": "NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.76.05  x\n",
    "dev/nvidia0": "",
    "dev/nvidiactl": "",
    "dev/nvidia-uvm": "",
    "dev/nvidia-uvm-tools": "",
    "dev/nvidia-modeset": "",
  });
  try {
    assert.deepEqual((await neededGpuDevices(host.root, [0])).at(-1), "/dev/nvidia-modeset");
  } finally {
    await host.cleanup();
  }
  await assert.rejects(() => neededGpuDevices(hostRoot, []), RangeError);
  await assert.rejects(() => neededGpuDevices(hostRoot, [Number.NaN]), RangeError);
});

Deno.test("neededGpuDevices fails early, naming what the host lacks", async () => {
  const error = await rejectsWith(neededGpuDevices(hostRoot, [0, 2]), SetupError);
  assert.equal(error.exitCode, ExitCode.HostPrerequisite);
  assert.match(
    error.message,
    new RegExp(`^The host lacks ${hostRoot}dev/nvidia2, needed to pass GPU 0, 2 through`),
  );
  await assert.rejects(
    () => neededGpuDevices(HOST_FIXTURES.noDriver, [0]),
    /The host has no NVIDIA driver loaded/,
  );
});

const ALL_FOR_GPU_0 = {
  dev0: "/dev/nvidia0",
  dev1: "/dev/nvidiactl",
  dev2: "/dev/nvidia-uvm",
  dev3: "/dev/nvidia-uvm-tools",
};

Deno.test("gpuPassthrough adds the entries of a stopped container in one pct set, without restarting it", async () => {
  const pct = stepPct({ status: "stopped", config: { hostname: "gpu", memory: "4096" } });
  const ctx = stepContext(pct, { hostRoot });
  assert.deepEqual(stepCounts(await runSteps([gpuPassthrough([0])], ctx, { dryRun: false })), {
    ran: 1,
    skipped: 0,
  });
  assert.deepEqual(pct.mutatingCalls(), [[
    "set",
    "901",
    "--dev0",
    "/dev/nvidia0",
    "--dev1",
    "/dev/nvidiactl",
    "--dev2",
    "/dev/nvidia-uvm",
    "--dev3",
    "/dev/nvidia-uvm-tools",
  ]]);
  assert.equal(pct.container(STEP_CTID).status, "stopped");
});

Deno.test("gpuPassthrough restarts a running container after changing its devices", async () => {
  const pct = stepPct({ status: "running", config: { hostname: "gpu" } });
  const ctx = stepContext(pct, { hostRoot });
  await runSteps([gpuPassthrough([0, 1], { shutdownTimeoutSeconds: 30 })], ctx, { dryRun: false });
  assert.deepEqual(pct.mutatingCalls().map((argv) => argv.slice(0, 4)), [
    ["set", "901", "--dev0", "/dev/nvidia0"],
    ["shutdown", "901", "--timeout", "30"],
    ["start", "901"],
  ]);
  assert.equal(pct.container(STEP_CTID).config.dev1, "/dev/nvidia1");
  assert.equal(pct.container(STEP_CTID).status, "running");
  assert.ok(
    ctx.log.messages("info").includes(
      "Restarting container 901 so that its new devices appear inside",
    ),
  );
});

Deno.test("gpuPassthrough changes nothing when every device has an entry, options included", async () => {
  const pct = stepPct({
    config: {
      dev0: "/dev/nvidia0,gid=44",
      dev1: "path=/dev/nvidiactl",
      dev2: "/dev/nvidia-uvm,mode=0666",
      dev3: "/dev/nvidia-uvm-tools",
      dev4: "/dev/dri/renderD128",
    },
  });
  assert.deepEqual(
    stepCounts(
      await runSteps([gpuPassthrough([0])], stepContext(pct, { hostRoot }), { dryRun: false }),
    ),
    {
      ran: 0,
      skipped: 1,
    },
  );
  assert.deepEqual(pct.calls().map((call) => call.argv), [[
    "pct",
    "config",
    "901",
    "--current",
    "1",
  ]]);
});

Deno.test("gpuPassthrough adds only what is missing and removes a GPU not assigned", async () => {
  const pct = stepPct({
    status: "stopped",
    config: { dev0: "/dev/nvidia1", dev1: "/dev/nvidiactl", dev2: "/dev/dri/renderD128" },
  });
  const step = gpuPassthrough<{ gpus: number[] }>((ctx) => ctx.settings.gpus);
  const ctx = stepContext(pct, { hostRoot, settings: { gpus: [0] } });
  await runSteps([step], ctx, { dryRun: false });
  assert.deepEqual(pct.mutatingCalls(), [[
    "set",
    "901",
    "--dev3",
    "/dev/nvidia0",
    "--dev4",
    "/dev/nvidia-uvm",
    "--dev5",
    "/dev/nvidia-uvm-tools",
    "--delete",
    "dev0",
  ]]);
  assert.deepEqual(pct.container(STEP_CTID).config, {
    dev1: "/dev/nvidiactl",
    dev2: "/dev/dri/renderD128",
    dev3: "/dev/nvidia0",
    dev4: "/dev/nvidia-uvm",
    dev5: "/dev/nvidia-uvm-tools",
  });
});

Deno.test("gpuPassthrough reports a failed restart with the lifecycle code", async () => {
  const pct = stepPct({ status: "running", config: { ...ALL_FOR_GPU_0 } });
  delete pct.container(STEP_CTID).config.dev3;
  pct.failNext("shutdown", { stderr: "container did not stop" });
  const error = await rejectsWith(
    runSteps([gpuPassthrough([0])], stepContext(pct, { hostRoot }), { dryRun: false }),
    SetupError,
  );
  assert.equal(error.exitCode, ExitCode.Lifecycle);
  assert.match(
    error.message,
    /Cannot restart container 901 after changing its devices: .*container did not stop/,
  );
});

Deno.test("gpuPassthrough records a restart that stopped the container but could not start it", async () => {
  const pct = stepPct({ status: "running", config: { ...ALL_FOR_GPU_0 } });
  delete pct.container(STEP_CTID).config.dev3;
  pct.failNext("start", { stderr: "CT is locked (mounted)" });
  const ctx = stepContext(pct, { hostRoot });
  await rejectsWith(runSteps([gpuPassthrough([0])], ctx, { dryRun: false }), SetupError);
  assert.equal(pct.container(STEP_CTID).status, "stopped");
  // What the flow's failure path and the signal handler read to start it again.
  assert.deepEqual(ctx.power, { stoppedByUs: true, startedByUs: false });
});

Deno.test("gpuPassthrough leaves the power record clean after a successful restart", async () => {
  const pct = stepPct({ status: "running", config: { hostname: "gpu" } });
  const ctx = stepContext(pct, { hostRoot });
  await runSteps([gpuPassthrough([0])], ctx, { dryRun: false });
  assert.deepEqual(ctx.power, { stoppedByUs: false, startedByUs: false });
});

Deno.test("gpuPassthrough fails before any pct call on a host without the driver", async () => {
  const pct = stepPct();
  await assert.rejects(
    () =>
      runSteps([gpuPassthrough([0])], stepContext(pct, { hostRoot: HOST_FIXTURES.noDriver }), {
        dryRun: true,
      }),
    (error: SetupError) => error.exitCode === ExitCode.HostPrerequisite,
  );
  assert.deepEqual(pct.calls(), []);
});
