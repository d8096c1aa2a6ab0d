/**
 * The environment every command of a setup run gets: a small set the program decides, not
 * whatever the caller had. This is how systemd runs services, for the same reasons:
 *
 * - `pct` is Perl, and `pct exec` hands its whole environment to every process in the container
 *   (`--keep-env`): a GPU host's `LD_LIBRARY_PATH`, a `PYTHONPATH` or a `PERL5LIB` would reach
 *   `pip` and `apt` inside the container, and a secret would reach every process there.
 * - Deno refuses to start a program whose environment holds `LD_*` or `DYLD_*` unless run
 *   permission is unrestricted; zx then never settles the command (the hang of issue 15).
 * - The same run behaves the same whatever shell the orchestrator ran in.
 *
 * Passed through from the caller: `PATH` (the orchestrator puts `/usr/local/bin` first; `pct`
 * sets its own PATH inside the container anyway), `HOME` (tools on the host keep their files
 * there) and `TZ` (so `pct listsnapshot` times match the host's clock). Set by the program:
 * `LANG` and `LC_ALL` to `C.UTF-8`, a locale every Debian and Ubuntu host and container has.
 * The orchestrator's own `LC_ALL=en_US.UTF-8` names a locale that a fresh container lacks until
 * 900 generates it (Perl and bash then print a warning with every command), and the output the
 * program parses is in English whatever the operator's language. A command that needs more gets
 * it explicitly (`env VAR=value cmd`, or a file written into the container).
 *
 * @module
 */

/** The names passed through from the caller's environment when set and not empty. */
export const PASSED_THROUGH: readonly string[] = ["PATH", "HOME", "TZ"];

/** Set whatever the caller had. */
export const FIXED: Readonly<Record<string, string>> = { LANG: "C.UTF-8", LC_ALL: "C.UTF-8" };

/** PATH when the caller has none: what a root login shell on Debian has. */
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** HOME when the caller has none: the executables run as root. */
export const DEFAULT_HOME = "/root";

/**
 * The environment commands run with, derived from the caller's `env`.
 *
 * @param env The caller's environment.
 * @returns `PATH`, `HOME` and (when set) `TZ` from `env`, and the fixed locale; nothing else.
 *
 * @example
 * ```ts
 * import { commandEnvironment } from "./command_environment.ts";
 * commandEnvironment({ PATH: "/usr/bin:/bin", LD_LIBRARY_PATH: "/usr/local/nvidia/lib64" });
 * // { PATH: "/usr/bin:/bin", HOME: "/root", LANG: "C.UTF-8", LC_ALL: "C.UTF-8" }
 * ```
 */
export function commandEnvironment(
  env: Readonly<Record<string, string | undefined>>,
): Record<string, string> {
  const chosen: Record<string, string> = { PATH: DEFAULT_PATH, HOME: DEFAULT_HOME };
  for (const name of PASSED_THROUGH) {
    const value = env[name];
    if (value !== undefined && value !== "") chosen[name] = value;
  }
  return { ...chosen, ...FIXED };
}
