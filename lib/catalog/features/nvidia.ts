/**
 * `nvidia`: the GPUs of `gpu_assignment` passed through with Proxmox device entries and NVIDIA's
 * user-space driver of exactly the host's kernel module version (the config's
 * `nvidia_driver_version` and `nvidia_runfile_url`). A host without the driver fails before
 * anything changes.
 *
 * @module
 */

import { type NvidiaGpuSettings, nvidiaGpuSettingsOf } from "../../config/read_config.ts";
import {
  gpuPassthrough,
  nvidiaHostDriver,
  nvidiaSmiWorks,
  nvidiaUserspaceDriver,
  nvidiaVersionsMatch,
} from "../../steps/mod.ts";
import { definePart } from "./feature.ts";

/** The `nvidia` feature. */
export const nvidia = definePart<NvidiaGpuSettings>({
  name: "nvidia",
  summary: "GPU passthrough and the NVIDIA user-space driver matching the host's",
  reads: ["gpu_assignment", "nvidia_driver_version (top level)", "nvidia_runfile_url (top level)"],
  settings: nvidiaGpuSettingsOf,
  requirements: [nvidiaHostDriver({ version: (ctx) => ctx.settings.driverVersion })],
  steps: [
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
