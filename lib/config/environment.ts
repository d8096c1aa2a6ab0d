/**
 * The environment variables a setup executable reads, with their defaults: the orchestrator's
 * (`LXC_CONFIG_FILE`, `MAIN_LOG_FILE`, `PHOENIX_DEBUG`) and this project's own.
 *
 * @module
 */

import { ConfigError } from "../core/errors.ts";
import { describeIoError } from "../core/io_errors.ts";
import { registerSecret } from "../core/secrets.ts";

/** The settings read from the environment. */
export interface Settings {
  readonly configFile: string;
  readonly logFile: string;
  readonly debug: boolean;
  readonly lockDir: string;
  readonly hostRoot: string;
  readonly shutdownTimeoutSeconds: number;
  /** `PHOENIX_RUN_TIMEOUT`: the watchdog's limit for the whole run. */
  readonly runTimeoutSeconds: number;
  /** `PHOENIX_HEARTBEAT_INTERVAL`: how often a long command says it is still running. */
  readonly heartbeatSeconds: number;
}

/** The defaults, as the orchestrator uses them. */
export const DEFAULTS = {
  configFile: "/usr/local/phoenix_hypervisor/etc/phoenix_lxc_configs.json",
  logFile: "/var/log/phoenix_hypervisor.log",
  lockDir: "/run/lock/phoenix_hypervisor",
  hostRoot: "/",
  shutdownTimeoutSeconds: 60,
  runTimeoutSeconds: 4 * 3600,
  heartbeatSeconds: 10,
} as const;

/** The spellings a yes/no setting accepts, case-insensitively. */
export const BOOLEAN_SPELLINGS = "true/false, 1/0, yes/no";

/**
 * Reads a yes/no setting the way the orchestrator's variables are written: `true/false`, `1/0`,
 * `yes/no`, in any case.
 *
 * @returns `value`: what it says, `undefined` when unset or empty; `problem`: a sentence for a
 *   value that is none of those (then `value` is `undefined`).
 *
 * @example
 * ```ts
 * import { readBoolean } from "./environment.ts";
 * readBoolean({ PHOENIX_DRY_RUN: "Yes" }, "PHOENIX_DRY_RUN"); // { value: true }
 * readBoolean({}, "PHOENIX_DRY_RUN"); // { value: undefined }
 * ```
 */
export function readBoolean(
  env: Readonly<Record<string, string | undefined>>,
  name: string,
): { value: boolean | undefined; problem?: string } {
  const text = nonEmpty(env[name])?.trim();
  if (text === undefined) return { value: undefined };
  if (/^(true|1|yes)$/i.test(text)) return { value: true };
  if (/^(false|0|no)$/i.test(text)) return { value: false };
  return {
    value: undefined,
    problem: `${name}=${
      JSON.stringify(text)
    } is not a yes/no value (expected ${BOOLEAN_SPELLINGS})`,
  };
}

/** The variables that make a run a dry run, as the orchestrator's generations spelled them. */
const DRY_RUN_VARIABLES = ["PHOENIX_DRY_RUN", "DRY_RUN"] as const;

/**
 * Whether the orchestrator asked for a dry run through its environment (`PHOENIX_DRY_RUN`, or
 * the older `DRY_RUN`), and which variable did.
 *
 * @returns The variable and value that asked for it, or `undefined` for a real run.
 * @throws {ConfigError} For a value that is not yes/no: guessing could change the host.
 *
 * @example
 * ```ts
 * import { dryRunRequestedBy } from "./environment.ts";
 * dryRunRequestedBy({ PHOENIX_DRY_RUN: "true" }); // "PHOENIX_DRY_RUN=true"
 * dryRunRequestedBy({ DRY_RUN: "false" }); // undefined
 * ```
 */
export function dryRunRequestedBy(
  env: Readonly<Record<string, string | undefined>>,
): string | undefined {
  for (const name of DRY_RUN_VARIABLES) {
    const { value, problem } = readBoolean(env, name);
    if (problem) {
      throw new ConfigError(`Cannot tell whether to do a dry run: ${problem}`);
    }
    if (value) return `${name}=${env[name]}`;
  }
  return undefined;
}

/**
 * Whether the orchestrator asked for a refresh through its environment (`PHOENIX_REFRESH`).
 *
 * @example
 * ```ts
 * import { refreshRequested } from "./environment.ts";
 * refreshRequested({ PHOENIX_REFRESH: "yes" }); // true
 * refreshRequested({}); // false
 * ```
 */
export function refreshRequested(env: Readonly<Record<string, string | undefined>>): boolean {
  const { value, problem } = readBoolean(env, "PHOENIX_REFRESH");
  if (problem) throw new ConfigError(`Cannot tell whether to refresh the template: ${problem}`);
  return value ?? false;
}

/** Whole seconds from `min` to `max` in variable `name`, or `fallback` when unset. */
function readSeconds(
  env: Readonly<Record<string, string | undefined>>,
  name: string,
  fallback: number,
  [min, max]: readonly [number, number],
): number {
  const text = nonEmpty(env[name]);
  if (text === undefined) return fallback;
  const seconds = Number(text);
  if (!/^[0-9]+$/.test(text) || seconds < min || seconds > max) {
    throw new ConfigError(
      `Cannot use ${name}=${JSON.stringify(text)}: expected whole seconds from ${min} to ${max}`,
    );
  }
  return seconds;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value;
}

