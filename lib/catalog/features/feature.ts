/**
 * What a feature is: a reusable unit of setup, named exactly as `phoenix_lxc_configs.json` names
 * it in an entry's `features` array (`base_setup`, `nvidia`, `docker`, `vllm`, ...). Like a
 * container module it derives its settings from the config entry, lists idempotent steps and
 * verifies its result; unlike one it has no CTID or kind, so the same code serves every container
 * that lists it. An application (the server a container runs, chosen from its entry) has the same
 * shape: see `lib/applications/`.
 *
 * Requirements are read-only steps whose check passes or fails the run (exit 8, the host or the
 * container lacks something). A composed container checks every part's requirements before the
 * first step that has to change something, so a container that lacks one fails before anything
 * changed; a re-run that changes nothing leaves them to the verification (`Step.requirement`).
 *
 * @module
 */

import type { ContainerConfig } from "../../config/read_config.ts";
import type { Step, Verification } from "../../module/container_module.ts";

/** The environment a part's settings may read (host-side inputs such as a token file). */
export type Environment = Readonly<Record<string, string | undefined>>;

/** A feature or an application: settings from the entry, requirements, steps, verification. */
export interface Part<S = unknown> {
  /** The name the config uses (`nvidia`) or, for an application, its own (`vllm-server`). */
  readonly name: string;
  /** One line on what it sets up, for `--help`, the log and the README. */
  readonly summary: string;
  /** The config fields it reads, as the README lists them. */
  readonly reads: readonly string[];
  /**
   * Derives and validates what the steps need from the entry (and the environment); throws a
   * `ConfigError` naming the field. Runs before any `pct` call.
   */
  settings(config: ContainerConfig, env: Environment): S;
  /** Read-only checks run before any part's steps; each fails the run or passes. */
  readonly requirements?: readonly Step<S>[];
  /** The steps, in order. */
  readonly steps: readonly Step<S>[];
  /** The checks of its result, run after every part's steps. */
  readonly verification: readonly Verification<S>[];
  /** What it provides once set up, in words, for the closing summary and the run report. */
  produces?(settings: S): string;
}

/** A feature: a {@linkcode Part} named as configs name it. */
export type Feature<S = unknown> = Part<S>;

/**
 * Declares a feature or application; exists so the settings type flows from `settings` into the
 * steps without annotations.
 *
 * @example
 * ```ts
 * import { definePart } from "./feature.ts";
 * import { aptPackages, commandSucceeds } from "../../steps/mod.ts";
 * const jq = definePart({
 *   name: "jq",
 *   summary: "jq for everyone",
 *   reads: [],
 *   settings: () => ({}),
 *   steps: [aptPackages(["jq"])],
 *   verification: [commandSucceeds(["jq", "--version"])],
 * });
 * ```
 */
export function definePart<S>(part: Part<S>): Part<S> {
  return part;
}
