/**
 * The vLLM server application: vLLM's OpenAI-compatible server for the entry's model, as the
 * enabled systemd service `vllm.service`, with a Hugging Face token (`HF_TOKEN`, or the file
 * named by `HF_TOKEN_FILE`) in a root-only environment file; ready when `GET /health` answers 200
 * and `/v1/models` lists the model. A run given no token keeps the one the container has (the
 * orchestrator's next pass may not pass it on); `PHOENIX_HF_REMOVE=true` removes it. Chosen for
 * every entry that names a model (`vllm_engine_config` or `vllm_model`) and is not a template
 * layer.
 *
 * The server gets exactly the options the entry asks for: every field of `vllm_engine_config` it
 * knows becomes one option of `vllm serve`, and a field it does not know is refused (exit 2)
 * rather than silently dropped. The original runner turned every key into an option blindly and
 * wrote the unit file on the host instead of in the container.
 *
 * @module
 */

import {
  type ContainerConfig,
  entryConfigError,
  gpuIndicesOf,
  type VllmSettings,
  vllmSettingsOf,
} from "../../config/read_config.ts";
import { ConfigError } from "../../core/errors.ts";
import {
  readBoolean,
  readHuggingFaceTokenFile,
  REMOVE_HF_TOKEN,
} from "../../config/environment.ts";
import { definePart } from "../features/feature.ts";
import { VLLM_BIN } from "../features/vllm.ts";
import {
  fileInContainer,
  httpReady,
  restartIfActive,
  serviceEnabledAndRunning,
  systemdUnit,
} from "../../steps/mod.ts";

/**
 * What the run does with the Hugging Face token: write the one it was given, remove the one the
 * container has, or, given none, keep the container's.
 */
export type TokenChange =
  | { readonly kind: "set"; readonly token: string }
  | { readonly kind: "remove" }
  | { readonly kind: "keep" };

/** What the server's steps need, derived from the entry before any pct call. */
export interface VllmServerSettings {
  /** What the run does with the token in the root-only environment file. */
  readonly token: TokenChange;
  /** The text of `vllm.service`. */
  readonly unit: string;
  /** `/health` as seen from inside the container. */
  readonly healthUrl: string;
  /** `/v1/models` as seen from inside the container. */
  readonly modelsUrl: string;
  /** The id `/v1/models` must list: the served model name, else the model. */
  readonly listedModel: string;
}

/** The systemd unit of the server. */
export const VLLM_UNIT = "vllm.service";
/** The root-only environment file the unit reads (the Hugging Face token). */
export const VLLM_ENV_FILE = "/etc/vllm/vllm.env";

/** The fields of `vllm_engine_config` the server turns into options, by group. */
export const ENGINE_FIELDS: Readonly<Record<string, readonly string[]>> = {
  ModelConfig: ["model", "trust_remote_code", "dtype", "max_model_len"],
  CacheConfig: ["quantization", "gpu_memory_utilization"],
  ParallelConfig: ["tensor_parallel_size"],
  ServerConfig: ["host", "port", "served_model_name"],
};

/**
 * Values written into the unit's `ExecStart=`: systemd would expand `%` and `$` and split on
 * quotes, so only characters of model ids, paths and plain options are taken.
 */
const UNIT_WORD = /^[A-Za-z0-9._\/:@+=-]+$/;

/** MLX weights are for Apple silicon; vLLM cannot load them (the old scripts' mistake). */
const MLX = /(^|[\/_.-])mlx([\/_.-]|$)/i;

/** Refuses fields of `vllm_engine_config` the server would otherwise leave out. */
function refuseUnknownEngineFields(config: ContainerConfig): void {
  const engine = config.entry.vllm_engine_config as Record<string, unknown> | undefined;
  for (const [group, fields] of Object.entries(engine ?? {})) {
    const known = ENGINE_FIELDS[group];
    if (known === undefined) {
      throw entryConfigError(
        config,
        ["vllm_engine_config", group],
        `the vLLM server does not know the group ${JSON.stringify(group)} (it knows ` +
          `${Object.keys(ENGINE_FIELDS).join(", ")}); remove it, or write containers/` +
          `${config.ctid}.ts for this container`,
      );
    }
    for (const field of Object.keys(fields as Record<string, unknown>)) {
      if (!known.includes(field)) {
        throw entryConfigError(
          config,
          ["vllm_engine_config", group, field],
          `the vLLM server does not know this field (${group} has ${known.join(", ")}), and ` +
            "would run without it; remove it, or write containers/" + `${config.ctid}.ts`,
        );
      }
    }
  }
}

