/**
 * Scenarios of the shipped containers: the compiled executable of a container, the fake `pct`
 * with a simulated container cloned from its parent template, a config file and a host fixture
 * tree; and what the tests ask of every container (first run, re-run, dry run).
 *
 * @module
 */

import assert from "node:assert/strict";
import { displayCommand } from "../../lib/core/command_text.ts";
import { WRITE_FILE_SCRIPT } from "../../lib/steps/files.ts";
import { execCommands } from "../fake_pct/calls.ts";
import type { ExecRule, FailureRule, FakeContainerInput } from "../fake_pct/fake_pct.ts";
import type { ResolvedDockerContainerSpec } from "../../lib/steps/docker.ts";
import { Scenario } from "../e2e/_scenario.ts";
import type { Run } from "../support/executables.ts";
import { HOST_FIXTURES } from "../support/host_tree.ts";
import { assertSnapshot } from "./_snapshot.ts";
import {
  type SimulatedContainer,
  simulatedContainer,
  type SimulationOptions,
  type TemplateCtid,
  templateState,
} from "./_simulated_container.ts";
import { assertExit } from "../support/assertions.ts";

/** The host fixture trees (`PHOENIX_HOST_ROOT`): driver 580.76.05 with GPUs 0 and 1, or none. */
export const HOSTS = HOST_FIXTURES;

/** The config's top level as the real configs have it, for driver 580.76.05. */
export const TOP_LEVEL = {
  nvidia_driver_version: "580.76.05",
  nvidia_repo_url: "https://developer.download.nvidia.com/compute/cuda/repos/ubuntu2404/x86_64/",
  nvidia_runfile_url:
    "https://us.download.nvidia.com/XFree86/Linux-x86_64/580.76.05/NVIDIA-Linux-x86_64-580.76.05.run",
};

/** The project's own reference hierarchy: one entry per shipped container (phoenix.md). */
export const HIERARCHY: Record<string, Record<string, unknown>> = {
  "900": {
    name: "BaseTemplate",
    is_template: true,
    template_snapshot_name: "base-snapshot",
    gpu_assignment: "none",
  },
  "901": {
    name: "BaseTemplateGPU",
    is_template: true,
    clone_from_ctid: "900",
    template_snapshot_name: "gpu-snapshot",
    gpu_assignment: "0,1",
  },
  "902": {
    name: "BaseTemplateDocker",
    is_template: true,
    clone_from_ctid: "900",
    template_snapshot_name: "docker-snapshot",
    features: "nesting=1",
  },
  "903": {
    name: "BaseTemplateDockerGPU",
    is_template: true,
    clone_from_ctid: "902",
    template_snapshot_name: "docker-gpu-snapshot",
    features: "nesting=1",
    gpu_assignment: "0,1",
  },
  "910": {
    name: "Portainer",
    clone_from_ctid: "902",
    features: "nesting=1",
    portainer_role: "server",
  },
  "920": {
    name: "BaseTemplateVLLM",
    is_template: true,
    clone_from_ctid: "901",
    template_snapshot_name: "vllm-base-snapshot",
    gpu_assignment: "0,1",
  },
  "950": {
    name: "vllmQwen",
    clone_from_ctid: "920",
    gpu_assignment: "0,1",
    vllm_model: "Qwen/Qwen2.5-Coder-7B-Instruct-AWQ",
    vllm_tensor_parallel_size: 2,
  },
};

/** The template each container is cloned from in the reference hierarchy. */
export const PARENT: Record<string, TemplateCtid | null> = {
  "900": null,
  "901": "900",
  "902": "900",
  "903": "902",
  "910": "902",
  "920": "901",
  "950": "920",
};

/**
 * A config file's text: the reference top level and hierarchy, with `entries` replacing (or,
 * when `null`, removing) entries, and `top` replacing top-level fields (`undefined` removes one).
 */
export function configText(
  entries: Record<string, Record<string, unknown> | null> = {},
  top: Record<string, unknown> = {},
): string {
  const lxc: Record<string, unknown> = { ...HIERARCHY, ...entries };
  for (const [ctid, entry] of Object.entries(lxc)) if (entry === null) delete lxc[ctid];
  return JSON.stringify({ ...TOP_LEVEL, ...top, lxc_configs: lxc }, null, 2) + "\n";
}

/**
 * The reference config with 901 on GPU 0 and the top level naming NVIDIA driver `version` and its
 * runfile: what a one-GPU host such as the real H200 capture (`../shared/real-hosts`) runs.
 */
export function oneGpuConfig(version: string): string {
  return configText({ "901": { ...HIERARCHY["901"], gpu_assignment: "0" } }, {
    nvidia_driver_version: version,
    nvidia_runfile_url:
      `https://us.download.nvidia.com/XFree86/Linux-x86_64/${version}/NVIDIA-Linux-x86_64-${version}.run`,
  });
}

