/**
 * 950 vllmQwen3Coder: a vLLM OpenAI-compatible server, cloned from the vLLM template 920: the
 * `vllm` feature (already done in a clone of 920) and the vLLM server application for the
 * entry's model (`vllm_model` and friends, or `vllm_engine_config`).
 *
 * @module
 */

import { vllmServer } from "../lib/catalog/applications/mod.ts";
import { composeContainer } from "../lib/catalog/composition.ts";
import { vllm } from "../lib/catalog/features/mod.ts";

export default composeContainer({
  ctid: "950",
  kind: "standard",
  description: "vLLM OpenAI-compatible server for the configured model, as a systemd service",
  features: [vllm],
  application: vllmServer,
});
