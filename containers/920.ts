/**
 * 920 BaseTemplateVLLM: the vLLM base template, cloned from the GPU template. Installs vLLM into
 * a Python virtual environment, puts `vllm` on the PATH, proves it runs, and ends in the snapshot
 * vLLM servers are cloned from.
 *
 * @module
 */

import { defineContainer } from "../lib/container_module.ts";
import {
  aptPackages,
  commandSucceeds,
  pipPackages,
  pythonVenv,
  symlinkInContainer,
} from "../lib/steps/mod.ts";

const VENV = "/opt/vllm";

export default defineContainer({
  ctid: "920",
  kind: "template",
  description: "vLLM in a Python virtual environment; snapshot for vLLM servers",
  defaultSnapshotName: "vllm-base-snapshot",
  settings: () => ({}),
  steps: [
    aptPackages(["python3-venv", "python3-pip"], { name: "Install Python 3 with venv and pip" }),
    pythonVenv(VENV),
    pipPackages(VENV, ["vllm"]),
    symlinkInContainer({
      // /usr/bin, not /usr/local/bin: `pct exec` runs commands with
      // PATH=/sbin:/bin:/usr/sbin:/usr/bin, so only there does `pct exec <CTID> -- vllm` find it
      // (login shells have /usr/bin too).
      name: "Put vllm on the PATH",
      link: "/usr/bin/vllm",
      target: `${VENV}/bin/vllm`,
    }),
  ],
  verification: [
    commandSucceeds(["vllm", "--version"], { expectOutput: /\S/, timeoutMs: 120_000 }),
  ],
});