/**
 * The `vllm serve` command line for the settings: the model, then one option per setting the
 * config gives (host and port always).
 *
 * @example
 * ```ts
 * import { vllmServeArgv } from "./vllm_server.ts";
 * vllmServeArgv({ model: "Qwen/Qwen2-7B-Instruct", tensorParallelSize: 1 }, "0.0.0.0", 8000);
 * // ["/opt/vllm/bin/vllm", "serve", "Qwen/Qwen2-7B-Instruct", "--host", "0.0.0.0",
 * //  "--port", "8000", "--tensor-parallel-size", "1"]
 * ```
 */
export function vllmServeArgv(vllm: VllmSettings, host: string, port: number): string[] {
  const options: (string | number | false | undefined)[][] = [
    ["--host", host],
    ["--port", port],
    ["--tensor-parallel-size", vllm.tensorParallelSize],
    vllm.gpuMemoryUtilization !== undefined &&
    ["--gpu-memory-utilization", vllm.gpuMemoryUtilization],
    vllm.maxModelLen !== undefined && ["--max-model-len", vllm.maxModelLen],
    vllm.servedModelName !== undefined && ["--served-model-name", vllm.servedModelName],
    vllm.quantization !== undefined && ["--quantization", vllm.quantization],
    vllm.dtype !== undefined && ["--dtype", vllm.dtype],
    vllm.trustRemoteCode === true && ["--trust-remote-code"],
  ].filter((option): option is (string | number)[] => option !== false);
  return [VLLM_BIN, "serve", vllm.model, ...options.flat().map(String)];
}

/** The port the server listens on, checked against the entry's `ports`. */
function serverPort(config: ContainerConfig, vllm: VllmSettings): number {
  const port = vllm.port ?? 8000;
  const ports = config.entry.ports;
  if (ports !== undefined && !ports.some((mapping) => Number(mapping.split(":")[1]) === port)) {
    throw entryConfigError(
      config,
      ["ports"],
      `no mapping reaches the vLLM server's port ${port} (the container side of each ` +
        `"host:container" mapping); add one such as "${port}:${port}", or set ` +
        "vllm_engine_config.ServerConfig.port",
    );
  }
  return port;
}

