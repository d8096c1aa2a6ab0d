/**
 * Python virtual environments and the pip packages in them, inside the container.
 *
 * @module
 */

import type { Step } from "../module/container_module.ts";

function requireAbsolute(path: string): void {
  if (!path.startsWith("/") || path.includes("\0")) {
    throw new TypeError(`Cannot use virtual environment path "${path}": expected an absolute path`);
  }
}

/**
 * A Python virtual environment at `path`. Check: `test -x <path>/bin/python`; action:
 * `python3 -m venv <path>` (needs the `python3-venv` package).
 *
 * @example
 * ```ts
 * import { pythonVenv } from "./python.ts";
 * const step = pythonVenv("/opt/vllm");
 * ```
 */
export function pythonVenv<S>(path: string): Step<S> {
  requireAbsolute(path);
  const hasPython = ["test", "-x", `${path}/bin/python`];
  return {
    name: `Create the Python virtual environment ${path}`,
    probes: () => [hasPython],
    check: (ctx) => ctx.container.succeeds(hasPython),
    action: async (ctx) => {
      await ctx.container.run(["python3", "-m", "venv", path], { timeoutMs: 600_000 });
    },
  };
}

/** A requirement as far as the check understands it: a name and maybe an exact version. */
interface Requirement {
  readonly name: string;
  readonly version?: string;
}

const REQUIREMENT =
  /^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*(?:==\s*([^\s,;*=]+)\s*$|$|[\s<>=!~;])/;

/** PEP 503 normalisation: `vLLM`, `vllm_x`, `vllm.x` compare equal to `vllm`, `vllm-x`. */
function normalizeName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, "-");
}

/**
 * The name and, for `name==version`, the version of a pip requirement.
 *
 * @throws {TypeError} For something that is not a requirement (a path, a URL, an option).
 */
export function parseRequirement(requirement: string): Requirement {
  const match = REQUIREMENT.exec(requirement.trim());
  if (!match) {
    throw new TypeError(
      `Cannot use pip requirement "${requirement}": expected a name with an optional version ` +
        'specifier, e.g. "vllm" or "vllm==0.11.0"',
    );
  }
  return { name: normalizeName(match[1]), version: match[3] };
}

/** Parses `pip show` output into normalised name → version. */
function shownVersions(output: string): Map<string, string> {
  const versions = new Map<string, string>();
  for (const block of output.split(/^---$/m)) {
    const name = /^Name:\s*(\S+)/m.exec(block)?.[1];
    const version = /^Version:\s*(\S+)/m.exec(block)?.[1];
    if (name && version) versions.set(normalizeName(name), version);
  }
  return versions;
}

/**
 * pip packages installed in the virtual environment `venv`. Check: `<venv>/bin/pip show` finds
 * every package, at the pinned version for `name==version` (other specifiers such as `>=` are
 * checked for presence only). Action: `<venv>/bin/pip install --no-input <packages>`.
 *
 * @param venv The virtual environment (see {@linkcode pythonVenv}).
 * @param packages Requirements such as `"vllm"` or `"vllm==0.11.0"`.
 * @param options `pipArgs`: further `pip install` options, e.g. `["--extra-index-url", url]`.
 *
 * @example
 * ```ts
 * import { pipPackages } from "./python.ts";
 * const step = pipPackages("/opt/vllm", ["vllm==0.11.0"]);
 * ```
 */
export function pipPackages<S>(
  venv: string,
  packages: readonly string[],
  options: { readonly pipArgs?: readonly string[]; readonly timeoutMs?: number } = {},
): Step<S> {
  requireAbsolute(venv);
  if (packages.length === 0) throw new TypeError("Cannot install an empty list of pip packages");
  const requirements = packages.map(parseRequirement);
  const show = [`${venv}/bin/pip`, "show", ...requirements.map((r) => r.name)];
  return {
    name: `Install ${packages.join(", ")} into ${venv}`,
    probes: () => [show],
    check: async (ctx) => {
      const result = await ctx.container.exec(show, { timeoutMs: 120_000 });
      if (result.exitCode !== 0) return false;
      const versions = shownVersions(result.stdout);
      return requirements.every((r) =>
        versions.has(r.name) && (r.version === undefined || versions.get(r.name) === r.version)
      );
    },
    action: async (ctx) => {
      await ctx.container.run(
        [`${venv}/bin/pip`, "install", "--no-input", ...(options.pipArgs ?? []), ...packages],
        { timeoutMs: options.timeoutMs ?? 2 * 60 * 60_000 },
      );
    },
  };
}
