/**
 * Files written into the container. The content travels through the standard input of a
 * command inside the container ({@linkcode WRITE_FILE_SCRIPT}): never in argv, never in a log
 * line, and never in a file on the host, so a secret such as the Hugging Face token touches no
 * host disk even when the run is killed mid-write. (`pct push` needed a host copy, and exits 0
 * even when the copy failed.) Whether a file is current is told by its SHA-256 and mode, so the
 * check never prints the content either.
 *
 * @module
 */

import { dirname } from "node:path/posix";
import { CommandError, outputTail } from "../core/command_text.ts";
import type { SetupContext, Step } from "../module/container_module.ts";

/** What a file inside the container must look like. */
export interface FileSpec<S> {
  /** Absolute path inside the container. */
  readonly path: string;
  /** The wanted content, fixed or derived from the settings. */
  readonly content: string | ((ctx: SetupContext<S>) => string);
  /** Octal permissions, e.g. `"0644"` (the default) or `"0600"` (the default of a secret). */
  readonly mode?: string;
  /** The content is a secret: it is never logged nor quoted in an error message. */
  readonly secret?: boolean;
  /** The step's name; default `Write <path>`. */
  readonly name?: string;
  /**
   * Runs after the file was (re)written, and only then: e.g. restart the service reading it.
   * It does not run when the file was already as wanted.
   */
  readonly onChange?: (ctx: SetupContext<S>) => Promise<void>;
  /**
   * Why an existing file is to be left as it is this run, whatever it holds, or `undefined` to
   * make it hold `content` (e.g. a secret the run was not given: not a secret to remove). The
   * check then asks only whether the file exists, and logs the reason when it holds something
   * else than `content`; a missing file is still written.
   */
  readonly keep?: (ctx: SetupContext<S>) => string | undefined;
}

const MODE = /^0?[0-7]{3}$/;

/**
 * `mode` as four octal digits, e.g. `"644"` → `"0644"`.
 *
 * @throws {RangeError} When `mode` is not three or four octal digits (set-id bits excluded).
 */
export function normalizeMode(mode: string): string {
  if (!MODE.test(mode)) {
    throw new RangeError(`Cannot use file mode "${mode}": expected octal digits such as "0644"`);
  }
  return mode.padStart(4, "0");
}

function requireAbsolute(path: string): void {
  if (!path.startsWith("/") || path.endsWith("/") || path.includes("\0")) {
    throw new TypeError(`Cannot use path "${path}": expected an absolute path to a file`);
  }
}

/**
 * The bash script that writes its standard input to `$2` with permissions `$3`, creating the
 * directory `$1` first. The new content goes to a temporary file beside the target, created
 * under `umask 077` (no one else can read a secret while it is being written), and is renamed
 * over the target only once complete: a killed write leaves the old file, never half of the new
 * one. Values arrive as positional parameters, never spliced into the script.
 */
export const WRITE_FILE_SCRIPT = 'mkdir -p -- "$1" || exit; umask 077; new="$2.phoenix-new"; ' +
  'if cat > "$new" && chmod "$3" "$new" && mv -f -- "$new" "$2"; then exit 0; fi; ' +
  'rm -f -- "$new"; exit 1';

/**
 * The lowercase hex SHA-256 of `text`'s UTF-8 bytes, as `sha256sum` prints it.
 *
 * @example
 * ```ts
 * import { sha256Hex } from "./files.ts";
 * await sha256Hex(""); // "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
 * ```
 */
export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** The commands {@linkcode fileIsCurrent} runs for `path`, for a step's `probes`. */
export function fileIsCurrentProbes(path: string): string[][] {
  return [["sha256sum", path], statModeArgv(path)];
}

function statModeArgv(path: string): string[] {
  return ["stat", "-c", "%a", path];
}

/**
 * Whether `path` in the container holds exactly `content` with permissions `mode`.
 * Read-only, and the content never leaves the container: `sha256sum` and `stat -c %a` inside it.
 */
export async function fileIsCurrent<S>(
  ctx: SetupContext<S>,
  path: string,
  content: string,
  mode: string,
): Promise<boolean> {
  const sum = await ctx.container.exec(["sha256sum", path]);
  if (sum.exitCode !== 0 || sum.stdout.split(" ")[0] !== await sha256Hex(content)) return false;
  const stat = await ctx.container.exec(statModeArgv(path));
  return stat.exitCode === 0 && parseInt(stat.stdout.trim(), 8) === parseInt(mode, 8);
}

/**
 * Writes `content` to `path` in the container with permissions `mode` (owner root), creating
 * its directory: one `pct exec` of {@linkcode WRITE_FILE_SCRIPT} with the content on standard
 * input. The caller proves the result with {@linkcode fileIsCurrent} (the step runner checks
 * again after every action). The script is POSIX: `shell` may be `sh` where a container need not
 * have bash (the provenance record every template gets, whatever its distribution).
 *
 * @throws {Error} When the write fails, quoting what the container said (never the content).
 */
