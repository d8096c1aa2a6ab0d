/**
 * Reads `phoenix_lxc_configs.json`: loads and parses it (JSON with comments and trailing commas),
 * finds and validates one container's entry, and derives what container modules need from it
 * (snapshot name, clone source, features, GPUs, vLLM settings).
 *
 * Every failure is a {@linkcode ConfigError} that says where: the file, `line:column`, the JSON
 * path (`lxc_configs["950"].vllm_tensor_parallel_size`) and what was expected versus found.
 *
 * @example Read container 950's vLLM settings
 * ```ts ignore
 * const loaded = await loadConfigFile("/usr/local/phoenix_hypervisor/etc/phoenix_lxc_configs.json");
 * const config = containerConfig(loaded, "950");
 * const { model, tensorParallelSize } = vllmSettingsOf(config);
 * ```
 *
 * @module
 */

import {
  type Node,
  type ParseError,
  parseJsonc,
  parseTree,
  printParseErrorCode,
} from "../deps/jsonc_parser.ts";
import { z } from "../deps/zod.ts";
import { ConfigError } from "../core/errors.ts";
import { describeIoError } from "../core/io_errors.ts";
import { describeFound, expectationOf, type Problem, problemOf } from "./_issues.ts";
import { invalidUtf8Offset, MAX_CONFIG_BYTES, MAX_NESTING, tooDeepAt } from "./_limits.ts";
import {
  type DuplicateKey,
  duplicateKeys,
  formatJsonPath,
  type JsonPath,
  lineColumnAt,
  nodeOrAncestorAt,
} from "./_location.ts";
import { type ContainerEntry, ContainerEntrySchema, LxcConfigFileSchema } from "./schema.ts";

const PARSE_OPTIONS = { allowTrailingComma: true, disallowComments: false };
/** How many problems a message lists before saying how many more there are. */
const MAX_LISTED = 10;
/** Syntax errors cascade: after the first few they are mostly echoes of those. */
const MAX_SYNTAX_LISTED = 5;
const FILE_HINT =
  "Set LXC_CONFIG_FILE to the path of phoenix_lxc_configs.json (the orchestrator's " +
  "default is /usr/local/phoenix_hypervisor/etc/phoenix_lxc_configs.json).";

/** The top level is checked on load; each entry only when a container asks for it. */
const TopLevelSchema = LxcConfigFileSchema.extend({
  lxc_configs: z.record(LxcConfigFileSchema.shape.lxc_configs.keyType, z.unknown(), {
    error: "an object keyed by CTID",
  }),
});

/** The top level of the file, with the entries not yet validated. */
export type LxcConfigTopLevel = z.infer<typeof TopLevelSchema>;

/** A parsed configuration file, with what is needed to say where a value is. */
export interface LoadedConfig {
  /** The path the file was read from, as given. */
  readonly file: string;
  /** The file's text. */
  readonly text: string;
  /** jsonc-parser's syntax tree of `text`, for offsets. */
  readonly tree: Node;
  /** The parsed content: top level validated, entries as found. */
  readonly data: LxcConfigTopLevel;
}

/** One container's validated entry, and where it came from. */
export interface ContainerConfig<E extends ContainerEntry = ContainerEntry> {
  /** The file the entry is in. */
  readonly loaded: LoadedConfig;
  /** The container's CTID, e.g. `"950"`. */
  readonly ctid: string;
  /** The entry, validated by the common schema or a container module's stricter one. */
  readonly entry: E;
}

/**
 * Reads and parses a configuration file and validates its top level.
 *
 * @param path The file, usually `LXC_CONFIG_FILE`.
 * @param hint What to do about a file that cannot be read or is empty, said after the reason:
 *   by default, to set `LXC_CONFIG_FILE` (the build, which takes `--config`, says so instead).
 * @returns The parsed file.
 * @throws {ConfigError} When the file cannot be read, has syntax errors (all of them are
 *   collected; the first few are listed as `file:line:column: message`), or its top level is
 *   wrong (no `lxc_configs` object, a CTID key twice, ...).
 *
 * @example
 * ```ts ignore
 * const loaded = await loadConfigFile(Deno.env.get("LXC_CONFIG_FILE")!);
 * Object.keys(loaded.data.lxc_configs); // ["900", "901", ...]
 * ```
 */
