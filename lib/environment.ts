/**
 * The environment variables a setup executable reads, with their defaults: the orchestrator's
 * (`LXC_CONFIG_FILE`, `MAIN_LOG_FILE`, `PHOENIX_DEBUG`) and this project's own.
 *
 * @module
 */

import { ConfigError } from "./errors.ts";

/** The settings read from the environment. */
export interface Settings {
  readonly configFile: string;
  readonly logFile: string;
  readonly debug: boolean;
  readonly lockDir: string;
  readonly hostRoot: string;
  readonly shutdownTimeoutSeconds: number;
}

/** The defaults, as the orchestrator uses them. */
export const DEFAULTS = {
  configFile: "/usr/local/phoenix_hypervisor/etc/phoenix_lxc_configs.json",
  logFile: "/var/log/phoenix_hypervisor.log",
  lockDir: "/run/lock/phoenix_hypervisor",
  hostRoot: "/",
  shutdownTimeoutSeconds: 60,
} as const;

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value;
}

/** Where to log and how much: readable before anything else can fail. */
export function readLogSettings(
  env: Readonly<Record<string, string | undefined>>,
): Pick<Settings, "logFile" | "debug"> {
  return {
    logFile: nonEmpty(env.MAIN_LOG_FILE) ?? DEFAULTS.logFile,
    debug: env.PHOENIX_DEBUG === "true",
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
  const text = nonEmpty(env.PHOENIX_READY_TIMEOUT);
  if (text === undefined) return undefined;
  const seconds = Number(text);
  if (!/^[0-9]+$/.test(text) || seconds < 1 || seconds > 86_400) {
    throw new ConfigError(
      `Cannot use PHOENIX_READY_TIMEOUT=${JSON.stringify(text)}: ` +
        "expected whole seconds from 1 to 86400",
    );
  }
  return seconds * 1000;
}

/**
 * Reads the settings from `env`. Throws a {@linkcode ConfigError} for a value that cannot be
 * used, e.g. a non-numeric `PHOENIX_SHUTDOWN_TIMEOUT`.
 */
export function readSettings(env: Readonly<Record<string, string | undefined>>): Settings {
  const timeoutText = nonEmpty(env.PHOENIX_SHUTDOWN_TIMEOUT);
  let shutdownTimeoutSeconds: number = DEFAULTS.shutdownTimeoutSeconds;
  if (timeoutText !== undefined) {
    shutdownTimeoutSeconds = Number(timeoutText);
    if (
      !/^[0-9]+$/.test(timeoutText) || shutdownTimeoutSeconds < 1 || shutdownTimeoutSeconds > 3600
    ) {
      throw new ConfigError(
        `Cannot use PHOENIX_SHUTDOWN_TIMEOUT=${JSON.stringify(timeoutText)}: ` +
          "expected whole seconds from 1 to 3600",
      );
    }
  }
  // Read where the probes run; checked here so that a bad value fails before any pct call.
  readyTimeoutOverrideMs(env);
  return {
    configFile: nonEmpty(env.LXC_CONFIG_FILE) ?? DEFAULTS.configFile,
    ...readLogSettings(env),
    lockDir: nonEmpty(env.PHOENIX_LOCK_DIR) ?? DEFAULTS.lockDir,
    hostRoot: nonEmpty(env.PHOENIX_HOST_ROOT) ?? DEFAULTS.hostRoot,
    shutdownTimeoutSeconds,
  };
}
