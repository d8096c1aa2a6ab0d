/**
 * Locales inside the container, the same way on Debian and Ubuntu. Their `locale-gen` differ:
 * Debian's ignores its arguments and generates exactly what `/etc/locale.gen` lists (with the
 * line still commented out it prints "Generation complete", exits 0 and generates nothing);
 * Ubuntu's generates the locales it is given and records them. So the locale's line is enabled in
 * `/etc/locale.gen` and then `locale-gen <locale>` runs: each distribution takes what it reads,
 * and a later regeneration (the `locales` package's upgrade runs one) keeps the locale.
 *
 * @module
 */

import type { Step } from "../module/container_module.ts";
import { InContainer } from "../host/in_container.ts";
import { writeFileInContainer } from "./files.ts";

/** The list of locales Debian's `locale-gen` generates. */
export const LOCALE_GEN = "/etc/locale.gen";

/** Lists the generated locales. */
const LIST_LOCALES = ["locale", "-a"];

/** A locale name as `locale-gen` takes it: `en_US.UTF-8`, `de_DE@euro`, `C.UTF-8`. */
const LOCALE = /^[A-Za-z]+(_[A-Za-z]+)?(\.[A-Za-z0-9-]+)?(@[A-Za-z0-9]+)?$/;

/**
 * The line of `/etc/locale.gen` for `locale`: the name and its character map, which is the name's
 * codeset (`en_US.UTF-8 UTF-8`), or ISO-8859-1 for a name without one, as the file lists them.
 *
 * @example
 * ```ts
 * import { localeGenLine } from "./locale.ts";
 * localeGenLine("en_US.UTF-8"); // "en_US.UTF-8 UTF-8"
 * ```
 */
export function localeGenLine(locale: string): string {
  const codeset = /\.([^@]+)/.exec(locale)?.[1];
  return `${locale} ${codeset ?? "ISO-8859-1"}`;
}

/**
 * `text` (the content of `/etc/locale.gen`, `undefined` when there is none) with `line`
 * enabled: a commented-out copy (`# en_US.UTF-8 UTF-8`) is uncommented in place, else the line
 * is appended. Every other line is kept as it was.
 *
 * @example
 * ```ts
 * import { enableLocaleLine } from "./locale.ts";
 * enableLocaleLine("# de_DE.UTF-8 UTF-8\n# en_US.UTF-8 UTF-8\n", "en_US.UTF-8 UTF-8");
 * // "# de_DE.UTF-8 UTF-8\nen_US.UTF-8 UTF-8\n"
 * ```
 */
export function enableLocaleLine(text: string | undefined, line: string): string {
  const lines = (text ?? "").split("\n");
  if (lines.at(-1) === "") lines.pop();
  if (lines.some((l) => l.trim() === line)) return text ?? `${line}\n`;
  const commented = lines.findIndex((l) =>
    /^#\s*/.test(l) && l.replace(/^#\s*/, "").trim() === line
  );
  if (commented >= 0) lines[commented] = line;
  else lines.push(line);
  return `${lines.join("\n")}\n`;
}

/** Whether `/etc/locale.gen`'s `text` lists `line` uncommented. */
function lists(text: string | undefined, line: string): boolean {
  return (text ?? "").split("\n").some((l) => l.trim() === line);
}

/**
 * The name `locale -a` lists for `locale`: glibc lowercases the codeset and drops its dashes
 * (`en_US.UTF-8` → `en_US.utf8`).
 *
 * @example
 * ```ts
 * import { listedLocaleName } from "./locale.ts";
 * listedLocaleName("en_US.UTF-8"); // "en_US.utf8"
 * ```
 */
export function listedLocaleName(locale: string): string {
  return locale.replace(
    /\.([^@]+)/,
    (_, codeset: string) => `.${codeset.toLowerCase().replaceAll("-", "")}`,
  );
}

/**
 * The locale `locale` generated, on Debian and Ubuntu alike (needs the `locales` package).
 * Check: `locale -a` lists it and `/etc/locale.gen` has its line uncommented. Action: enables the
 * line in `/etc/locale.gen` (uncommenting it, or appending it), then runs `locale-gen <locale>`.
 *
 * @param locale E.g. `"en_US.UTF-8"`.
 * @returns The step.
 * @throws {TypeError} For a name that is not a locale.
 *
 * @example
 * ```ts
 * import { localeGenerated } from "./locale.ts";
 * const step = localeGenerated("en_US.UTF-8");
 * ```
 */
export function localeGenerated<S>(locale: string): Step<S> {
  if (!LOCALE.test(locale)) {
    throw new TypeError(
      `Cannot generate locale "${locale}": expected a name such as "en_US.UTF-8"`,
    );
  }
  const line = localeGenLine(locale);
  const listed = listedLocaleName(locale);
  return {
    name: `Generate the ${locale} locale`,
    probes: () => [LIST_LOCALES, InContainer.readFileArgv(LOCALE_GEN)],
    check: async (ctx) => {
      const all = (await ctx.container.output(LIST_LOCALES)).split("\n");
      return all.includes(listed) && lists(await ctx.container.readFile(LOCALE_GEN), line);
    },
    action: async (ctx) => {
      const current = await ctx.container.readFile(LOCALE_GEN);
      const wanted = enableLocaleLine(current, line);
      if (wanted !== current) await writeFileInContainer(ctx, LOCALE_GEN, wanted, "0644");
      await ctx.container.run(["locale-gen", locale], { timeoutMs: 300_000 });
    },
  };
}