/**
 * The config file (`LXC_CONFIG_FILE`) and the host's root (`PHOENIX_HOST_ROOT`): readable before
 * the other settings, which can fail.
 *
 * @example
 * ```ts
 * import { readPaths } from "./environment.ts";
 * readPaths({}).configFile; // "/usr/local/phoenix_hypervisor/etc/phoenix_lxc_configs.json"
 * ```
 */
export function readPaths(
  env: Readonly<Record<string, string | undefined>>,
): Pick<Settings, "configFile" | "hostRoot"> {
  return {
    configFile: nonEmpty(env.LXC_CONFIG_FILE) ?? DEFAULTS.configFile,
    hostRoot: nonEmpty(env.PHOENIX_HOST_ROOT) ?? DEFAULTS.hostRoot,
  };
}

/** Where to log and how much, and what was wrong with the variables that say so. */
export interface LogSettings extends Pick<Settings, "logFile" | "debug"> {
  /** A sentence for a `PHOENIX_DEBUG` that is not yes/no, to be logged as a warning. */
  readonly warning?: string;
}

/**
 * Where to log and how much: readable before anything else can fail. `PHOENIX_DEBUG` is read
 * with {@linkcode readBoolean}; unset or empty means no DEBUG lines, and so does a value that is
 * not yes/no, with a warning (a typo must not stop a setup, nor be ignored silently).
 *
 * @example
 * ```ts
 * import { readLogSettings } from "./environment.ts";
 * readLogSettings({ PHOENIX_DEBUG: "YES" }).debug; // true
 * readLogSettings({ PHOENIX_DEBUG: "verbose" }).warning;
 * // 'PHOENIX_DEBUG="verbose" is not a yes/no value (expected true/false, 1/0, yes/no); logging without DEBUG lines'
 * ```
 */
export function readLogSettings(env: Readonly<Record<string, string | undefined>>): LogSettings {
  const { value, problem } = readBoolean(env, "PHOENIX_DEBUG");
  return {
    logFile: nonEmpty(env.MAIN_LOG_FILE) ?? DEFAULTS.logFile,
    debug: value ?? false,
    ...(problem && { warning: `${problem}; logging without DEBUG lines` }),
  };
}

/**
 * `PHOENIX_READY_TIMEOUT`: seconds a service may take to become ready, replacing the deadline
 * of every readiness probe (`httpReady`, `tcpReady`) of the run; `undefined` when unset.
 *
 * @throws {ConfigError} For a value other than whole seconds from 1 to 86400.
 *
 * @example
 * ```ts
 * import { readyTimeoutOverrideMs } from "./environment.ts";
 * readyTimeoutOverrideMs({ PHOENIX_READY_TIMEOUT: "300" }); // 300000
 * readyTimeoutOverrideMs({}); // undefined
 * ```
 */
export function readyTimeoutOverrideMs(
  env: Readonly<Record<string, string | undefined>>,
): number | undefined {
  if (nonEmpty(env.PHOENIX_READY_TIMEOUT) === undefined) return undefined;
  return readSeconds(env, "PHOENIX_READY_TIMEOUT", 0, [1, 86_400]) * 1000;
}

/**
 * Reads the settings from `env`. Throws a {@linkcode ConfigError} for a value that cannot be
 * used, e.g. a non-numeric `PHOENIX_SHUTDOWN_TIMEOUT`.
 */
export function readSettings(env: Readonly<Record<string, string | undefined>>): Settings {
  const shutdownTimeoutSeconds = readSeconds(
    env,
    "PHOENIX_SHUTDOWN_TIMEOUT",
    DEFAULTS.shutdownTimeoutSeconds,
    [1, 3600],
  );
  const runTimeoutSeconds = readSeconds(
    env,
    "PHOENIX_RUN_TIMEOUT",
    DEFAULTS.runTimeoutSeconds,
    [1, 7 * 86_400],
  );
  const heartbeatSeconds = readSeconds(
    env,
    "PHOENIX_HEARTBEAT_INTERVAL",
    DEFAULTS.heartbeatSeconds,
    [1, 3600],
  );
  // Read where the probes run; checked here so that a bad value fails before any pct call.
  readyTimeoutOverrideMs(env);
  const logSettings = readLogSettings(env);
  return {
    ...readPaths(env),
    logFile: logSettings.logFile,
    debug: logSettings.debug,
    lockDir: nonEmpty(env.PHOENIX_LOCK_DIR) ?? DEFAULTS.lockDir,
    shutdownTimeoutSeconds,
    runTimeoutSeconds,
    heartbeatSeconds,
  };
}

/**
 * `PHOENIX_REPORT_FILE`: where to write the run report (`--report` wins); `undefined` when unset.
 *
 * @example
 * ```ts
 * import { readReportFile } from "./environment.ts";
 * readReportFile({ PHOENIX_REPORT_FILE: "/tmp/run.json" }); // "/tmp/run.json"
 * ```
 */
