/**
 * Runs container modules in process, against the in-memory fake `pct` and the simulated
 * container, the way the executables run them (config read first, then the flow): cheap enough
 * to run every container of every real config, each starting from the state its parent template
 * ended in, as the orchestrator's clones would.
 *
 * @module
 */

import { gpuIndicesOf, loadConfigFile } from "../../lib/config/read_config.ts";
import type { ContainerEntry } from "../../lib/config/schema.ts";
import { checkContainerExists } from "../../lib/host/container_exists.ts";
import { loadModuleConfig } from "../../lib/module/container_config.ts";
import type { ContainerModule } from "../../lib/module/container_module.ts";
import { performContainerSpecificSetup } from "../../lib/pattern/flow.ts";
import { InContainer } from "../../lib/host/in_container.ts";
import { Pct } from "../../lib/host/pct.ts";
import { untouchedPowerState } from "../../lib/host/power_state.ts";
import {
  PORTAINER_DEFAULT_PORTS,
  PORTAINER_IMAGE,
} from "../../lib/catalog/applications/portainer.ts";
import { entryShape } from "../../lib/catalog/composition.ts";
import type { FakeContainer } from "../fake_pct/state.ts";
import { execCommands, mutatingCalls } from "../fake_pct/calls.ts";
import { InMemoryPct } from "../fake_pct/in_memory.ts";
import { RunRecord } from "../../lib/report/run_record.ts";
import { RecordingLog } from "../support/recording_log.ts";
import { hostTree } from "../support/host_tree.ts";
import {
  SIMULATED_STEP_KEY_FINGERPRINT,
  type SimulatedContainer,
  simulatedContainer,
  type SimulationOptions,
} from "./_simulated_container.ts";

/** A root CA certificate as the host holds it (the content is not parsed beyond its markers). */
export const TEST_CA_CERT = "-----BEGIN CERTIFICATE-----\n" +
  "MIIBszCCAVmgAwIBAgIQPhoenixTestRootCAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n" +
  "-----END CERTIFICATE-----\n";

/** Where {@linkcode testHost} puts the certificate (`PHOENIX_CA_CERT`). */
export const TEST_CA_CERT_PATH = "/etc/phoenix/phoenix_root_ca.crt";

/**
 * A host with the NVIDIA driver `version` (GPUs 0 and 1) and the root CA certificate; and the
 * environment that points the features at it.
 */
export async function testHost(version: string) {
  const host = await hostTree({
    "proc/driver/nvidia/version":
      `NVRM version: NVIDIA UNIX x86_64 Kernel Module  ${version}  Thu Jul 24 18:36:23 UTC 2025\n`,
    ...Object.fromEntries(
      ["nvidia0", "nvidia1", "nvidiactl", "nvidia-uvm", "nvidia-uvm-tools"].map((d) => [
        `dev/${d}`,
        "",
      ]),
    ),
    [TEST_CA_CERT_PATH.slice(1)]: TEST_CA_CERT,
  });
  const env = {
    PHOENIX_CA_CERT: TEST_CA_CERT_PATH,
    PHOENIX_STEP_KEY_FINGERPRINT: SIMULATED_STEP_KEY_FINGERPRINT,
  };
  return { ...host, env };
}

/** What the simulation must run for `entry` (its GPUs, its model, its Portainer). */
export function simulationFor(entry: ContainerEntry, driverVersion?: string): SimulationOptions {
  const engine = entry.vllm_engine_config;
  const served = engine?.ServerConfig?.served_model_name ?? engine?.ModelConfig?.model ??
    entry.vllm_model ?? undefined;
  return {
    driverVersion,
    gpus: gpuIndicesOf(entry).length || 2,
    servedModels: served === undefined ? [] : [served],
    dockerContainers: [{
      name: "portainer",
      image: PORTAINER_IMAGE,
      ports: entry.ports ?? PORTAINER_DEFAULT_PORTS,
      restart: "always",
      volumes: ["portainer_data:/data", "/var/run/docker.sock:/var/run/docker.sock"],
      runOptions: [],
      args: [],
    }],
  };
}