export async function loadConfigFile(path: string, hint = FILE_HINT): Promise<LoadedConfig> {
  let text = decodeConfig(path, await readConfigBytes(path, hint));
  // A byte-order mark is not JSON, and editors do not count it as a column either.
  text = text.replace(/^\uFEFF/, "");
  if (text.trim() === "") {
    throw new ConfigError(`Cannot parse the configuration file ${path}: it is empty. ${hint}`);
  }
  const deep = tooDeepAt(text);
  if (deep !== undefined) {
    const { line, column } = lineColumnAt(text, deep);
    throw new ConfigError(
      `Cannot parse the configuration file ${path}: ${path}:${line}:${column}: arrays and ` +
        `objects nest more than ${MAX_NESTING} levels deep here; a configuration file needs ` +
        "a few levels only",
    );
  }
  const errors: ParseError[] = [];
  const tree = parseTree(text, errors, PARSE_OPTIONS);
  if (errors.length > 0 || tree === undefined) throw syntaxError(path, text, errors);
  const loaded = { file: path, text, tree, data: parseJsonc(text, [], PARSE_OPTIONS) };

  const lxcConfigsNode = tree.type === "object" ? findProperty(tree, "lxc_configs") : undefined;
  const duplicates = [
    ...duplicateKeys(tree, [], false),
    ...(lxcConfigsNode ? duplicateKeys(lxcConfigsNode, ["lxc_configs"], false) : []),
  ];
  if (duplicates.length > 0) {
    throw new ConfigError(
      problemsMessage(
        loaded,
        "Invalid configuration file",
        duplicates.map((found) => duplicateProblem(text, found)),
      ),
    );
  }

  const result = TopLevelSchema.safeParse(loaded.data, { error: expectationOf });
  if (!result.success) {
    const problems = result.error.issues.map((issue) => problemOf(issue, loaded.data, []));
    throw new ConfigError(problemsMessage(loaded, "Invalid configuration file", problems));
  }
  return { ...loaded, data: result.data };
}

/**
 * Finds container `ctid`'s entry and validates it against the common entry schema.
 *
 * @param loaded The file, from {@linkcode loadConfigFile}.
 * @param ctid The container's CTID, e.g. `"950"`.
 * @returns The validated entry and its origin.
 * @throws {ConfigError} When the file has no entry for `ctid` (the message lists the CTIDs it
 *   has) or the entry is invalid (see {@linkcode validateEntry}).
 *
 * @example
 * ```ts ignore
 * const config = containerConfig(loaded, "901");
 * cloneSourceOf(config.entry); // "900"
 * ```
 */
export function containerConfig(loaded: LoadedConfig, ctid: string): ContainerConfig {
  return validateEntry(loaded, ctid, ContainerEntrySchema);
}

/**
 * Validates container `ctid`'s entry against `schema`: the common {@linkcode ContainerEntrySchema}
 * or a stricter one a container module derives from it to declare the fields it needs.
 *
 * @param loaded The file, from {@linkcode loadConfigFile}.
 * @param ctid The container's CTID.
 * @param schema The schema; its `error` phrases complete "expected ...".
 * @returns The entry as `schema` outputs it, and its origin.
 * @throws {ConfigError} Listing every problem as `file:line:column: JSON path: expected X, found Y`
 *   (or `missing field X`, located at the object that lacks it).
 *
 * @example A module that needs `vllm_model`
 * ```ts ignore
 * const schema = ContainerEntrySchema.required({ vllm_model: true });
 * const config = validateEntry(loaded, "950", schema);
 * ```
 */
export function validateEntry<E extends ContainerEntry>(
  loaded: LoadedConfig,
  ctid: string,
  schema: z.ZodType<E>,
): ContainerConfig<E> {
  const raw = rawEntry(loaded, ctid);
  const basePath = ["lxc_configs", ctid];
  const heading = `Invalid configuration for container ${ctid}`;
  const entryNode = nodeOrAncestorAt(loaded.tree, basePath).node;
  const duplicates = duplicateKeys(entryNode, basePath, true);
  if (duplicates.length > 0) {
    throw new ConfigError(
      problemsMessage(
        loaded,
        heading,
        duplicates.map((found) => duplicateProblem(loaded.text, found)),
      ),
    );
  }
  const result = schema.safeParse(raw, { error: expectationOf });
  if (!result.success) {
    const problems = result.error.issues.map((issue) => problemOf(issue, raw, basePath));
    throw new ConfigError(problemsMessage(loaded, heading, problems));
  }
  return { loaded, ctid, entry: result.data };
}

