/**
 * 901 BaseTemplateGPU: the GPU template, cloned from 900: the `nvidia` feature (the GPUs of
 * `gpu_assignment` passed through, NVIDIA's user-space driver of exactly the host's version),
 * then its snapshot. A host without the NVIDIA driver fails before anything changes.
 *
 * @module
 */

import { composeContainer } from "../lib/catalog/composition.ts";
import { nvidia } from "../lib/catalog/features/mod.ts";

export default composeContainer({
  ctid: "901",
  kind: "template",
  description:
    "GPU passthrough and the NVIDIA user-space driver matching the host; snapshot for GPU containers",
  defaultSnapshotName: "gpu-snapshot",
  features: [nvidia],
});
