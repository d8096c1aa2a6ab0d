/**
 * 950 vllmQwen3Coder: a vLLM OpenAI-compatible server, cloned from the vLLM template 920. Serves
 * the configured model (`vllm_model` and `vllm_tensor_parallel_size`, or `vllm_engine_config`)
 * as the enabled systemd service `vllm.service`, with a Hugging Face token (`HF_TOKEN`, or the
 * file named by `HF_TOKEN_FILE`) in a root-only environment file; ready when `GET /health`
 * answers 200 and `/v1/models` lists the model.
 *
 * @module
 */

import {
  type ContainerConfig,
  entryConfigError,
  type VllmSettings,
  vllmSettingsOf,
} from "../lib/config/read_config.ts";
import { defineContainer } from "../lib/container_module.ts";
import { ConfigError } from "../lib/errors.ts";
import { describeIoError } from "../lib/io_errors.ts";
import { registerSecret } from "../lib/secrets.ts";
import {
  fileInContainer,
  httpReady,
  restartIfActive,
  serviceEnabledAndRunning,
  systemdUnit,
} from "../lib/steps/mod.ts";

interface Settings {
  /** The content of the root-only environment file (holds the token, if any). */
  readonly environmentFile: string;
  /** The text of `vllm.service`. */
  readonly unit: string;
  /** `/health` as seen from inside the container. */
  readonly healthUrl: string;
  /** `/v1/models` as seen from inside the container. */
  readonly modelsUrl: string;
  /** The id `/v1/models` must list: the served model name, else the model. */
  readonly listedModel: string;
}

const UNIT = "vllm.service";
const ENV_FILE = "/etc/vllm/vllm.env";
const VLLM = "/opt/vllm/bin/vllm";

/**
 * Values written into the unit's `ExecStart=`: systemd would expand `%` and `$` and split on
 * quotes, so only characters of model ids, paths and plain options are taken.
 */
const UNIT_WORD = /^[A-Za-z0-9._\/:@+=-]+$/;

/** MLX weights are for Apple silicon; vLLM cannot load them (the old scripts' mistake). */
const MLX = /(^|[\/_.-])mlx([\/_.-]|$)/i;

function checkedSettings(config: ContainerConfig): Omit<Settings, "environmentFile"> {
  const vllm = vllmSettingsOf(config);
  const modelField = config.entry.vllm_engine_config?.ModelConfig?.model !== undefined
    ? ["vllm_engine_config", "ModelConfig", "model"]
    : ["vllm_model"];
  if (MLX.test(vllm.model)) {
    throw entryConfigError(
      config,
      modelField,
      `${JSON.stringify(vllm.model)} is an MLX model (for Apple silicon), which vLLM cannot ` +
        "serve: choose the model in a format vLLM loads (safetensors, AWQ, GPTQ, FP8)",
    );
  }
  const words: [string[], string | undefined][] = [
    [modelField, vllm.model],
    [["vllm_engine_config", "ServerConfig", "served_model_name"], vllm.servedModelName],
    [["vllm_engine_config", "ServerConfig", "host"], vllm.host],
    [["vllm_engine_config", "CacheConfig", "quantization"], vllm.quantization],
    [["vllm_engine_config", "ModelConfig", "dtype"], vllm.dtype],
  ];
  for (const [field, value] of words) {
    if (value !== undefined && !UNIT_WORD.test(value)) {
      throw entryConfigError(
        config,
        field,
        `${JSON.stringify(value)} cannot go into the service's command line: expected letters, ` +
          "digits and . _ / : @ + = - only",
      );
    }
  }
  const host = vllm.host ?? "0.0.0.0";
  const port = vllm.port ?? 8000;
  const base = `http://${probeHost(host)}:${port}`;
  return {
    unit: unitFile(vllm, host, port),
    healthUrl: `${base}/health`,
    modelsUrl: `${base}/v1/models`,
    listedModel: vllm.servedModelName ?? vllm.model,
  };
}

/** The address to probe from inside the container for a server listening on `host`. */
function probeHost(host: string): string {
  if (host === "0.0.0.0" || host === "::") return "localhost";
  return host.includes(":") ? `[${host}]` : host;
}