/**
 * A {@linkcode ConfigError} about a value of container `config.ctid`'s entry, located like the
 * validation errors: for checks a schema cannot express.
 *
 * @param config The container's config.
 * @param path The path below the entry, e.g. `["vllm_engine_config", "ModelConfig", "model"]`;
 *   when it does not exist, the error points at the deepest part that does.
 * @param problem What is wrong and what to do, e.g. `expected ..., found ...`.
 * @returns The error, to throw.
 *
 * @example
 * ```ts ignore
 * throw entryConfigError(config, ["gpu_assignment"], 'expected two GPUs, found "0"');
 * ```
 */
export function entryConfigError(
  config: ContainerConfig,
  path: JsonPath,
  problem: string,
): ConfigError {
  return new ConfigError(
    problemsMessage(config.loaded, `Invalid configuration for container ${config.ctid}`, [
      { path: ["lxc_configs", config.ctid, ...path], atKey: false, text: problem },
    ]),
  );
}

/**
 * The name of the snapshot a template ends in.
 *
 * @param entry The container's entry.
 * @param fallback The name to use when the entry has no `template_snapshot_name`.
 * @returns `template_snapshot_name`, or `fallback`.
 *
 * @example
 * ```ts ignore
 * snapshotNameOf({ template_snapshot_name: "gpu-snapshot" }, "base-snapshot"); // "gpu-snapshot"
 * ```
 */
export function snapshotNameOf(entry: ContainerEntry, fallback: string): string {
  return entry.template_snapshot_name ?? fallback;
}

/**
 * Whether the config says the container is a template.
 *
 * @param entry The container's entry.
 * @returns `is_template`, or `undefined` when the config does not say (most generations).
 *
 * @example
 * ```ts ignore
 * isTemplate({ is_template: true }); // true
 * isTemplate({}); // undefined
 * ```
 */
export function isTemplate(entry: ContainerEntry): boolean | undefined {
  return entry.is_template;
}

/**
 * The entry's features as a list, whichever form the file uses.
 *
 * @param entry The container's entry.
 * @returns `["nesting=1", "keyctl=1"]` for `"nesting=1,keyctl=1"`, `["docker", "vllm"]` for that
 *   array; `[]` for `""` or no `features`.
 *
 * @example
 * ```ts ignore
 * featuresOf({ features: "nesting=1,keyctl=1" }); // ["nesting=1", "keyctl=1"]
 * ```
 */
export function featuresOf(entry: ContainerEntry): string[] {
  const features = entry.features ?? [];
  const list = typeof features === "string" ? features.split(",") : features;
  return list.map((feature) => feature.trim()).filter((feature) => feature !== "");
}

/**
 * The CTID the container is cloned from.
 *
 * @param entry The container's entry.
 * @returns `clone_from_ctid` (newer name) or else `clone_from_template_ctid` (older name);
 *   `undefined` for a container created from an OS template.
 *
 * @example
 * ```ts ignore
 * cloneSourceOf({ clone_from_template_ctid: "900" }); // "900"
 * ```
 */
export function cloneSourceOf(entry: ContainerEntry): string | undefined {
  return entry.clone_from_ctid ?? entry.clone_from_template_ctid;
}

/**
 * The GPUs passed through to the container.
 *
 * @param entry The container's entry.
 * @returns The indices of `gpu_assignment` (`"0,1"` and `"0, 1"` give `[0, 1]`); `[]` for
 *   `"none"` or no `gpu_assignment`.
 *
 * @example
 * ```ts ignore
 * gpuIndicesOf({ gpu_assignment: "0,1" }); // [0, 1]
 * ```
 */
export function gpuIndicesOf(entry: ContainerEntry): number[] {
  const assignment = entry.gpu_assignment?.trim() ?? "none";
  if (assignment === "none") return [];
  return assignment.split(",").map((index) => Number(index.trim()));
}

/** What vLLM is to serve and how, from either generation of the config. */
export interface VllmSettings {
  /** The model: a Hugging Face id or a path inside the container. */
  model: string;
  /** GPUs the model is split over; 1 (vLLM's default) when the config does not say. */
  tensorParallelSize: number;
  /** Fraction of each GPU's memory vLLM may use. */
  gpuMemoryUtilization?: number;
  /** Context length in tokens. */
  maxModelLen?: number;
  /** The name clients use and `/v1/models` lists (`ServerConfig.served_model_name`). */
  servedModelName?: string;
  /** Listen address (`ServerConfig.host`). */
  host?: string;
  /** Listen port (`ServerConfig.port`). */
  port?: number;
  /** Quantization method (`CacheConfig.quantization`). */
  quantization?: string;
  /** Data type (`ModelConfig.dtype`). */
  dtype?: string;
  /** Whether code shipped with the model may run (`ModelConfig.trust_remote_code`). */
  trustRemoteCode?: boolean;
}