export function readReportFile(
  env: Readonly<Record<string, string | undefined>>,
): string | undefined {
  return nonEmpty(env.PHOENIX_REPORT_FILE);
}

/**
 * The variable that removes the Hugging Face token from a vLLM server's container: a run without
 * `HF_TOKEN`/`HF_TOKEN_FILE` keeps the token the container has, as the orchestrator's next pass
 * may simply not pass it on. Its name has no `TOKEN` in it: the values of such variables, and
 * `..._TOKEN=value` in any text, are masked as secrets.
 */
export const REMOVE_HF_TOKEN = "PHOENIX_HF_REMOVE";

/**
 * The Hugging Face token in the host file `file` (`HF_TOKEN_FILE`), trimmed, and registered as a
 * secret so that every log line masks it.
 *
 * @throws {ConfigError} When the file cannot be read; the message does not name the path
 *   (`HF_TOKEN_FILE`'s value is masked like any `*TOKEN*` variable's).
 */
export function readHuggingFaceTokenFile(file: string): string {
  let token: string;
  try {
    token = Deno.readTextFileSync(file).trim();
  } catch (error) {
    throw new ConfigError(
      "Cannot read the Hugging Face token from the file named by HF_TOKEN_FILE: " +
        describeIoError(error),
      { cause: error },
    );
  }
  registerSecret(token);
  return token;
}

/** One row of the documented table of environment variables. */
export interface EnvironmentRow {
  /** The variable, or variables (`HF_TOKEN` / `HF_TOKEN_FILE`). */
  readonly names: readonly string[];
  /** The default, as shown (`unset`, `per probe`, a value). */
  readonly default: string;
  /** What it does. */
  readonly meaning: string;
}

/**
 * The environment variables a setup executable reads, the one source of `--help`'s list; the
 * README's Environment table names the same variables with the same defaults (a test compares
 * them).
 */
export const ENVIRONMENT_TABLE: readonly EnvironmentRow[] = [
  {
    names: ["LXC_CONFIG_FILE"],
    default: DEFAULTS.configFile,
    meaning: "the container config (JSONC)",
  },
  {
    names: ["MAIN_LOG_FILE"],
    default: DEFAULTS.logFile,
    meaning: "log lines (and every command's output) are appended here",
  },
  {
    names: ["PHOENIX_DEBUG"],
    default: "false",
    meaning: "true shows DEBUG lines on the console too (each command, checks, command output)",
  },
  {
    names: ["PHOENIX_SHUTDOWN_TIMEOUT"],
    default: String(DEFAULTS.shutdownTimeoutSeconds),
    meaning: "seconds a template's clean shutdown may take",
  },
  {
    names: ["PHOENIX_LOCK_DIR"],
    default: DEFAULTS.lockDir,
    meaning: "where the per-CTID lock files live",
  },
  {
    names: ["PHOENIX_HOST_ROOT"],
    default: DEFAULTS.hostRoot,
    meaning: "root for host files (/proc/driver/nvidia/version, /dev/nvidia*)",
  },
  {
    names: ["PHOENIX_READY_TIMEOUT"],
    default: "per probe",
    meaning: "seconds a service may take to become ready (replaces every readiness deadline)",
  },
  {
    names: ["PHOENIX_RUN_TIMEOUT"],
    default: `${DEFAULTS.runTimeoutSeconds} (4 h)`,
    meaning: "the watchdog: seconds the whole run may take (then exit 9)",
  },
  {
    names: ["PHOENIX_HEARTBEAT_INTERVAL"],
    default: String(DEFAULTS.heartbeatSeconds),
    meaning: 'seconds between the "still running" lines of a long command',
  },
  {
    names: ["PHOENIX_REPORT_FILE"],
    default: "unset",
    meaning: "write the run report (JSON) here, as --report does",
  },
  {
    names: ["PHOENIX_DRY_RUN", "DRY_RUN"],
    default: "unset",
    meaning: "true/1/yes make the run a dry run, as --dry-run does",
  },
  {
    names: ["PHOENIX_REFRESH"],
    default: "unset",
    meaning: "true/1/yes rebuild a complete template and replace its snapshot, as --refresh does",
  },
  {
    names: ["PHOENIX_CA_CERT"],
    default: "/usr/local/phoenix_hypervisor/etc/certs/phoenix_root_ca.crt",
    meaning: "trusted_ca: the host's root CA certificate (PEM), read under PHOENIX_HOST_ROOT",
  },
  {
    names: ["PHOENIX_STEP_KEY_FINGERPRINT"],
    default: "unset",
    meaning: "step_cli: the fingerprint smallstep's apt signing key must have (required by it)",
  },
  {
    names: ["HF_TOKEN", "HF_TOKEN_FILE"],
    default: "unset",
    meaning: "vLLM servers: the Hugging Face token, or a host file holding it (never logged)",
  },
  {
    names: [REMOVE_HF_TOKEN],
    default: "false",
    meaning: "vLLM servers: true removes the Hugging Face token from the container (without " +
      "HF_TOKEN/HF_TOKEN_FILE a run keeps the token the container has)",
  },
];