/** `vllm.service`: everything in it comes from validated settings. */
function unitFile(vllm: VllmSettings, host: string, port: number): string {
  const options = [
    `--host ${host}`,
    `--port ${port}`,
    `--tensor-parallel-size ${vllm.tensorParallelSize}`,
    vllm.gpuMemoryUtilization !== undefined &&
    `--gpu-memory-utilization ${vllm.gpuMemoryUtilization}`,
    vllm.maxModelLen !== undefined && `--max-model-len ${vllm.maxModelLen}`,
    vllm.servedModelName !== undefined && `--served-model-name ${vllm.servedModelName}`,
    vllm.quantization !== undefined && `--quantization ${vllm.quantization}`,
    vllm.dtype !== undefined && `--dtype ${vllm.dtype}`,
    vllm.trustRemoteCode === true && "--trust-remote-code",
  ].filter((option) => option !== false);
  return [
    "[Unit]",
    `Description=vLLM OpenAI-compatible server for ${vllm.model}`,
    "After=network-online.target",
    "Wants=network-online.target",
    "",
    "[Service]",
    `EnvironmentFile=${ENV_FILE}`,
    `ExecStart=${VLLM} serve ${vllm.model} ${options.join(" ")}`,
    "Restart=on-failure",
    "RestartSec=10",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

/**
 * The Hugging Face token from `HF_TOKEN`, or from the host file named by `HF_TOKEN_FILE`; never
 * quoted in a message. A token read from a file is registered so that every log line masks it.
 */
function huggingFaceToken(env: Readonly<Record<string, string | undefined>>): string | undefined {
  const direct = env.HF_TOKEN?.trim() || undefined;
  const file = env.HF_TOKEN_FILE?.trim() || undefined;
  if (direct !== undefined && file !== undefined) {
    throw new ConfigError(
      "Both HF_TOKEN and HF_TOKEN_FILE are set: set only one of them (the token, or the host " +
        "file holding it)",
    );
  }
  let token = direct;
  if (file !== undefined) {
    try {
      token = Deno.readTextFileSync(file).trim();
    } catch (error) {
      throw new ConfigError(
        // Not naming the path: HF_TOKEN_FILE's value is masked like any *TOKEN* variable's.
        "Cannot read the Hugging Face token from the file named by HF_TOKEN_FILE: " +
          describeIoError(error),
        { cause: error },
      );
    }
    registerSecret(token);
  }
  if (token === undefined || token === "") return undefined;
  if (!/^[A-Za-z0-9_.-]+$/.test(token)) {
    throw new ConfigError(
      `The Hugging Face token from ${file ? "HF_TOKEN_FILE" : "HF_TOKEN"} has characters a ` +
        "token does not have (white space, quotes, ...): expected only letters, digits and _ . -",
    );
  }
  return token;
}

/** The environment file's content: the token, or a note that there is none. */
function environmentFile(token: string | undefined): string {
  return token === undefined
    ? "# No Hugging Face token was given (HF_TOKEN or HF_TOKEN_FILE of the setup run).\n"
    : `# The Hugging Face token vLLM downloads gated models with.\nHF_TOKEN=${token}\n`;
}

export default defineContainer<Settings>({
  ctid: "950",
  kind: "standard",
  description: "vLLM OpenAI-compatible server for the configured model, as a systemd service",
  settings: (config, env) => ({
    ...checkedSettings(config),
    environmentFile: environmentFile(huggingFaceToken(env)),
  }),
  steps: [
    fileInContainer<Settings>({
      name: `Give vLLM the Hugging Face token (${ENV_FILE}, root only)`,
      path: ENV_FILE,
      content: (ctx) => ctx.settings.environmentFile,
      secret: true,
      onChange: (ctx) => restartIfActive(ctx, UNIT),
    }),
    systemdUnit<Settings>({ name: UNIT, content: (ctx) => ctx.settings.unit }),
    serviceEnabledAndRunning(UNIT),
  ],
  produces: (settings) =>
    `vLLM serves "${settings.listedModel}" at ${settings.modelsUrl.replace(/\/models$/, "")} ` +
    "(inside the container)",
  verification: [
    httpReady<Settings>({
      name: "GET /health answers 200",
      url: (ctx) => ctx.settings.healthUrl,
      // Downloading and loading a large model takes a while.
      timeoutMs: 30 * 60_000,
    }),
    {
      name: "/v1/models lists the served model",
      run: async (ctx) => {
        const { modelsUrl, listedModel } = ctx.settings;
        const body = await ctx.container.output(["curl", "-fsS", "--max-time", "30", modelsUrl]);
        let ids: unknown[];
        try {
          ids = (JSON.parse(body).data ?? []).map((model: { id?: unknown }) => model?.id);
        } catch {
          throw new Error(`${modelsUrl} answered something else than JSON: ${body.slice(0, 200)}`);
        }
        if (!ids.includes(listedModel)) {
          throw new Error(`${modelsUrl} lists ${JSON.stringify(ids)}, not "${listedModel}"`);
        }
      },
    },
  ],
});
