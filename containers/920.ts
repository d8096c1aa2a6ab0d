/**
 * 920 BaseTemplateVLLM: the vLLM base template, cloned from the GPU template: the `vllm`
 * feature (vLLM in a Python virtual environment), then the snapshot vLLM servers are cloned from.
 *
 * @module
 */

import { composeContainer } from "../lib/catalog/composition.ts";
import { vllm } from "../lib/catalog/features/mod.ts";

export default composeContainer({
  ctid: "920",
  kind: "template",
  description: "vLLM in a Python virtual environment; snapshot for vLLM servers",
  defaultSnapshotName: "vllm-base-snapshot",
  features: [vllm],
});