/**
 * The vLLM settings of a container, from `vllm_model`, `vllm_tensor_parallel_size`,
 * `vllm_gpu_memory_utilization`, `vllm_max_model_len` (older generations) or
 * `vllm_engine_config` (latest ones; `ModelConfig.model`, `ParallelConfig.tensor_parallel_size`,
 * ...).
 *
 * @param config The container's config.
 * @returns The settings; optional ones are absent when the config does not set them.
 * @throws {ConfigError} When there is no model (`vllm_model` null or missing), when both forms
 *   set the same setting differently, or when the tensor parallel size exceeds the GPUs in
 *   `gpu_assignment`.
 *
 * @example
 * ```ts ignore
 * const { model, tensorParallelSize } = vllmSettingsOf(containerConfig(loaded, "950"));
 * ```
 */
export function vllmSettingsOf(config: ContainerConfig): VllmSettings {
  const { entry, ctid } = config;
  const engine = entry.vllm_engine_config;
  const either = <T>(
    flatField: string,
    flat: T | undefined,
    enginePath: JsonPath,
    value: T | undefined,
  ) => {
    if (flat !== undefined && value !== undefined && flat !== value) {
      throw entryConfigError(
        config,
        ["vllm_engine_config", ...enginePath],
        `${describeFound(value)} conflicts with ${flatField} (${describeFound(flat)}); ` +
          "set it in one place only",
      );
    }
    return value ?? flat;
  };

  const model = either(
    "vllm_model",
    entry.vllm_model ?? undefined,
    ["ModelConfig", "model"],
    engine?.ModelConfig?.model,
  );
  if (model === undefined) {
    throw entry.vllm_model === null
      ? entryConfigError(
        config,
        ["vllm_model"],
        `container ${ctid} has no model to serve (vllm_model is null); set vllm_model to the ` +
          'model vLLM should serve, e.g. "Qwen/Qwen2.5-Coder-7B-Instruct-AWQ"',
      )
      : entryConfigError(
        config,
        [],
        `missing field vllm_model: container ${ctid} needs the model vLLM should serve ` +
          "(vllm_model, or vllm_engine_config.ModelConfig.model)",
      );
  }

  const tensorParallelSize = either(
    "vllm_tensor_parallel_size",
    entry.vllm_tensor_parallel_size,
    ["ParallelConfig", "tensor_parallel_size"],
    engine?.ParallelConfig?.tensor_parallel_size,
  ) ?? 1;
  const gpus = gpuIndicesOf(entry);
  if (gpus.length > 0 && tensorParallelSize > gpus.length) {
    throw entryConfigError(
      config,
      engine?.ParallelConfig?.tensor_parallel_size !== undefined
        ? ["vllm_engine_config", "ParallelConfig", "tensor_parallel_size"]
        : ["vllm_tensor_parallel_size"],
      `a tensor parallel size of ${tensorParallelSize} needs ${tensorParallelSize} GPUs, but ` +
        `gpu_assignment gives ${gpus.length} (${describeFound(entry.gpu_assignment)}); ` +
        "lower it or assign more GPUs",
    );
  }

  const optional: Omit<VllmSettings, "model" | "tensorParallelSize"> = {
    gpuMemoryUtilization: either(
      "vllm_gpu_memory_utilization",
      entry.vllm_gpu_memory_utilization,
      ["CacheConfig", "gpu_memory_utilization"],
      engine?.CacheConfig?.gpu_memory_utilization,
    ),
    maxModelLen: either(
      "vllm_max_model_len",
      entry.vllm_max_model_len,
      ["ModelConfig", "max_model_len"],
      engine?.ModelConfig?.max_model_len,
    ),
    servedModelName: engine?.ServerConfig?.served_model_name,
    host: engine?.ServerConfig?.host,
    port: engine?.ServerConfig?.port,
    quantization: engine?.CacheConfig?.quantization,
    dtype: engine?.ModelConfig?.dtype,
    trustRemoteCode: engine?.ModelConfig?.trust_remote_code,
  };
  const present = Object.entries(optional).filter(([, value]) => value !== undefined);
  return { model, tensorParallelSize, ...Object.fromEntries(present) };
}

