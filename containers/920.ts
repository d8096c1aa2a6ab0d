/**
 * 920 BaseTemplateVLLM: the vLLM base template. Cloned from the GPU template; adds vLLM in a
 * Python virtual environment, proves it runs, and ends in the snapshot vLLM servers are cloned
 * from.
 *
 * @module
 */

import { defineContainer } from "../lib/container_module.ts";

const VENV = "/opt/vllm";
const VLLM = `${VENV}/bin/vllm`;
const APT_ENV = ["env", "DEBIAN_FRONTEND=noninteractive"];

export default defineContainer({
  ctid: "920",
  kind: "template",
  description: "vLLM in a Python virtual environment; snapshot for vLLM servers",
  defaultSnapshotName: "vllm-base-snapshot",
  settings: () => ({}),
  steps: [
    {
      name: "Install Python 3 with venv and pip",
      check: (ctx) => ctx.container.succeeds(["dpkg-query", "-W", "python3-venv", "python3-pip"]),
      action: async (ctx) => {
        await ctx.container.run([...APT_ENV, "apt-get", "update"], { timeoutMs: 600_000 });
        await ctx.container.run(
          [
            ...APT_ENV,
            "apt-get",
            "install",
            "-y",
            "--no-install-recommends",
            "python3-venv",
            "python3-pip",
          ],
          { timeoutMs: 1_200_000 },
        );
      },
    },
    {
      name: `Create the virtual environment ${VENV}`,
      check: (ctx) => ctx.container.succeeds(["test", "-x", `${VENV}/bin/python`]),
      action: (ctx) => ctx.container.run(["python3", "-m", "venv", VENV]).then(() => {}),
    },
    {
      name: "Install vLLM into the virtual environment",
      check: (ctx) => ctx.container.succeeds([VLLM, "--version"], { timeoutMs: 120_000 }),
      action: (ctx) =>
        ctx.container.run([`${VENV}/bin/pip`, "install", "--no-input", "vllm"], {
          timeoutMs: 3_600_000,
        }).then(() => {}),
    },
    {
      name: "Put vllm on the PATH",
      check: async (ctx) =>
        (await ctx.container.exec(["readlink", "/usr/local/bin/vllm"])).stdout.trim() === VLLM,
      action: (ctx) =>
        ctx.container.run(["ln", "-sfn", VLLM, "/usr/local/bin/vllm"]).then(() => {}),
    },
  ],
  verification: [
    {
      name: "vllm --version answers",
      run: async (ctx) => {
        const version = await ctx.container.output(["vllm", "--version"], { timeoutMs: 120_000 });
        if (!version) throw new Error("vllm --version printed nothing");
        ctx.log.info(`vLLM ${version} is installed in container ${ctx.ctid}`);
      },
    },
  ],
});
