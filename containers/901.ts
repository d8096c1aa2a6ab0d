/**
 * 901 BaseTemplateGPU: the GPU template, cloned from 900. Passes the GPUs of `gpu_assignment`
 * through with Proxmox device entries, installs NVIDIA's user-space driver of exactly the host's
 * kernel module version (the config's `nvidia_driver_version` and `nvidia_runfile_url`), and
 * proves `nvidia-smi` sees the GPUs. A host without the NVIDIA driver fails before anything
 * changes.
 *
 * @module
 */

import { type NvidiaGpuSettings, nvidiaGpuSettingsOf } from "../lib/config/read_config.ts";
import { defineContainer } from "../lib/container_module.ts";
import {
  gpuPassthrough,
  nvidiaHostDriver,
  nvidiaSmiWorks,
  nvidiaUserspaceDriver,
  nvidiaVersionsMatch,
} from "../lib/steps/mod.ts";

export default defineContainer<NvidiaGpuSettings>({
  ctid: "901",
  kind: "template",
  description:
    "GPU passthrough and the NVIDIA user-space driver matching the host; snapshot for GPU containers",
  defaultSnapshotName: "gpu-snapshot",
  settings: nvidiaGpuSettingsOf,
  steps: [
    nvidiaHostDriver({ version: (ctx) => ctx.settings.driverVersion }),
    gpuPassthrough((ctx) => ctx.settings.gpus),
    nvidiaUserspaceDriver({
      version: (ctx) => ctx.settings.driverVersion,
      runfileUrl: (ctx) => ctx.settings.runfileUrl,
    }),
  ],
  verification: [
    nvidiaSmiWorks({ gpus: (ctx) => ctx.settings.gpus.length }),
    nvidiaVersionsMatch(),
  ],
});