/** What a GPU template needs: its GPUs and the NVIDIA user-space driver to install. */
export interface NvidiaGpuSettings {
  /** The GPU indices of `gpu_assignment`; at least one. */
  gpus: number[];
  /** The top level's `nvidia_driver_version`, which must be the host's kernel module version. */
  driverVersion: string;
  /** The top level's `nvidia_runfile_url`: the installer of `driverVersion`. */
  runfileUrl: string;
}

/**
 * The settings of a container that gets GPUs and the NVIDIA user-space driver (the GPU
 * templates): its `gpu_assignment`, and the top level's `nvidia_driver_version` and
 * `nvidia_runfile_url`, which must name the same version (or `{version}`).
 *
 * @param config The container's config.
 * @returns The GPUs, the driver version and the installer URL.
 * @throws {ConfigError} When `gpu_assignment` is missing or `none`, when the top level lacks
 *   `nvidia_driver_version` or `nvidia_runfile_url`, or when the URL is for another version.
 *
 * @example
 * ```ts ignore
 * const { gpus, driverVersion, runfileUrl } = nvidiaGpuSettingsOf(containerConfig(loaded, "901"));
 * ```
 */
export function nvidiaGpuSettingsOf(config: ContainerConfig): NvidiaGpuSettings {
  const { entry, ctid, loaded } = config;
  const gpus = gpuIndicesOf(entry);
  if (gpus.length === 0) {
    throw entryConfigError(
      config,
      entry.gpu_assignment === undefined ? [] : ["gpu_assignment"],
      `${
        entry.gpu_assignment === undefined ? "missing field gpu_assignment" : 'found "none"'
      }: container ${ctid} passes NVIDIA GPUs through; set gpu_assignment to their indices, ` +
        'e.g. "0" or "0,1"',
    );
  }
  const topLevelError = (path: JsonPath, text: string) =>
    new ConfigError(
      problemsMessage(loaded, `Invalid configuration for container ${ctid}`, [
        { path, atKey: false, text },
      ]),
    );
  const { nvidia_driver_version: driverVersion, nvidia_runfile_url: runfileUrl } = loaded.data;
  if (driverVersion === undefined) {
    throw topLevelError(
      [],
      `missing field nvidia_driver_version: container ${ctid} installs the NVIDIA user-space ` +
        'driver of this version, which must be the host\'s (e.g. "580.76.05")',
    );
  }
  if (runfileUrl === undefined) {
    throw topLevelError(
      [],
      `missing field nvidia_runfile_url: container ${ctid} installs the NVIDIA user-space driver ` +
        `from this installer, e.g. "https://us.download.nvidia.com/XFree86/Linux-x86_64/` +
        `${driverVersion}/NVIDIA-Linux-x86_64-${driverVersion}.run"`,
    );
  }
  if (!runfileUrl.includes("{version}") && !runfileUrl.includes(driverVersion)) {
    throw topLevelError(
      ["nvidia_runfile_url"],
      `${JSON.stringify(runfileUrl)} is not the installer of nvidia_driver_version ` +
        `(${driverVersion}): expected a URL naming ${driverVersion}, or "{version}" in its place`,
    );
  }
  return { gpus, driverVersion, runfileUrl };
}

function rawEntry(loaded: LoadedConfig, ctid: string): unknown {
  const configs = loaded.data.lxc_configs;
  if (Object.hasOwn(configs, ctid)) return configs[ctid];
  const known = Object.keys(configs).sort((a, b) => Number(a) - Number(b));
  const has = known.length > 0 ? `it has ${known.join(", ")}` : "its lxc_configs is empty";
  throw new ConfigError(
    `Container ${ctid} has no entry in lxc_configs of ${loaded.file} (${has}). Add an entry ` +
      `"${ctid}" to lxc_configs, or set LXC_CONFIG_FILE to the file that has it.`,
  );
}

/**
 * The file's bytes, at most {@linkcode MAX_CONFIG_BYTES}: the size is checked before reading,
 * and again while reading for files whose size says nothing (a pipe, `/dev/zero`).
 */
