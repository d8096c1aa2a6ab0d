import assert from "node:assert/strict";
import { SetupError } from "../../../lib/core/errors.ts";
import { ExitCode } from "../../../lib/core/exit_codes.ts";
import { runSteps } from "../../../lib/pattern/run_steps.ts";
import {
  hostNvidiaDevices,
  hostNvidiaDriverVersion,
  nvidiaHostDriver,
  nvidiaSmiWorks,
  nvidiaUserspaceDriver,
  nvidiaVersionsMatch,
  parseDriverVersion,
  runfileUrlFor,
} from "../../../lib/steps/nvidia.ts";
import {
  type ExecReply,
  type ExecRule,
  type InMemoryPct,
  literally,
} from "../../fake_pct/in_memory.ts";
import {
  HOST_FIXTURES,
  hostTree,
  REAL_HOSTS_AVAILABLE,
  realHostTree,
} from "../../support/host_tree.ts";
import { STEP_CTID, stepContext, stepPct } from "../../support/step_container.ts";
import { stepCounts } from "../../support/assertions.ts";

const RUNFILE_URL =
  "https://us.download.nvidia.com/XFree86/Linux-x86_64/580.76.05/NVIDIA-Linux-x86_64-580.76.05.run";
const QUERY = "nvidia-smi --query-gpu=driver_version --format=csv,noheader";

const isHostPrerequisite = (pattern: RegExp) => (error: SetupError) => {
  assert.ok(error instanceof SetupError, String(error));
  assert.equal(error.exitCode, ExitCode.HostPrerequisite);
  assert.match(error.message, pattern);
  return true;
};

Deno.test("parseDriverVersion reads the proprietary and the open kernel module's line", () => {
  assert.equal(
    parseDriverVersion(
      "NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.76.05  Thu Jul 24 18:36:23 UTC 2025\n" +
        "GCC version:  gcc version 12.2.0 (Debian 12.2.0-14+deb12u1)\n",
    ),
    "580.76.05",
  );
  assert.equal(
    parseDriverVersion(
      "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  570.133.20  Release Build  " +
        "(dvs-builder@U16-I3-B03-4-3)  Fri Mar 14 19:03:35 UTC 2025\n",
    ),
    "570.133.20",
  );
  assert.equal(parseDriverVersion("GCC version: 12.2.0\n"), undefined);
});

Deno.test("hostNvidiaDriverVersion reads the version under the host root", async () => {
  assert.equal(await hostNvidiaDriverVersion(HOST_FIXTURES.gpu580), "580.76.05");
});

Deno.test("hostNvidiaDriverVersion fails with the host-prerequisite code when no driver is loaded", async () => {
  const path = `${HOST_FIXTURES.noDriver}proc/driver/nvidia/version`;
  await assert.rejects(
    () => hostNvidiaDriverVersion(HOST_FIXTURES.noDriver),
    isHostPrerequisite(
      new RegExp(
        `^The host has no NVIDIA driver loaded \\(${path} missing\\): install the NVIDIA ` +
          "driver on the Proxmox host first$",
      ),
    ),
  );
});

