/**
 * Every shipped executable against every real `phoenix_lxc_configs.json` of the Phoenix
 * Hypervisor's history that defines its CTID (`../shared/real-configs`, never copied into the
 * repository): a first run exits 0 and a re-run changes nothing; except where the config lacks
 * something the container needs, listed in {@linkcode EXCEPTIONS}: then the run exits 2 naming
 * the file, the CTID and the field, before any pct call. Without the folder every test here is
 * registered as ignored, with a name saying why.
 *
 * The fake container is a clone of its parent template in the reference hierarchy (phoenix.md),
 * as the orchestrator would have made it: a Docker container has `nesting=1`, and the host has
 * the NVIDIA driver the config names, with GPUs 0 and 1.
 */

import assert from "node:assert/strict";
import { gpuIndicesOf } from "../../lib/config/read_config.ts";
import type { ContainerEntry } from "../../lib/config/schema.ts";
import { ContainerScenario, type ContainerScenarioOptions, HOSTS } from "./_harness.ts";
import { DRIVER_VERSION } from "./_simulated_container.ts";
import { hostTree } from "../support/host_tree.ts";
import {
  GENERATIONS,
  presentGenerations,
  REAL_CONFIGS_ABSENT,
  REAL_CONFIGS_AVAILABLE,
  realConfigPath,
} from "../support/real_configs.ts";
import { assertExit } from "../support/assertions.ts";

const SHIPPED = ["900", "901", "902", "903", "910", "920", "950"];

/**
 * Where a real config lacks something the container needs: generation → CTID → the field the
 * error must name and what it must say about it.
 */
const EXCEPTIONS: Record<string, Record<string, { field: RegExp; why: RegExp }>> = {
  "ff11a70_earliest_root": {
    // The earliest file has no installer URL for the driver.
    "901": { field: /top level: missing field nvidia_runfile_url/, why: /container 901 installs/ },
    // Its 900 and 902 are vLLM servers (vllm_model), not the base and Docker templates.
    "900": {
      field: /lxc_configs\["900"\]: the entry asks for the application vllm-server/,
      why: /this module runs no application; build the executables from this config/,
    },
    "902": {
      field: /lxc_configs\["902"\]: the entry asks for the application vllm-server/,
      why: /this module runs no application; build the executables from this config/,
    },
  },
  "185f0ab_first_is_template": {
    "950": { field: /lxc_configs\["950"\]\.vllm_model/, why: /is an MLX model/ },
  },
  "fe8c1c1_last_is_template": {
    "950": { field: /lxc_configs\["950"\]\.vllm_model/, why: /is an MLX model/ },
  },
  "40a78ef_first_clone_from_ctid": {
    "950": { field: /lxc_configs\["950"\]: missing field vllm_model/, why: /needs the model/ },
    // Its 920 installs Docker too: the build composes it from the entry instead.
    "920": {
      field: /lxc_configs\["920"\]\.features: the entry lists the features \["docker","vllm"\]/,
      why: /but this module sets up \["vllm"\]/,
    },
  },
  // In the later generations 910 is a vLLM container, not the Portainer server.
  "0385ea2_main_head": {
    "910": { field: /lxc_configs\["910"\]\.portainer_role/, why: /found "none"/ },
  },
  "35c465b_latest_rootesting": {
    "910": { field: /lxc_configs\["910"\]\.portainer_role/, why: /found "none"/ },
  },
};

/** The modules' default snapshot names, for entries without `template_snapshot_name`. */
const DEFAULT_SNAPSHOT: Record<string, string> = {
  "900": "base-snapshot",
  "901": "gpu-snapshot",
  "902": "docker-snapshot",
  "903": "docker-gpu-snapshot",
  "920": "vllm-base-snapshot",
};

interface RealConfig {
  readonly generation: string;
  readonly file: string;
  readonly data: {
    nvidia_driver_version?: string;
    lxc_configs: Record<string, ContainerEntry>;
  };
}

function realConfigs(): RealConfig[] {
  return presentGenerations().map((generation) => {
    const file = realConfigPath(generation);
    return { generation, file, data: JSON.parse(Deno.readTextFileSync(file)) };
  });
}

/** A host with the driver the config names (GPUs 0 and 1), made when it is not the fixture's. */
async function hostFor(version: string | undefined) {
  if (version === undefined || version === DRIVER_VERSION) {
    return { root: HOSTS.gpu580, cleanup: () => Promise.resolve() };
  }
  return await hostTree({
    "proc/driver/nvidia/version":
      `NVRM version: NVIDIA UNIX x86_64 Kernel Module  ${version}  Thu Jul 24 18:36:23 UTC 2025\n`,
    ...Object.fromEntries(
      ["nvidia0", "nvidia1", "nvidiactl", "nvidia-uvm", "nvidia-uvm-tools"].map((
        d,
      ) => [`dev/${d}`, ""]),
    ),
  });
}

