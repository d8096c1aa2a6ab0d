/**
 * `vllm`: vLLM in the Python virtual environment `/opt/vllm`, linked as `/usr/local/bin/vllm`
 * for people's shells. The server itself is an application (`lib/applications/vllm_server.ts`),
 * chosen when the entry names a model.
 *
 * @module
 */

import {
  aptPackages,
  commandSucceeds,
  pipPackages,
  pythonVenv,
  symlinkInContainer,
} from "../steps/mod.ts";
import { definePart } from "./feature.ts";

/** The virtual environment vLLM lives in. */
export const VLLM_VENV = "/opt/vllm";

/** The `vllm` program, by its full path. */
export const VLLM_BIN = `${VLLM_VENV}/bin/vllm`;

/** The `vllm` feature. */
export const vllm = definePart({
  name: "vllm",
  summary: `vLLM in the Python virtual environment ${VLLM_VENV}`,
  reads: [],
  settings: () => ({}),
  steps: [
    aptPackages(["python3-venv", "python3-pip"], { name: "Install Python 3 with venv and pip" }),
    pythonVenv(VLLM_VENV),
    pipPackages(VLLM_VENV, ["vllm"]),
    symlinkInContainer({
      name: "Put vllm on the PATH",
      link: "/usr/local/bin/vllm",
      target: VLLM_BIN,
    }),
  ],
  verification: [
    // By its full path: `pct exec` runs commands with PATH=/sbin:/bin:/usr/sbin:/usr/bin, which
    // lacks /usr/local/bin, so a bare `vllm` is not found on a real Proxmox host (exit 127).
    commandSucceeds([VLLM_BIN, "--version"], {
      name: "vllm --version runs",
      expectOutput: /\S/,
      timeoutMs: 120_000,
    }),
  ],
});