/** How to set up one container scenario. */
export interface ContainerScenarioOptions {
  /** The container, e.g. `"901"`. */
  readonly ctid: string;
  /** The config file's text; default the reference hierarchy. */
  readonly config?: string;
  /** Whether the container runs when the executable starts. Default running. */
  readonly status?: "running" | "stopped";
  /** The template it is a clone of (what it starts with); default its parent in the hierarchy. */
  readonly clonedFrom?: TemplateCtid | null;
  /** Changes to the container as cloned: more flags, files, config keys, snapshots. */
  readonly container?: Partial<FakeContainerInput>;
  /** Rules tried before the simulation's, e.g. a verification that fails. */
  readonly exec?: ExecRule[];
  /** pct failures to inject. */
  readonly failures?: FailureRule[];
  /** What the simulation runs (driver version, Docker containers, served models). */
  readonly simulation?: SimulationOptions;
  /** The host fixture tree; default the GPU host; `null` leaves PHOENIX_HOST_ROOT unset (`/`). */
  readonly hostRoot?: string | null;
  /** More environment for every run. */
  readonly env?: Record<string, string>;
}

/** {@linkcode WRITE_FILE_SCRIPT} as {@linkcode displayCommand} shows it. */
const WRITTEN_SCRIPT = displayCommand([WRITE_FILE_SCRIPT]);

/** A scenario of one shipped container, with its simulation. */
export class ContainerScenario extends Scenario {
  /** The simulated container's rules and their kinds. */
  sim!: SimulatedContainer;

  /** Creates the fake with the cloned container and writes the config. */
  static async of(options: ContainerScenarioOptions): Promise<ContainerScenario> {
    const sim = await simulatedContainer(options.simulation);
    const cloned = templateState(
      options.clonedFrom === undefined ? PARENT[options.ctid] : options.clonedFrom,
    );
    const extra = options.container ?? {};
    const container: FakeContainerInput = {
      status: options.status ?? "running",
      ...extra,
      flags: [...cloned.flags ?? [], ...extra.flags ?? []],
      files: { ...cloned.files, ...extra.files },
      config: { ...cloned.config, ...extra.config },
    };
    const base = await Scenario.create(
      options.ctid,
      {
        containers: { [options.ctid]: container },
        exec: [...options.exec ?? [], ...sim.exec],
        failures: options.failures,
      },
      options.config ?? configText(),
      {
        ...options.hostRoot !== null && { PHOENIX_HOST_ROOT: options.hostRoot ?? HOSTS.gpu580 },
        ...options.env,
      },
    );
    const scenario = new ContainerScenario(base.fake, base.dir, base.ctid, base.extraEnv);
    scenario.sim = sim;
    return scenario;
  }

  /**
   * The pct calls so far as the log shows them, one line each, with the step library's file
   * write script shown as `<write file>` so that the lines stay readable.
   */
  async callLines(): Promise<string[]> {
    return callLines(await this.calls());
  }

  /** The commands run inside the container (after `pct exec <CTID> --`). */
  async execs(): Promise<string[][]> {
    return execCommands(await this.calls());
  }

  /** Asserts that nothing changed the container: no mutating pct call, no action inside. */
  async assertNothingChanged(): Promise<void> {
    assert.deepEqual(await this.mutatingCalls(), [], "no mutating pct call");
    const changing = (await this.execs()).filter((argv) => this.sim.isAction(argv));
    assert.deepEqual(changing, [], "no action inside the container");
    const unknown = (await this.execs()).filter((argv) => !this.sim.isCheck(argv));
    assert.deepEqual(unknown, [], "every command inside the container is a known check");
  }

  /** The container's flags, sorted. */
  async flags(): Promise<string[]> {
    return [...(await this.fake.state()).containers[this.ctid].flags].sort();
  }
}

/**
 * pct calls as the log shows them, one line each, with the step library's file write script
 * shown as `<write file>` so that the lines stay readable.
 */
export function callLines(calls: readonly (readonly string[])[]): string[] {
  return calls.map((argv) =>
    displayCommand(["pct", ...argv]).replace(WRITTEN_SCRIPT, "<write file>")
  );
}

/** The flags of a finished template, sorted. */
export function finishedFlags(template: TemplateCtid): string[] {
  return [...templateState(template).flags ?? []].sort();
}

/** A verification made to fail, and what the run must say. */
export interface VerificationFailure {
  /** The verification's name, as the module gives it. */
  readonly verification: string;
  /** Rules that make it fail (tried before the simulation's). */
  readonly exec: ExecRule[];
  /** What stderr must say about it. */
  readonly message: RegExp;
  /** More environment for the run, e.g. a short `PHOENIX_READY_TIMEOUT`. */
  readonly env?: Record<string, string>;
}

/** What {@linkcode containerTests} needs to know about a container. */
export interface ContainerTestSpec {
  readonly ctid: string;
  /** The snapshot a template ends in (from the reference hierarchy); absent for a standard one. */
  readonly snapshot?: string;
  /** The scenario of a first run (and a dry run); default the reference hierarchy. */
  readonly fresh?: Omit<ContainerScenarioOptions, "ctid">;
  /** A container whose steps are all done; default `fresh`. */
  readonly finished?: Omit<ContainerScenarioOptions, "ctid">;
  /** One failure per verification, in the module's order. */
  readonly verificationFailures: readonly VerificationFailure[];
  /**
   * How many `pct` calls a first run, a re-run and a dry run make: on a host each costs hundreds
   * of milliseconds, so a change in these numbers is a change users feel.
   */
  readonly pctCalls: { readonly firstRun: number; readonly rerun: number; readonly dryRun: number };
  /** More assertions on the first run's outcome (files written, log lines, ...). */
  readonly afterFirstRun?: (s: ContainerScenario, run: Run) => Promise<void>;
}