Deno.test("hostNvidiaDriverVersion refuses a version file it cannot read", async () => {
  const host = await hostTree({ "proc/driver/nvidia/version": "garbage\n" });
  try {
    await assert.rejects(
      () => hostNvidiaDriverVersion(host.root),
      isHostPrerequisite(/Cannot read the host's NVIDIA driver version .* found "garbage"/),
    );
  } finally {
    await host.cleanup();
  }
});

Deno.test("hostNvidiaDevices lists the device nodes present, GPUs in numeric order", async () => {
  assert.deepEqual(await hostNvidiaDevices(HOST_FIXTURES.gpu580), [
    "/dev/nvidia0",
    "/dev/nvidia1",
    "/dev/nvidiactl",
    "/dev/nvidia-uvm",
    "/dev/nvidia-uvm-tools",
  ]);
  assert.deepEqual(await hostNvidiaDevices(HOST_FIXTURES.noDriver), []);
  assert.deepEqual(await hostNvidiaDevices("/nonexistent-host-root"), []);
  const host = await hostTree({
    "dev/nvidia10": "",
    "dev/nvidia2": "",
    "dev/nvidia-modeset": "",
    "dev/nvidiactl": "",
    "dev/nvidia-caps/nvidia-cap1": "",
  });
  try {
    assert.deepEqual(await hostNvidiaDevices(host.root), [
      "/dev/nvidia2",
      "/dev/nvidia10",
      "/dev/nvidiactl",
      "/dev/nvidia-modeset",
    ]);
  } finally {
    await host.cleanup();
  }
});

/**
 * A container where the runfile installs driver `installs` (which nvidia-smi then reports);
 * `first` are exec rules that win over these.
 */
function driverCt(
  options: { smi?: string[]; installs?: string; first?: ExecRule[] } = {},
): InMemoryPct {
  let versions = options.smi;
  return stepPct({
    exec: [
      ...options.first ?? [],
      {
        match: literally(QUERY),
        reply: () =>
          versions
            ? { stdout: versions.map((v) => `${v}\n`).join("") }
            : { exit: 127, stderr: 'Failed to exec "nvidia-smi"\n' },
      },
      {
        match: "^curl -fsSL --retry 3 -o ",
        reply: (argv, container) => {
          container.files[argv[5]] = { content: "#!/bin/sh\n", mode: "0644" };
          return {};
        },
      },
      {
        match: "^sh /tmp/NVIDIA-Linux-x86_64-",
        reply: () => {
          versions = [options.installs ?? "580.76.05", options.installs ?? "580.76.05"];
          return { stdout: "Verifying archive integrity... OK\n" };
        },
      },
    ],
  });
}

Deno.test("nvidiaUserspaceDriver installs the host's version from the runfile, and then is done", async () => {
  const pct = driverCt();
  const ctx = stepContext(pct, { hostRoot: HOST_FIXTURES.gpu580 });
  const step = nvidiaUserspaceDriver({ version: "580.76.05", runfileUrl: RUNFILE_URL });
  assert.deepEqual(stepCounts(await runSteps([step], ctx, { dryRun: false })), {
    ran: 1,
    skipped: 0,
  });
  const runfile = "/tmp/NVIDIA-Linux-x86_64-580.76.05.run";
  assert.deepEqual(pct.execs(), [
    QUERY.split(" "),
    ["curl", "-fsSL", "--retry", "3", "-o", runfile, RUNFILE_URL],
    ["sh", runfile, "--no-kernel-module", "--silent", "--no-questions", "--ui=none"],
    ["rm", "-f", runfile],
    QUERY.split(" "),
  ]);
  assert.equal(runfile in pct.container(STEP_CTID).files, false);
  pct.clearCalls();
  assert.deepEqual(stepCounts(await runSteps([step], ctx, { dryRun: false })), {
    ran: 0,
    skipped: 1,
  });
  assert.deepEqual(pct.execLines(), [QUERY]);
});

Deno.test("nvidiaUserspaceDriver is not done when one GPU reports another version", async () => {
  const ctx = stepContext(driverCt({ smi: ["580.76.05", "575.64.05"] }), {
    hostRoot: HOST_FIXTURES.gpu580,
  });
  assert.equal(await nvidiaUserspaceDriver({ runfileUrl: RUNFILE_URL }).check(ctx), false);
});

Deno.test("nvidiaUserspaceDriver refuses a configured version other than the host's", async () => {
  const pct = driverCt();
  const step = nvidiaUserspaceDriver<{ driver: string }>({
    version: (ctx) => ctx.settings.driver,
    runfileUrl: RUNFILE_URL.replaceAll("580.76.05", "580.76.06"),
  });
  await assert.rejects(
    () =>
      runSteps(
        [step],
        stepContext(pct, { hostRoot: HOST_FIXTURES.gpu580, settings: { driver: "580.76.06" } }),
        {
          dryRun: false,
        },
      ),
    isHostPrerequisite(
      /config asks for NVIDIA driver 580\.76\.06, but the host's kernel module is 580\.76\.05/,
    ),
  );
  assert.deepEqual(pct.execs(), []);
});

Deno.test("nvidiaUserspaceDriver fails early on a host without the driver, also in a dry run", async () => {
  const pct = driverCt();
  await assert.rejects(
    () =>
      runSteps(
        [nvidiaUserspaceDriver({ runfileUrl: RUNFILE_URL })],
        stepContext(pct, { hostRoot: HOST_FIXTURES.noDriver }),
        {
          dryRun: true,
        },
      ),
    isHostPrerequisite(/The host has no NVIDIA driver loaded/),
  );
  assert.deepEqual(pct.execs(), []);
});

Deno.test("runfileUrlFor fills {version} and refuses a URL for another version", () => {
  assert.equal(
    runfileUrlFor("https://example.org/{version}/NVIDIA-Linux-x86_64-{version}.run", "580.76.05"),
    RUNFILE_URL.replace(
      "https://us.download.nvidia.com/XFree86/Linux-x86_64",
      "https://example.org",
    ),
  );
  assert.equal(runfileUrlFor(RUNFILE_URL, "580.76.05"), RUNFILE_URL);
  assert.throws(() => runfileUrlFor(RUNFILE_URL, "580.82.07"), /is not for driver 580\.82\.07/);
});

Deno.test("nvidiaUserspaceDriver removes the runfile when the installer fails", async () => {
  const pct = driverCt({
    first: [{
      match: "^sh ",
      exit: 1,
      stderr: "ERROR: An NVIDIA kernel module 'nvidia' appears to be already loaded\n",
    }],
  });
  const step = nvidiaUserspaceDriver({ runfileUrl: RUNFILE_URL });
  await assert.rejects(
    () => step.action(stepContext(pct, { hostRoot: HOST_FIXTURES.gpu580 })),
    /appears to be already loaded/,
  );
  assert.equal(pct.execLines().at(-1), "rm -f /tmp/NVIDIA-Linux-x86_64-580.76.05.run");
});

const LIST = "nvidia-smi --query-gpu=index,name,driver_version --format=csv,noheader";

Deno.test("nvidiaSmiWorks needs nvidia-smi to list the GPUs", async () => {
  const two = stepPct({
    exec: [{
      match: literally(LIST),
      stdout:
        "0, NVIDIA GeForce RTX 5060 Ti, 580.76.05\n1, NVIDIA GeForce RTX 5060 Ti, 580.76.05\n",
    }],
  });
  const ctx = stepContext(two);
  await nvidiaSmiWorks({ gpus: 2 }).run(ctx);
  assert.ok(ctx.log.messages("info")[1].startsWith("GPUs in container 901: 0, NVIDIA GeForce"));
  await assert.rejects(
    () => nvidiaSmiWorks({ gpus: 1 }).run(stepContext(two)),
    /lists 2 GPU\(s\), expected 1/,
  );
  const none = stepPct({ exec: [{ match: literally(LIST), stdout: "\n" }] });
  await assert.rejects(() => nvidiaSmiWorks().run(stepContext(none)), /lists no GPU/);
  const broken = stepPct({
    exec: [{
      match: literally(LIST),
      exit: 9,
      stdout: "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\n",
    }],
  });
  await assert.rejects(() => nvidiaSmiWorks().run(stepContext(broken)), /couldn't communicate/);
});

Deno.test("nvidiaVersionsMatch names both versions when they differ", async () => {
  const hostRoot = HOST_FIXTURES.gpu580;
  const smiSays = (answer: ExecReply) =>
    stepContext(stepPct({ exec: [{ match: literally(QUERY), ...answer }] }), { hostRoot });
  await nvidiaVersionsMatch().run(smiSays({ stdout: "580.76.05\n" }));
  await assert.rejects(
    () => nvidiaVersionsMatch().run(smiSays({ stdout: "575.64.05\n" })),
    /^Error: Container 901 has NVIDIA user-space driver 575\.64\.05, but the host's kernel module is 580\.76\.05/,
  );
  const mismatch = smiSays({
    exit: 18,
    stdout:
      "Failed to initialize NVML: Driver/library version mismatch\nNVML library version: 575.64\n",
  });
  await assert.rejects(
    () => nvidiaVersionsMatch().run(mismatch),
    /NVML reports a driver\/library version mismatch\): nvidia-smi failed with exit code 18: Failed to initialize NVML: Driver\/library version mismatch; NVML library version: 575\.64; the host's kernel module is 580\.76\.05/,
  );
});

Deno.test("nvidiaSmiWorks takes the GPU count from the context", async () => {
  const two = stepPct({
    exec: [{
      match: literally(LIST),
      stdout:
        "0, NVIDIA GeForce RTX 5060 Ti, 580.76.05\n1, NVIDIA GeForce RTX 5060 Ti, 580.76.05\n",
    }],
  });
  const verification = nvidiaSmiWorks<{ gpus: number[] }>({
    gpus: (ctx) => ctx.settings.gpus.length,
  });
  await verification.run(stepContext(two, { settings: { gpus: [0, 1] } }));
  await assert.rejects(
    () => verification.run(stepContext(two, { settings: { gpus: [1] } })),
    /lists 2 GPU\(s\), expected 1/,
  );
});

Deno.test("nvidiaHostDriver passes on the configured host driver and fails early otherwise", async () => {
  const pct = stepPct();
  const step = nvidiaHostDriver<{ version: string }>({ version: (ctx) => ctx.settings.version });
  const on = (hostRoot: string, version: string) =>
    stepContext(pct, { hostRoot, settings: { version } });
  assert.equal(await step.check(on(HOST_FIXTURES.gpu580, "580.76.05")), true);
  await assert.rejects(
    () => step.check(on(HOST_FIXTURES.gpu580, "580.76.06")),
    isHostPrerequisite(
      /asks for NVIDIA driver 580\.76\.06, but the host's kernel module is 580\.76\.05/,
    ),
  );
  await assert.rejects(
    () => step.check(on(HOST_FIXTURES.noDriver, "580.76.05")),
    isHostPrerequisite(/The host has no NVIDIA driver loaded/),
  );
  assert.deepEqual(pct.argvs(), [], "it reads the host only");
});

Deno.test({
  name:
    "the real H200 host's capture: driver 580.159.04 (open module), exactly its four device nodes" +
    (REAL_HOSTS_AVAILABLE ? "" : " (skipped: ../shared/real-hosts is absent)"),
  ignore: !REAL_HOSTS_AVAILABLE,
  fn: async () => {
    const host = await realHostTree("nvidia-h200");
    try {
      assert.equal(await hostNvidiaDriverVersion(host.root), "580.159.04");
      // No /dev/nvidia-modeset on this data-centre GPU; /dev/nvidia-caps/ is not a GPU device.
      assert.deepEqual(await hostNvidiaDevices(host.root), [
        "/dev/nvidia0",
        "/dev/nvidiactl",
        "/dev/nvidia-uvm",
        "/dev/nvidia-uvm-tools",
      ]);
    } finally {
      await host.cleanup();
    }
  },
});