/** The scenario of `ctid` with the real config, as the orchestrator would have cloned it. */
function scenarioOptions(
  config: RealConfig,
  ctid: string,
  hostRoot: string,
): ContainerScenarioOptions {
  const entry = config.data.lxc_configs[ctid];
  const engine = entry.vllm_engine_config;
  const served = engine?.ServerConfig?.served_model_name ?? engine?.ModelConfig?.model ??
    entry.vllm_model ?? undefined;
  return {
    ctid,
    hostRoot,
    // The executable reads the real file itself, so its messages name it.
    env: { LXC_CONFIG_FILE: config.file },
    // The orchestrator gives a Docker container nesting=1 (from "features", or its docker feature).
    container: ctid === "902" ? { config: { features: "nesting=1" } } : {},
    simulation: {
      driverVersion: config.data.nvidia_driver_version,
      gpus: gpuIndicesOf(entry).length || 2,
      servedModels: served === undefined ? [] : [served],
      dockerContainers: [{
        name: "portainer",
        image: "portainer/portainer-ce:lts",
        ports: entry.ports ?? ["9443:9443", "9001:9001"],
        restart: "always",
        volumes: ["portainer_data:/data", "/var/run/docker.sock:/var/run/docker.sock"],
        runOptions: [],
        args: [],
      }],
    },
  };
}

async function expectSuccess(config: RealConfig, ctid: string): Promise<void> {
  const host = await hostFor(config.data.nvidia_driver_version);
  try {
    await using s = await ContainerScenario.of(scenarioOptions(config, ctid, host.root));
    const first = await s.run();
    assertExit(first, 0);
    const snapshots = (await s.fake.state()).containers[ctid].snapshots.map((x) => x.name);
    const snapshot = DEFAULT_SNAPSHOT[ctid] === undefined
      ? undefined
      : config.data.lxc_configs[ctid].template_snapshot_name ?? DEFAULT_SNAPSHOT[ctid];
    assert.deepEqual(snapshots, snapshot === undefined ? [] : [snapshot]);
    await s.fake.clearCalls();
    assertExit(await s.run(), 0);
    await s.assertNothingChanged();
  } finally {
    await host.cleanup();
  }
}

async function expectConfigError(
  config: RealConfig,
  ctid: string,
  expected: { field: RegExp; why: RegExp },
): Promise<void> {
  await using s = await ContainerScenario.of(scenarioOptions(config, ctid, HOSTS.gpu580));
  const run = await s.run();
  assertExit(run, 2);
  assert.ok(run.stderr.includes(`${config.file}:`), `the message names ${config.file}`);
  assert.match(run.stderr, new RegExp(`Invalid configuration for container ${ctid}\\b`));
  assert.match(run.stderr, expected.field);
  assert.match(run.stderr, expected.why);
  assert.deepEqual(await s.calls(), [], "no pct call at all");
}

/** One real config and one shipped CTID it defines, with what must happen. */
interface Case {
  readonly config: RealConfig;
  readonly ctid: string;
  readonly expected?: { field: RegExp; why: RegExp };
}

const configs = realConfigs();
const cases: Case[] = configs.flatMap((config) =>
  SHIPPED.filter((ctid) => Object.hasOwn(config.data.lxc_configs, ctid)).map((ctid) => ({
    config,
    ctid,
    expected: EXCEPTIONS[config.generation]?.[ctid],
  }))
);

/** Runs at most this many executables at once: the suite's time is mostly process start-ups. */
const CONCURRENCY = 3;
let outcomes: Map<Case, Promise<{ error?: unknown }>> | undefined;

/**
 * Starts every case on first use, a few at a time, and keeps each one's outcome for its test:
 * the cases of one test run while earlier tests wait for theirs.
 */
function outcomeOf(c: Case): Promise<{ error?: unknown }> {
  if (!outcomes) {
    const started = new Map<Case, Promise<{ error?: unknown }>>();
    const slots: Promise<unknown>[] = Array(CONCURRENCY).fill(Promise.resolve());
    cases.forEach((each, i) => {
      const slot = i % CONCURRENCY;
      const outcome = slots[slot].then(() =>
        (each.expected
          ? expectConfigError(each.config, each.ctid, each.expected)
          : expectSuccess(each.config, each.ctid)).then(() => ({}), (error) => ({ error }))
      );
      slots[slot] = outcome;
      started.set(each, outcome);
    });
    outcomes = started;
  }
  return outcomes.get(c)!;
}

for (const c of cases) {
  Deno.test({
    name: c.expected
      ? `real config ${c.config.generation}: ${c.ctid} refuses the config (exit 2), changing nothing`
      : `real config ${c.config.generation}: ${c.ctid} runs (exit 0), and a re-run changes nothing`,
    // The cases run concurrently across these tests; each test waits for its own.
    sanitizeOps: false,
    sanitizeResources: false,
    fn: async () => {
      const { error } = await outcomeOf(c);
      if (error) throw error;
    },
  });
}

Deno.test({
  name: REAL_CONFIGS_AVAILABLE
    ? "real configs: every listed exception is a shipped CTID of a real config"
    : `real configs (${GENERATIONS.join(", ")}) ${REAL_CONFIGS_ABSENT}`,
  ignore: !REAL_CONFIGS_AVAILABLE,
  fn: () => {
    for (const [generation, ctids] of Object.entries(EXCEPTIONS)) {
      const config = configs.find((c) => c.generation === generation);
      assert.ok(config, `real config ${generation} exists`);
      for (const ctid of Object.keys(ctids)) {
        assert.ok(Object.hasOwn(config.data.lxc_configs, ctid), `${generation} defines ${ctid}`);
        assert.ok(SHIPPED.includes(ctid));
      }
    }
  },
});