/**
 * Registers the tests every shipped container gets: a first run (exit 0; the exact pct calls
 * pinned by a snapshot; a template's snapshot holds the finished state), a re-run and a dry run
 * (no mutating pct call, no action inside the container; calls pinned), and one failing run per
 * verification (exit 4, its message, no snapshot).
 */
export function containerTests(spec: ContainerTestSpec): void {
  const { ctid, snapshot } = spec;
  const fresh = () => ContainerScenario.of({ ctid, ...spec.fresh });

  Deno.test(`${ctid}: a first run exits 0 with the expected pct calls`, async (t) => {
    await using s = await fresh();
    const run = await s.run();
    assertExit(run, 0);
    assertSnapshot(t, await s.callLines());
    assert.equal((await s.calls()).length, spec.pctCalls.firstRun, "pct calls of a first run");
    const state = (await s.fake.state()).containers[ctid];
    assert.equal(state.status, "running");
    if (snapshot) {
      assert.match(run.stdout, new RegExp(`Snapshot '${snapshot}' created`));
      assert.deepEqual(state.snapshots.map((x) => x.name), [snapshot]);
      // The snapshot holds the finished state (what clones start with), not an earlier one.
      assert.deepEqual(
        [...state.snapshots[0].flags ?? []].sort(),
        finishedFlags(ctid as TemplateCtid),
      );
    } else {
      assert.deepEqual(state.snapshots, []);
    }
    await spec.afterFirstRun?.(s, run);
  });

  Deno.test(`${ctid}: a re-run changes nothing`, async (t) => {
    await using s = await fresh();
    assertExit(await s.run(), 0);
    await s.fake.clearCalls();
    const before = (await s.fake.state()).containers;
    assertExit(await s.run(), 0);
    await s.assertNothingChanged();
    assertSnapshot(t, await s.callLines());
    assert.equal((await s.calls()).length, spec.pctCalls.rerun, "pct calls of a re-run");
    assert.deepEqual((await s.fake.state()).containers, before);
  });

  Deno.test(`${ctid}: --dry-run changes nothing`, async (t) => {
    await using s = await fresh();
    const before = (await s.fake.state()).containers;
    const run = await s.run(["--dry-run", ctid]);
    assertExit(run, 0);
    assert.match(
      run.stdout,
      new RegExp(`Dry run for (template|container) ${ctid} finished: nothing was changed`),
    );
    if (snapshot) assert.match(run.stdout, new RegExp(`Would take snapshot '${snapshot}'`));
    await s.assertNothingChanged();
    assertSnapshot(t, await s.callLines());
    assert.equal((await s.calls()).length, spec.pctCalls.dryRun, "pct calls of a dry run");
    assert.deepEqual((await s.fake.state()).containers, before);
  });

  Deno.test(`${ctid}: each failing verification exits 4 and takes no snapshot`, async (t) => {
    for (const failure of spec.verificationFailures) {
      await t.step(failure.verification, async () => {
        await using s = await ContainerScenario.of({
          ctid,
          ...spec.finished ?? spec.fresh,
          exec: [...failure.exec, ...spec.finished?.exec ?? spec.fresh?.exec ?? []],
          env: { ...spec.finished?.env ?? spec.fresh?.env, ...failure.env },
        });
        const run = await s.run();
        assertExit(run, 4);
        assert.match(
          run.stderr,
          new RegExp(`Verification "${escapeRegExp(failure.verification)}" failed: `),
        );
        assert.match(run.stderr, failure.message);
        assert.deepEqual(
          (await s.mutatingCalls()).filter((argv) => argv[0] === "snapshot"),
          [],
        );
      });
    }
  });
}

/**
 * Rules for a command that answers as usual (`first`) the first time, e.g. for a step's check,
 * and with `then` afterwards, e.g. for the verification that runs the same command.
 */
export function thenFails(
  match: string,
  first: Omit<ExecRule, "match">,
  then: Omit<ExecRule, "match">,
): ExecRule[] {
  const seen = `seen ${match}`;
  return [{ match, unless: seen, set: [seen], ...first }, { match, ...then }];
}

/** The Portainer container 910 runs, as `docker container inspect` shows it; `ports` published. */
export function portainer(ports = ["9443:9443", "9001:9001"]): ResolvedDockerContainerSpec {
  return {
    name: "portainer",
    image: "portainer/portainer-ce:lts",
    ports,
    restart: "always",
    volumes: ["portainer_data:/data", "/var/run/docker.sock:/var/run/docker.sock"],
    runOptions: [],
    args: [],
  };
}

function escapeRegExp(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|]/g, "\\$&");
}
