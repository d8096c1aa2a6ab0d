/**
 * Every feature, by the name configs use in an entry's `features` array.
 *
 * @module
 */

import { baseSetup } from "./base_setup.ts";
import { docker } from "./docker.ts";
import type { Part } from "./feature.ts";
import { nvidia } from "./nvidia.ts";
import { ollama } from "./ollama.ts";
import { stepCli } from "./step_cli.ts";
import { trustedCa } from "./trusted_ca.ts";
import { vllm } from "./vllm.ts";

export type { Feature, Part } from "./feature.ts";
export { definePart } from "./feature.ts";
export { baseSetup, docker, nvidia, ollama, stepCli, trustedCa, vllm };

/** The supported features, keyed by their config name. */
// deno-lint-ignore no-explicit-any
export const FEATURES: Readonly<Record<string, Part<any>>> = Object.fromEntries(
  [baseSetup, nvidia, docker, vllm, ollama, trustedCa, stepCli].map((f) => [f.name, f]),
);
