/**
 * 950 vllmQwen3Coder: a vLLM OpenAI-compatible server for the configured model, run as an enabled
 * systemd service; ready when `/health` answers 200 and `/v1/models` lists the model.
 *
 * @module
 */

import { vllmSettingsOf } from "../lib/config/read_config.ts";
import { defineContainer } from "../lib/container_module.ts";
import { waitFor } from "../lib/wait.ts";

const UNIT = "vllm.service";
const UNIT_PATH = `/etc/systemd/system/${UNIT}`;
const PORT = 8000;

/** The systemd unit that serves `model`; everything in it comes from validated settings. */
function unitFile(model: string, tensorParallelSize: number): string {
  return [
    "[Unit]",
    `Description=vLLM OpenAI-compatible server for ${model}`,
    "After=network-online.target",
    "Wants=network-online.target",
    "",
    "[Service]",
    `ExecStart=/opt/vllm/bin/vllm serve ${model} --host 0.0.0.0 --port ${PORT} ` +
    `--tensor-parallel-size ${tensorParallelSize}`,
    "Restart=on-failure",
    "RestartSec=10",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

export default defineContainer({
  ctid: "950",
  kind: "standard",
  description: "vLLM OpenAI-compatible server for the configured model, as a systemd service",
  settings: (config) => {
    const vllm = vllmSettingsOf(config);
    return { ...vllm, unit: unitFile(vllm.model, vllm.tensorParallelSize) };
  },
  steps: [
    {
      name: `Write the ${UNIT} unit`,
      check: async (ctx) => (await ctx.container.readFile(UNIT_PATH)) === ctx.settings.unit,
      action: async (ctx) => {
        await ctx.container.run(["tee", UNIT_PATH], { input: ctx.settings.unit });
        await ctx.container.run(["systemctl", "daemon-reload"]);
        // A changed unit only takes effect on restart; try-restart leaves a stopped service alone.
        await ctx.container.run(["systemctl", "try-restart", UNIT]);
      },
    },
    {
      name: `Enable and start ${UNIT}`,
      check: async (ctx) =>
        await ctx.container.succeeds(["systemctl", "is-enabled", "--quiet", UNIT]) &&
        await ctx.container.succeeds(["systemctl", "is-active", "--quiet", UNIT]),
      action: (ctx) => ctx.container.run(["systemctl", "enable", "--now", UNIT]).then(() => {}),
    },
  ],
  verification: [
    {
      name: `GET http://localhost:${PORT}/health answers 200`,
      run: async (ctx) => {
        await waitFor(`vLLM in container ${ctx.ctid} to answer /health`, async () => {
          const result = await ctx.container.exec([
            "curl",
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            `http://localhost:${PORT}/health`,
          ]);
          const code = result.stdout.trim();
          return code === "200" ? { ready: true } : {
            ready: false,
            detail: `HTTP ${code || "no answer"} (curl exit ${result.exitCode})`,
          };
        }, { timeoutMs: 900_000, initialDelayMs: 1000, maxDelayMs: 15_000 });
      },
    },
    {
      name: "/v1/models lists the configured model",
      run: async (ctx) => {
        const body = await ctx.container.output([
          "curl",
          "-fsS",
          `http://localhost:${PORT}/v1/models`,
        ]);
        const ids = (JSON.parse(body).data ?? []).map((m: { id?: string }) => m.id);
        if (!ids.includes(ctx.settings.model)) {
          throw new Error(`/v1/models lists ${JSON.stringify(ids)}, not "${ctx.settings.model}"`);
        }
      },
    },
  ],
});
