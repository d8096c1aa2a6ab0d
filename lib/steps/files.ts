/**
 * Files written into the container. The content is compared before anything is written, and a
 * write is proven by reading the file back: `pct push` exits 0 even when the copy failed. The
 * content travels as a private temporary file on the host, never in argv, so a secret file's
 * content appears in no command line and no log line.
 *
 * @module
 */

import { basename, dirname, join } from "node:path/posix";
import type { SetupContext, Step } from "../container_module.ts";

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
 * Whether `path` in the container holds exactly `content` with permissions `mode`.
 * Read-only: `cat` and `stat -c %a` inside the container.
 */
export async function fileIsCurrent<S>(
  ctx: SetupContext<S>,
  path: string,
  content: string,
  mode: string,
): Promise<boolean> {
  if ((await ctx.container.readFile(path)) !== content) return false;
  const stat = await ctx.container.exec(["stat", "-c", "%a", path]);
  return stat.exitCode === 0 && parseInt(stat.stdout.trim(), 8) === parseInt(mode, 8);
}

/**
 * Writes `content` to `path` in the container with permissions `mode`: creates the parent
 * directory, pushes a temporary host file (mode 0600 in a private directory, removed
 * afterwards) with `pct push`, reads the file back and fails when it differs, and corrects the
 * permissions when `pct push` left others.
 *
 * @throws {Error} When the file read back is not what was pushed (the message never quotes it).
 */
export async function writeFileInContainer<S>(
  ctx: SetupContext<S>,
  path: string,
  content: string,
  mode: string,
): Promise<void> {
  requireAbsolute(path);
  const perms = normalizeMode(mode);
  await ctx.container.run(["mkdir", "-p", dirname(path)]);
  const dir = await Deno.makeTempDir({ prefix: "phoenix-push-" });
  try {
    await Deno.chmod(dir, 0o700);
    const hostFile = join(dir, basename(path));
    await Deno.writeTextFile(hostFile, content, { mode: 0o600, createNew: true });
    await ctx.pct.push(ctx.ctid, hostFile, path, perms);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const written = await ctx.container.readFile(path);
  if (written !== content) {
    const found = written === undefined
      ? "it cannot be read"
      : `it holds ${byteLength(written)} bytes instead of ${byteLength(content)}`;
    throw new Error(
      `pct push reported success, but ${path} in container ${ctx.ctid} does not hold the ` +
        `new content (${found}); is the container running and its disk writable?`,
    );
  }
  const stat = await ctx.container.run(["stat", "-c", "%a", path]);
  if (parseInt(stat.stdout.trim(), 8) !== parseInt(perms, 8)) {
    await ctx.container.run(["chmod", perms, path]);
  }
}

function byteLength(text: string): number {
  return new TextEncoder().encode(text).length;
}

/**
 * A file inside the container with the given content and permissions. The check reads it back
 * and compares content and mode; the action writes it with {@linkcode writeFileInContainer} and
 * then runs `onChange`, so dependent work happens only when the file really changed.
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
    check: (ctx) => fileIsCurrent(ctx, spec.path, contentOf(ctx), mode),
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
  return {
    name: spec.name ?? `Link ${spec.link} to ${spec.target}`,
    check: async (ctx) => {
      const result = await ctx.container.exec(["readlink", spec.link]);
      return result.exitCode === 0 && result.stdout.replace(/\n$/, "") === spec.target;
    },
    action: async (ctx) => {
      await ctx.container.run(["mkdir", "-p", dirname(spec.link)]);
      await ctx.container.run(["ln", "-sfn", spec.target, spec.link]);
    },
  };
}