export async function writeFileInContainer<S>(
  ctx: SetupContext<S>,
  path: string,
  content: string,
  mode: string,
  shell: "bash" | "sh" = "bash",
): Promise<void> {
  requireAbsolute(path);
  const perms = normalizeMode(mode);
  try {
    await ctx.container.run([shell, "-c", WRITE_FILE_SCRIPT, shell, dirname(path), path, perms], {
      input: content,
      // The script is the same for every file: the log says which file, at DEBUG the script.
      label: `Writing ${path} (mode ${perms}) in container ${ctx.ctid}`,
    });
  } catch (error) {
    if (!(error instanceof CommandError)) throw error;
    const said = outputTail(error.result.stderr);
    throw new Error(
      `Cannot write ${path} in container ${ctx.ctid} (exit code ${error.result.exitCode})` +
        (said ? `: ${said}` : ""),
      { cause: error },
    );
  }
}

/**
 * A file inside the container with the given content and permissions. The check reads it back
 * and compares content and mode (only whether it exists, when `keep` gives a reason to leave it
 * as it is); the action writes it with {@linkcode writeFileInContainer} and then runs
 * `onChange`, so dependent work happens only when the file really changed.
 *
 * @param spec The path, content, mode, and whether the content is a secret.
 * @returns The step.
 *
 * @example
 * ```ts
 * import { fileInContainer } from "./files.ts";
 * const step = fileInContainer<{ token: string }>({
 *   path: "/etc/vllm/env",
 *   content: (ctx) => `HF_TOKEN=${ctx.settings.token}\n`,
 *   secret: true,
 * });
 * ```
 */
export function fileInContainer<S>(spec: FileSpec<S>): Step<S> {
  requireAbsolute(spec.path);
  const mode = normalizeMode(spec.mode ?? (spec.secret ? "0600" : "0644"));
  const contentOf = (ctx: SetupContext<S>) =>
    typeof spec.content === "string" ? spec.content : spec.content(ctx);
  return {
    name: spec.name ?? `Write ${spec.path}${spec.secret ? " (secret)" : ""}`,
    check: async (ctx) => {
      const keep = spec.keep?.(ctx);
      if (keep === undefined) return await fileIsCurrent(ctx, spec.path, contentOf(ctx), mode);
      const sum = await ctx.container.exec(["sha256sum", spec.path]);
      if (sum.exitCode !== 0) return false;
      if (sum.stdout.split(" ")[0] !== await sha256Hex(contentOf(ctx))) {
        ctx.log.info(`${spec.path} in container ${ctx.ctid} is left as it is: ${keep}`);
      }
      return true;
    },
    probes: (ctx) =>
      spec.keep?.(ctx) === undefined ? fileIsCurrentProbes(spec.path) : [["sha256sum", spec.path]],
    action: async (ctx) => {
      await writeFileInContainer(ctx, spec.path, contentOf(ctx), mode);
      await spec.onChange?.(ctx);
    },
  };
}

/**
 * Fills `{{name}}` placeholders of `template` from `values`.
 *
 * @throws {RangeError} When the template names a value that `values` lacks.
 *
 * @example
 * ```ts
 * import { renderTemplate } from "./files.ts";
 * renderTemplate("serve {{model}}\n", { model: "Qwen/Qwen3" }); // "serve Qwen/Qwen3\n"
 * ```
 */
export function renderTemplate(
  template: string,
  values: Readonly<Record<string, string | number>>,
): string {
  return template.replace(/\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g, (_, key: string) => {
    if (!Object.hasOwn(values, key)) {
      throw new RangeError(`Cannot fill template placeholder "{{${key}}}": no value given`);
    }
    return String(values[key]);
  });
}

/** A file rendered from a template with values derived from the settings. */
export interface TemplateFileSpec<S> extends Omit<FileSpec<S>, "content"> {
  /** The text with `{{name}}` placeholders. */
  readonly template: string;
  /** The placeholders' values. */
  readonly values: (settings: S) => Readonly<Record<string, string | number>>;
}

/**
 * {@linkcode fileInContainer} whose content is `template` filled from the settings.
 *
 * @example
 * ```ts
 * import { templateFile } from "./files.ts";
 * const step = templateFile<{ port: number }>({
 *   path: "/etc/app.conf",
 *   template: "port={{port}}\n",
 *   values: (settings) => ({ port: settings.port }),
 * });
 * ```
 */
export function templateFile<S>(spec: TemplateFileSpec<S>): Step<S> {
  const { template, values, ...rest } = spec;
  return fileInContainer({
    ...rest,
    content: (ctx) => renderTemplate(template, values(ctx.settings)),
  });
}

/**
 * A symbolic link `link` → `target` inside the container. Check: `readlink` prints `target`;
 * action: `ln -sfn`.
 *
 * @example
 * ```ts
 * import { symlinkInContainer } from "./files.ts";
 * const step = symlinkInContainer({ link: "/usr/local/bin/vllm", target: "/opt/vllm/bin/vllm" });
 * ```
 */
export function symlinkInContainer<S>(
  spec: { readonly link: string; readonly target: string; readonly name?: string },
): Step<S> {
  requireAbsolute(spec.link);
  const readLink = ["readlink", spec.link];
  return {
    name: spec.name ?? `Link ${spec.link} to ${spec.target}`,
    probes: () => [readLink],
    check: async (ctx) => {
      const result = await ctx.container.exec(readLink);
      return result.exitCode === 0 && result.stdout.replace(/\n$/, "") === spec.target;
    },
    action: async (ctx) => {
      await ctx.container.run(["mkdir", "-p", dirname(spec.link)]);
      await ctx.container.run(["ln", "-sfn", spec.target, spec.link]);
    },
  };
}
