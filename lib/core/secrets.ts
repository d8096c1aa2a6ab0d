/**
 * Secret masking: the one place that decides what must never appear in a log line.
 * Known secret values (registered from the environment or read from token files) are masked
 * exactly; token-like text is masked by pattern as a second line of defence.
 *
 * @module
 */

const MASK = "***";
const knownSecrets = new Set<string>();

/** Environment variable names whose values are secrets. */
const SECRET_NAME = /TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|CREDENTIAL/i;

/** Text that looks like a credential whatever its origin. */
const SECRET_PATTERNS: readonly [RegExp, string][] = [
  [/\bhf_[A-Za-z0-9]{8,}\b/g, MASK],
  [/\b(Bearer\s+)[^\s'"]+/gi, `$1${MASK}`],
  [/\b((?:[A-Z_]*TOKEN|[A-Z_]*SECRET|PASSWORD|API_?KEY)\s*[=:]\s*)[^\s'"]+/gi, `$1${MASK}`],
];

/**
 * Remembers `value` as a secret so {@linkcode redact} masks it wherever it appears.
 * Very short values are ignored: masking "1" everywhere would make logs unreadable.
 */
export function registerSecret(value: string | undefined): void {
  const trimmed = value?.trim();
  if (trimmed && trimmed.length >= 6) knownSecrets.add(trimmed);
}

/**
 * Whether an environment variable's name says it holds a secret (`HF_TOKEN`, `DB_PASSWORD`).
 *
 * @example
 * ```ts
 * import { isSecretName } from "./secrets.ts";
 * isSecretName("HF_TOKEN"); // true
 * isSecretName("LXC_CONFIG_FILE"); // false
 * ```
 */
export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** Registers the value of every environment variable whose name says it is a secret. */
export function registerSecretsFromEnv(env: Record<string, string | undefined>): void {
  for (const [name, value] of Object.entries(env)) {
    if (isSecretName(name)) registerSecret(value);
  }
}

/**
 * Returns `text` with every known secret and every token-like string replaced by `***`.
 *
 * @example
 * ```ts
 * import { redact } from "./secrets.ts";
 * redact("HF_TOKEN=hf_abcdefghijkl"); // "HF_TOKEN=***"
 * ```
 */
export function redact(text: string): string {
  let result = text;
  for (const secret of knownSecrets) result = result.replaceAll(secret, MASK);
  for (const [pattern, replacement] of SECRET_PATTERNS) {
    result = result.replace(pattern, replacement);
  }
  return result;
}
