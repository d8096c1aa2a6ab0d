/**
 * `vllm`: vLLM in the Python virtual environment `/opt/vllm`, linked as `/usr/bin/vllm`. The server itself is an application (`lib/applications/vllm_server.ts`),
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
} from "../../steps/mod.ts";
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
      // /usr/bin, not /usr/local/bin: `pct exec` runs commands with
      // PATH=/sbin:/bin:/usr/sbin:/usr/bin, so only there does `pct exec <CTID> -- vllm` find it
      // (login shells have /usr/bin too).
      name: "Put vllm on the PATH",
      link: "/usr/bin/vllm",
      target: VLLM_BIN,
    }),
  ],
  verification: [
    // The bare name, as `pct exec` finds it: proves the link too.
    commandSucceeds(["vllm", "--version"], {
      name: "vllm --version runs",
      expectOutput: /\S/,
      timeoutMs: 120_000,
    }),
  ],
});