/** The part of a container's state a clone starts with. */
export type CloneState = Pick<FakeContainer, "flags" | "files" | "config">;

/** One in-process run: its outcome or error, its pct calls, the container afterwards. */
export interface InProcessRun {
  readonly error?: unknown;
  readonly calls: string[][];
  readonly log: RecordingLog;
}

/** A simulated container for one module, run in process as often as a test likes. */
export class InProcessContainer {
  private constructor(
    readonly module: ContainerModule<unknown>,
    readonly fake: InMemoryPct,
    readonly sim: SimulatedContainer,
    readonly configFile: string,
    readonly hostRoot: string,
    readonly env: Record<string, string>,
  ) {}

  /** The container `module.ctid`, running, cloned from `cloned`. */
  static async of(options: {
    readonly module: ContainerModule<unknown>;
    readonly configFile: string;
    readonly hostRoot: string;
    readonly env: Record<string, string>;
    readonly cloned: CloneState;
    readonly simulation: SimulationOptions;
  }): Promise<InProcessContainer> {
    const sim = await simulatedContainer(options.simulation);
    const fake = new InMemoryPct({
      containers: {
        [options.module.ctid]: {
          status: "running",
          flags: [...options.cloned.flags],
          files: structuredClone(options.cloned.files),
          config: { ...options.cloned.config },
        },
      },
      exec: sim.exec,
    });
    return new InProcessContainer(
      options.module,
      fake,
      sim,
      options.configFile,
      options.hostRoot,
      options.env,
    );
  }

  /** Runs the module as its executable would; failures are returned, not thrown. */
  async run(options: { dryRun?: boolean } = {}): Promise<InProcessRun> {
    const before = this.fake.argvs().length;
    const log = new RecordingLog();
    let error: unknown;
    try {
      const config = await loadModuleConfig(this.module, this.configFile, this.env);
      const pct = new Pct(this.fake.run);
      const ctid = this.module.ctid;
      const ctx = {
        ctid,
        settings: config.settings,
        container: new InContainer(pct, ctid),
        pct,
        log,
        env: this.env,
        hostRoot: this.hostRoot,
        power: untouchedPowerState(),
        record: new RunRecord(),
      };
      await performContainerSpecificSetup({
        module: this.module,
        ctx,
        ...await checkContainerExists(pct, ctid, this.hostRoot),
        snapshotName: config.snapshotName,
        dryRun: options.dryRun ?? false,
        shutdownTimeoutSeconds: 60,
      });
    } catch (caught) {
      error = caught;
    }
    return { error, calls: this.fake.argvs().slice(before), log };
  }

  /** The container now. */
  get state(): FakeContainer {
    return this.fake.state.containers[this.module.ctid];
  }

  /** What a clone of it starts with. */
  cloneState(): CloneState {
    const { flags, files, config } = this.state;
    return structuredClone({ flags, files, config });
  }

  /** Commands of `calls` that changed the container, inside or through pct. */
  changes(calls: readonly (readonly string[])[]): string[][] {
    return [
      ...mutatingCalls(calls),
      ...execCommands(calls).filter((argv) => this.sim.isAction(argv)),
    ];
  }
}

/** The CTID `entry` is cloned from, if any. */
export function parentOf(entry: ContainerEntry): string | undefined {
  return entry.clone_from_ctid ?? entry.clone_from_template_ctid;
}

/** Whether the orchestrator gives the container `nesting=1` (its Docker needs it). */
export function needsNesting(entry: ContainerEntry): boolean {
  return entryShape(entry).features.includes("docker") ||
    (typeof entry.features === "string" && /nesting=1/.test(entry.features));
}

export { loadConfigFile };