/** Everything the server needs from the entry, checked. */
export function vllmServerSettingsOf(
  config: ContainerConfig,
): Omit<VllmServerSettings, "token"> & { readonly argv: readonly string[] } {
  refuseUnknownEngineFields(config);
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
  if (gpuIndicesOf(config.entry).length === 0) {
    throw entryConfigError(
      config,
      config.entry.gpu_assignment === undefined ? [] : ["gpu_assignment"],
      `${
        config.entry.gpu_assignment === undefined ? "missing field gpu_assignment" : 'found "none"'
      }: the vLLM server of container ${config.ctid} needs the GPUs it runs on; set ` +
        `gpu_assignment to at least ${vllm.tensorParallelSize} GPU(s), e.g. "0"`,
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
  const port = serverPort(config, vllm);
  const base = `http://${probeHost(host)}:${port}`;
  const argv = vllmServeArgv(vllm, host, port);
  return {
    argv,
    unit: unitFile(vllm.model, argv),
    healthUrl: `${base}/health`,
    modelsUrl: `${base}/v1/models`,
    listedModel: vllm.servedModelName ?? vllm.model,
  };
}

/** Asks the server for its models (`/v1/models`), from inside the container. */
function listModels(url: string): string[] {
  return ["curl", "-fsS", "--max-time", "30", url];
}

/** The address to probe from inside the container for a server listening on `host`. */
function probeHost(host: string): string {
  if (host === "0.0.0.0" || host === "::") return "localhost";
  return host.includes(":") ? `[${host}]` : host;
}

/** `vllm.service`: everything in it comes from validated settings. */
function unitFile(model: string, argv: readonly string[]): string {
  return [
    "[Unit]",
    `Description=vLLM OpenAI-compatible server for ${model}`,
    "After=network-online.target",
    "Wants=network-online.target",
    "",
    "[Service]",
    `EnvironmentFile=${VLLM_ENV_FILE}`,
    `ExecStart=${argv.join(" ")}`,
    "Restart=on-failure",
    "RestartSec=10",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

/**
 * What to do with the token: write the one from `HF_TOKEN`, or from the host file named by
 * `HF_TOKEN_FILE` (never quoted in a message; one read from a file is registered so that every
 * log line masks it); remove it (`PHOENIX_HF_REMOVE`); else keep the container's.
 */
function tokenChange(env: Readonly<Record<string, string | undefined>>): TokenChange {
  const token = huggingFaceToken(env);
  const remove = readBoolean(env, REMOVE_HF_TOKEN);
  if (remove.problem) {
    throw new ConfigError(
      "Cannot tell whether to remove the Hugging Face token from the container, as " +
        remove.problem,
    );
  }
  if (remove.value && token !== undefined) {
    throw new ConfigError(
      `${REMOVE_HF_TOKEN} asks to remove the Hugging Face token, but HF_TOKEN or HF_TOKEN_FILE ` +
        "gives one: set only one of them",
    );
  }
  if (token !== undefined) return { kind: "set", token };
  return { kind: remove.value ? "remove" : "keep" };
}

/** The Hugging Face token from `HF_TOKEN`, or from the host file named by `HF_TOKEN_FILE`. */
function huggingFaceToken(env: Readonly<Record<string, string | undefined>>): string | undefined {
  const direct = env.HF_TOKEN?.trim() || undefined;
  const file = env.HF_TOKEN_FILE?.trim() || undefined;
  if (direct !== undefined && file !== undefined) {
    throw new ConfigError(
      "Both HF_TOKEN and HF_TOKEN_FILE are set: set only one of them (the token, or the host " +
        "file holding it)",
    );
  }
  const token = file !== undefined ? readHuggingFaceTokenFile(file) : direct;
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
function environmentFile(token: TokenChange): string {
  return token.kind === "set"
    ? `# The Hugging Face token vLLM downloads gated models with.\nHF_TOKEN=${token.token}\n`
    : "# No Hugging Face token was given (HF_TOKEN or HF_TOKEN_FILE of the setup run).\n";
}

/** The vLLM server application. */
export const vllmServer = definePart<VllmServerSettings>({
  name: "vllm-server",
  summary: "the vLLM OpenAI-compatible server for the entry's model as vllm.service, ready " +
    "when /health answers and /v1/models lists the model",
  reads: [
    "vllm_engine_config (ModelConfig: model, trust_remote_code, dtype, max_model_len; " +
    "CacheConfig: quantization, gpu_memory_utilization; ParallelConfig: tensor_parallel_size; " +
    "ServerConfig: host, port, served_model_name)",
    "or vllm_model, vllm_tensor_parallel_size, vllm_gpu_memory_utilization, vllm_max_model_len",
    "gpu_assignment (at least as many GPUs as the parallelism)",
    "ports (one must reach the server's port)",
  ],
  settings: (config, env) => {
    const { argv: _argv, ...checked } = vllmServerSettingsOf(config);
    return { ...checked, token: tokenChange(env) };
  },
  steps: [
    fileInContainer<VllmServerSettings>({
      name: `Give vLLM the Hugging Face token (${VLLM_ENV_FILE}, root only)`,
      path: VLLM_ENV_FILE,
      content: (ctx) => environmentFile(ctx.settings.token),
      secret: true,
      keep: (ctx) =>
        ctx.settings.token.kind === "keep"
          ? `no HF_TOKEN or HF_TOKEN_FILE was given, so the Hugging Face token it holds stays ` +
            `and ${VLLM_UNIT} is not restarted (${REMOVE_HF_TOKEN}=true removes the token)`
          : undefined,
      onChange: async (ctx) => {
        if (ctx.settings.token.kind === "remove") {
          ctx.log.info(
            `Removed the Hugging Face token from ${VLLM_ENV_FILE} in container ${ctx.ctid}, ` +
              `as ${REMOVE_HF_TOKEN} asks`,
          );
        }
        await restartIfActive(ctx, VLLM_UNIT);
      },
    }),
    systemdUnit<VllmServerSettings>({ name: VLLM_UNIT, content: (ctx) => ctx.settings.unit }),
    serviceEnabledAndRunning(VLLM_UNIT),
  ],
  produces: (settings) =>
    `vLLM serves "${settings.listedModel}" at ${settings.modelsUrl.replace(/\/models$/, "")} ` +
    "(inside the container)",
  verification: [
    httpReady<VllmServerSettings>({
      name: "GET /health answers 200",
      url: (ctx) => ctx.settings.healthUrl,
      // Downloading and loading a large model takes a while.
      timeoutMs: 30 * 60_000,
    }),
    {
      name: "/v1/models lists the served model",
      probes: (ctx) => [listModels(ctx.settings.modelsUrl)],
      run: async (ctx) => {
        const { modelsUrl, listedModel } = ctx.settings;
        const body = await ctx.container.output(listModels(modelsUrl));
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
