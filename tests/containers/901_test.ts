/**
 * The compiled executable of 901 (BaseTemplateGPU) against the fake pct, a simulated clone of
 * 900 and a host fixture with driver 580.76.05 and two GPUs: first run, re-run, dry run, each
 * verification failing, and the host and config problems that must stop it before any change.
 */

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { REAL_HOSTS_AVAILABLE, realHostTree } from "../support/host_tree.ts";
import {
  configText,
  ContainerScenario,
  containerTests,
  HOSTS,
  oneGpuConfig,
  thenFails,
} from "./_harness.ts";
import { literally } from "../fake_pct/fake_pct.ts";
import { GPU_DEVICES } from "./_simulated_container.ts";
import { assertExit } from "../support/assertions.ts";

const DRIVER_QUERY = literally("nvidia-smi --query-gpu=driver_version --format=csv,noheader");
const GPU_QUERY = literally(
  "nvidia-smi --query-gpu=index,name,driver_version --format=csv,noheader",
);

containerTests({
  ctid: "901",
  pctCalls: { firstRun: 19, rerun: 2, dryRun: 3 },
  snapshot: "gpu-snapshot",
  finished: { clonedFrom: "901" },
  verificationFailures: [
    {
      verification: "nvidia-smi lists the GPUs",
      exec: [{ match: GPU_QUERY, stdout: "0, NVIDIA GeForce RTX 5060 Ti, 580.76.05\n" }],
      message: /nvidia-smi lists 1 GPU\(s\), expected 2: 0, NVIDIA GeForce RTX 5060 Ti/,
    },
    {
      verification: "The container's NVIDIA driver matches the host's",
      // The driver step's check sees the right version; the verification, after it, another.
      exec: thenFails(
        DRIVER_QUERY,
        { stdout: "580.76.05\n580.76.05\n" },
        { stdout: "580.65.06\n580.65.06\n" },
      ),
      message: /user-space driver 580\.65\.06, but the host's kernel module is 580\.76\.05/,
    },
  ],
  afterFirstRun: async (s) => {
    // Proxmox's own device entries, not raw lxc.* lines; the container restarted once for them.
    const config = (await s.fake.state()).containers["901"].config;
    assert.deepEqual(config, GPU_DEVICES);
    const lifecycle = (await s.mutatingCalls()).filter((argv) => argv[0] !== "push");
    assert.deepEqual(lifecycle.slice(0, 3), [
      ["set", "901", ...Object.entries(GPU_DEVICES).flatMap(([key, dev]) => [`--${key}`, dev])],
      ["shutdown", "901", "--timeout", "60"],
      ["start", "901"],
    ]);
  },
});

Deno.test("901: a host without the NVIDIA driver fails with exit 8 before any change", async (t) => {
  for (const args of [["901"], ["--dry-run", "901"]]) {
    await t.step(args.join(" "), async () => {
      await using s = await ContainerScenario.of({ ctid: "901", hostRoot: HOSTS.noDriver });
      const run = await s.run(args);
      assertExit(run, 8);
      assert.match(
        run.stderr,
        /The host has no NVIDIA driver loaded \(.*no_nvidia_driver\/proc\/driver\/nvidia\/version missing\): install the NVIDIA driver on the Proxmox host first/,
      );
      assert.deepEqual(await s.callLines(), ["pct status 901 --verbose", "pct listsnapshot 901"]);
    });
  }
});

Deno.test("901: a config asking for another driver than the host's fails with exit 8 before any change", async () => {
  await using s = await ContainerScenario.of({
    ctid: "901",
    config: configText({}, {
      nvidia_driver_version: "580.76.06",
      nvidia_runfile_url:
        "https://us.download.nvidia.com/XFree86/Linux-x86_64/580.76.06/NVIDIA-Linux-x86_64-580.76.06.run",
    }),
  });
  const run = await s.run();
  assertExit(run, 8);
  assert.match(
    run.stderr,
    /The config asks for NVIDIA driver 580\.76\.06, but the host's kernel module is 580\.76\.05/,
  );
  // The requirement is checked once a step has to act: after the GPU passthrough's check.
  assert.deepEqual(await s.callLines(), [
    "pct status 901 --verbose",
    "pct listsnapshot 901",
    "pct config 901 --current 1",
  ]);
});

Deno.test("901: config errors name the file, the CTID and the field, before any pct call", async (t) => {
  const cases: [string, string, RegExp][] = [
    [
      "no nvidia_runfile_url at the top level",
      configText({}, { nvidia_runfile_url: undefined }),
      /container 901\b.*:\d+:\d+: top level: missing field nvidia_runfile_url/,
    ],
    [
      "no nvidia_driver_version at the top level",
      configText({}, { nvidia_driver_version: undefined }),
      /container 901\b.*: top level: missing field nvidia_driver_version/,
    ],
    [
      "a runfile URL for another version",
      configText({}, { nvidia_driver_version: "580.82.07" }),
      /container 901\b.*: nvidia_runfile_url: ".*580\.76\.05\.run" is not the installer of nvidia_driver_version \(580\.82\.07\)/,
    ],
    [
      'gpu_assignment "none"',
      configText({ "901": { name: "BaseTemplateGPU", gpu_assignment: "none" } }),
      /lxc_configs\["901"\]\.gpu_assignment: found "none": container 901 passes NVIDIA GPUs through/,
    ],
  ];
  for (const [name, config, message] of cases) {
    await t.step(name, async () => {
      await using s = await ContainerScenario.of({ ctid: "901", config });
      const run = await s.run();
      assertExit(run, 2);
      assert.match(run.stderr, message);
      assert.ok(run.stderr.includes(s.configFile), "the message names the file");
      assert.deepEqual(await s.calls(), []);
    });
  }
});

Deno.test({
  name:
    "901: PHOENIX_HOST_ROOT unset, on this host without the NVIDIA driver: exit 8, in our words" +
    (existsSync("/proc/driver/nvidia/version")
      ? " (skipped: this host has the NVIDIA driver)"
      : ""),
  ignore: existsSync("/proc/driver/nvidia/version"),
  fn: async () => {
    await using s = await ContainerScenario.of({ ctid: "901", hostRoot: null });
    const run = await s.run();
    assertExit(run, 8);
    assert.match(
      run.stderr,
      /The host has no NVIDIA driver loaded \(\/proc\/driver\/nvidia\/version missing\): install the NVIDIA driver on the Proxmox host first/,
    );
    assert.doesNotMatch(run.stdout + run.stderr, /Requires|--allow|permission/i);
    assert.deepEqual(await s.callLines(), ["pct status 901 --verbose", "pct listsnapshot 901"]);
  },
});

Deno.test({
  name: "901 on the real H200 host's capture: driver 580.159.04, exactly its four device nodes" +
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
      const run = await s.run();
      assertExit(run, 0);
      // No /dev/nvidia-modeset on this data-centre GPU, and /dev/nvidia-caps is not passed.
      assert.ok(
        (await s.callLines()).includes(
          "pct set 901 --dev0 /dev/nvidia0 --dev1 /dev/nvidiactl --dev2 /dev/nvidia-uvm " +
            "--dev3 /dev/nvidia-uvm-tools",
        ),
        (await s.callLines()).join("\n"),
      );
      assert.ok(
        (await s.execs()).some((argv) =>
          argv.join(" ").includes("NVIDIA-Linux-x86_64-580.159.04.run")
        ),
        "the runfile of the host's version is installed",
      );
    } finally {
      await host.cleanup();
    }
  },
});
