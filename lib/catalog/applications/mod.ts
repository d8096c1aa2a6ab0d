/**
 * The applications a container can run, and which one its entry asks for.
 *
 * | application | chosen when | needs the feature |
 * | --- | --- | --- |
 * | `vllm-server` | `vllm_engine_config`, or a non-null `vllm_model`, in an entry that is not `is_template: true` | `vllm` |
 * | `ollama-server` | the `ollama` feature | `ollama` |
 * | `portainer` | `portainer_role: "server"` | `docker` |
 *
 * A template layer (`is_template: true`) runs no server: 920's `vllm_model` in the older
 * generations is a placeholder for its clones.
 *
 * @module
 */

import type { ContainerEntry } from "../../config/schema.ts";
import type { Part } from "../features/feature.ts";
import { ollamaServer } from "./ollama_server.ts";
import { portainer } from "./portainer.ts";
import { vllmServer } from "./vllm_server.ts";

export { ollamaServer, portainer, vllmServer };

/** An application, what selects it and the feature it runs on. */
export interface Application {
  // deno-lint-ignore no-explicit-any
  readonly part: Part<any>;
  /** Says what in an entry selects it, for messages and the README. */
  readonly chosenWhen: string;
  /** The feature that installs what it runs. */
  readonly needs: string;
  /** Whether `entry` asks for it. */
  readonly wanted: (entry: ContainerEntry, features: readonly string[]) => boolean;
}

/** The supported applications, keyed by name. */
export const APPLICATIONS: Readonly<Record<string, Application>> = {
  "vllm-server": {
    part: vllmServer,
    chosenWhen: "the entry names a model (vllm_engine_config or vllm_model) and is no template",
    needs: "vllm",
    wanted: (entry) =>
      entry.is_template !== true &&
      (entry.vllm_engine_config !== undefined ||
        (entry.vllm_model !== undefined && entry.vllm_model !== null)),
  },
  "ollama-server": {
    part: ollamaServer,
    chosenWhen: 'the entry has the feature "ollama"',
    needs: "ollama",
    wanted: (_entry, features) => features.includes("ollama"),
  },
  "portainer": {
    part: portainer,
    chosenWhen: 'the entry\'s portainer_role is "server"',
    needs: "docker",
    wanted: (entry) => entry.portainer_role === "server",
  },
};

/**
 * The applications `entry` asks for (normally none or one).
 *
 * @param entry The container's entry.
 * @param features Its feature names (`[]` for a generation without a features array).
 * @returns The names, in the order of {@linkcode APPLICATIONS}.
 *
 * @example
 * ```ts
 * import { applicationsOf } from "./mod.ts";
 * applicationsOf({ vllm_model: "Qwen/Qwen2-7B-Instruct" }, ["vllm"]); // ["vllm-server"]
 * ```
 */
export function applicationsOf(entry: ContainerEntry, features: readonly string[]): string[] {
  return Object.entries(APPLICATIONS).filter(([, app]) => app.wanted(entry, features))
    .map(([name]) => name);
}
