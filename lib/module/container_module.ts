/**
 * What a container module is: the runbook of one container, as named idempotent steps (each with
 * the check that says it is already done and the action that does it) and the verification of
 * the result. Modules hold no plumbing; the generic flows in `flow.ts` run them.
 *
 * @module
 */

import type { Log } from "../report/logging.ts";
import type { InContainer } from "../host/in_container.ts";
import type { Pct } from "../host/pct.ts";
import type { PowerState } from "../host/power_state.ts";
import type { RunRecord } from "../report/run_record.ts";
import type { ContainerConfig } from "../config/read_config.ts";

/** Everything a step sees. `S` is the module's settings, derived from the config. */
export interface SetupContext<S> {
  /** The container's CTID. */
  readonly ctid: string;
  /** What the module derived from its config entry before anything ran. */
  readonly settings: S;
  /** Commands inside the container. */
  readonly container: InContainer;
  /** The pct client, for container-level operations (`pct set`, `pct config`). */
  readonly pct: Pct;
  /** The run's log. */
  readonly log: Log;
  /** The process environment (for tokens and host settings). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The host's root directory; `/` on a real host, a fixture tree in tests (PHOENIX_HOST_ROOT). */
  readonly hostRoot: string;
  /**
   * What this run has done to the container's power state. A step that stops or starts the
   * container records it here (`markStopped`, `markStarted`), so a failure or a signal puts the
   * container back as it was found.
   */
  readonly power: PowerState;
  /**
   * What the run has done so far and what it is doing (which step; whether it only checks):
   * the step runner writes it, the command log and the closing summary read it.
   */
  readonly record: RunRecord;
}

/** One idempotent unit of setup. */
export interface Step<S> {
  /** Shown in logs and in "failed during step ...". Imperative: "Install vLLM". */
  readonly name: string;
  /** True when the step's effect is already in place; must change nothing. */
  check(ctx: SetupContext<S>): Promise<boolean>;
  /** Brings the effect about; afterwards `check` must return true. */
  action(ctx: SetupContext<S>): Promise<void>;
  /**
   * The read-only commands (argv, inside the container) that `check` runs, when they can be
   * known beforehand. The runner runs those of this step and the ones after it in one `pct exec`
   * (`probe_batch.ts`), and each result answers the check's own call of the same argv without a
   * round trip; a check that runs anything else still works, with a call of its own.
   */
  probes?(ctx: SetupContext<S>): readonly (readonly string[])[];
  /**
   * A requirement rather than a change (the container has `nesting=1`, the host has the NVIDIA
   * driver): its check passes or fails the run with exit code 8 (`HostPrerequisite`), and
   * its action does nothing. The runner checks it only when it matters: before the first step
   * that has to act, so nothing changes in a container that lacks it, and before reporting a
   * failed check or verification, which it may explain. A run that changes nothing and whose
   * verification passes never checks it: the verification proved what it requires, and a re-run
   * saves the `pct` call (see `run_steps.ts`).
   */
  readonly requirement?: boolean;
  /**
   * What the step does through `pct` on the host rather than inside the container (`"device
   * passthrough"`, `"the container's Proxmox config"`), when it does. Run inside the container
   * (no `pct` there), such a step cannot run: a change is reported as left to the host (exit
   * 11), a requirement as not checked from there (see `pattern/inside_container.ts`).
   */
  readonly hostSide?: string;
}

/** One verification of the finished container; throws with a clear message on failure. */
export interface Verification<S> {
  /** Shown in logs, e.g. "vllm --version answers". */
  readonly name: string;
  /** Runs the verification; changes nothing. */
  run(ctx: SetupContext<S>): Promise<void>;
  /** The read-only commands `run` starts with, batched like {@linkcode Step.probes}. */
  probes?(ctx: SetupContext<S>): readonly (readonly string[])[];
}

/** A template ends in a snapshot; a standard container does not. */
export type ContainerKind = "template" | "standard";

/** A container module: what is unique to one container. */
export interface ContainerModule<S = unknown> {
  /** The CTID this module (and the executable built from it) is for. */
  readonly ctid: string;
  /** Template or standard container. */
  readonly kind: ContainerKind;
  /** One line on what the setup does, for `--help` and the README. */
  readonly description: string;
  /** Snapshot name used when the config entry has no `template_snapshot_name` (templates). */
  readonly defaultSnapshotName?: string;
  /** What it sets up, part by part, in order, for `--help` (composed modules have one). */
  readonly plan?: string;
  /** The config features it sets up, in order (composed modules say; see `catalog/`). */
  readonly features?: readonly string[];
  /** The application it runs, if any (composed modules say). */
  readonly application?: string;
  /**
   * Derives the settings from the config entry (and, for host-side inputs such as a token file,
   * the environment), validating everything the module needs. Throws a `ConfigError` naming
   * file, CTID and field; runs before any pct call.
   */
  settings(config: ContainerConfig, env: Readonly<Record<string, string | undefined>>): S;
  /** The steps, in order. */
  readonly steps: readonly Step<S>[];
  /** The checks of the finished container, run after the steps. */
  readonly verification: readonly Verification<S>[];
  /**
   * What the finished container provides, in words, for the closing message and the run report
   * (`vLLM serves <model> at <url> in container 950`); a template's snapshot is said already.
   */
  produces?(settings: S): string | undefined;
}

/**
 * Declares a container module; exists so the settings type flows from `settings` into the
 * steps without annotations.
 */
export function defineContainer<S>(module: ContainerModule<S>): ContainerModule<S> {
  return module;
}