async function readConfigBytes(path: string, hint: string): Promise<Uint8Array> {
  const limit = `${MAX_CONFIG_BYTES / 1024 / 1024} MiB`;
  const tooLarge = (size?: number) =>
    new ConfigError(
      `Cannot read the configuration file ${path}: ` +
        (size === undefined
          ? `it holds more than ${limit}`
          : `it is ${size} bytes, more than ${limit}`) +
        `, which is as large as a configuration file may be. ${hint}`,
    );
  let file: Deno.FsFile | undefined;
  try {
    file = await Deno.open(path);
    const info = await file.stat();
    if (info.isDirectory) throw new Deno.errors.IsADirectory(path);
    if (info.size > MAX_CONFIG_BYTES) throw tooLarge(info.size);
    const chunks: Uint8Array[] = [];
    let total = 0;
    for await (const chunk of file.readable) {
      total += chunk.length;
      if (total > MAX_CONFIG_BYTES) throw tooLarge();
      chunks.push(chunk);
    }
    file = undefined; // the readable stream closed it
    const bytes = new Uint8Array(total);
    let offset = 0;
    for (const chunk of chunks) {
      bytes.set(chunk, offset);
      offset += chunk.length;
    }
    return bytes;
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const advice = error instanceof Deno.errors.PermissionDenied
      ? " (run as root, or make the file readable)"
      : "";
    throw new ConfigError(
      `Cannot read the configuration file ${path}: ${describeIoError(error)}${advice}. ` + hint,
      { cause: error },
    );
  } finally {
    try {
      file?.close();
    } catch { /* closed by its stream already */ }
  }
}

/** The file's text; a file that is not UTF-8 is refused, saying where the first bad byte is. */
function decodeConfig(path: string, bytes: Uint8Array): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    const offset = invalidUtf8Offset(bytes) ?? 0;
    const before = new TextDecoder().decode(bytes.subarray(0, offset));
    const { line, column } = lineColumnAt(before, before.length);
    const byte = bytes[offset].toString(16).toUpperCase().padStart(2, "0");
    throw new ConfigError(
      `Cannot read the configuration file ${path}: it is not UTF-8 text: byte 0x${byte} at ` +
        `byte offset ${offset} (${path}:${line}:${column}); save it as UTF-8`,
    );
  }
}

function syntaxError(path: string, text: string, errors: ParseError[]): ConfigError {
  const lines = errors.slice(0, MAX_SYNTAX_LISTED).map((error) => {
    const { line, column } = lineColumnAt(text, error.offset);
    return `${path}:${line}:${column}: ${sentence(printParseErrorCode(error.error))}`;
  });
  return new ConfigError(
    listMessage(
      `Cannot parse the configuration file ${path} as JSON with comments`,
      lines,
      errors.length,
      errors.length === 1 ? "syntax error" : "syntax errors",
    ),
  );
}

/** `CommaExpected` → `Comma expected`. */
function sentence(code: string): string {
  const words = code.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function duplicateProblem(text: string, found: DuplicateKey): Problem {
  const first = lineColumnAt(text, found.first.offset);
  return {
    path: [...found.path, found.key],
    atKey: true,
    offset: found.again.offset,
    text: `key ${JSON.stringify(found.key)} appears again (first at line ${first.line}); ` +
      "only the last one would count: remove or rename one of them",
  };
}

function problemsMessage(
  loaded: Omit<LoadedConfig, "data">,
  heading: string,
  problems: Problem[],
): string {
  const located = problems.map((problem) => ({ problem, offset: offsetOf(loaded.tree, problem) }))
    .sort((a, b) => a.offset - b.offset);
  const lines = located.slice(0, MAX_LISTED).map(({ problem, offset }) => {
    const { line, column } = lineColumnAt(loaded.text, offset);
    const shown = problem.atKey ? problem.path.slice(0, -1) : problem.path;
    return `${loaded.file}:${line}:${column}: ${formatJsonPath(shown)}: ${problem.text}`;
  });
  return listMessage(
    heading,
    lines,
    problems.length,
    problems.length === 1 ? "problem" : "problems",
  );
}

function offsetOf(tree: Node, problem: Problem): number {
  if (problem.offset !== undefined) return problem.offset;
  const { node } = nodeOrAncestorAt(tree, problem.path);
  return problem.atKey && node.parent?.type === "property" ? node.parent.offset : node.offset;
}

function listMessage(heading: string, lines: string[], total: number, noun: string): string {
  if (total === 1) return `${heading}: ${lines[0]}`;
  const more = total > lines.length ? [`(and ${total - lines.length} more)`] : [];
  return `${heading} (${total} ${noun}):\n${
    [...lines, ...more].map((line) => `  ${line}`).join("\n")
  }`;
}

function findProperty(object: Node, key: string): Node | undefined {
  const property = object.children?.findLast((child) => child.children?.[0]?.value === key);
  return property?.children?.[1];
}
