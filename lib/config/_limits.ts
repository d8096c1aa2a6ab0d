/**
 * What a configuration file may be before it is parsed: a hostile or broken file (gigabytes, a
 * binary, 100,000 nested arrays) must end in a config error naming the file, never in a crash of
 * the parser (whose recursion overflows the stack) or in an out-of-memory kill.
 *
 * @module
 */

/** The largest configuration file read: the real ones are a few hundred KiB at most. */
export const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

/** The deepest nesting of arrays and objects accepted: the real files nest six levels. */
export const MAX_NESTING = 64;

/**
 * The offset of the first byte of `bytes` that is not part of valid UTF-8 (overlong forms,
 * surrogates and code points above U+10FFFF included), or `undefined` when all of it is valid.
 */
export function invalidUtf8Offset(bytes: Uint8Array): number | undefined {
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i];
    if (lead < 0x80) {
      i++;
      continue;
    }
    const length = lead >= 0xc2 && lead <= 0xdf
      ? 2
      : lead >= 0xe0 && lead <= 0xef
      ? 3
      : lead >= 0xf0 && lead <= 0xf4
      ? 4
      : 0;
    if (length === 0) return i;
    // The second byte's range excludes overlong forms (E0, F0), surrogates (ED) and > U+10FFFF (F4).
    const low = lead === 0xe0 ? 0xa0 : lead === 0xf0 ? 0x90 : 0x80;
    const high = lead === 0xed ? 0x9f : lead === 0xf4 ? 0x8f : 0xbf;
    for (let k = 1; k < length; k++) {
      const byte = bytes[i + k];
      const [min, max] = k === 1 ? [low, high] : [0x80, 0xbf];
      if (byte === undefined || byte < min || byte > max) return i;
    }
    i += length;
  }
  return undefined;
}

/**
 * The offset of the first `[` or `{` of `text` that opens more than `limit` nested arrays and
 * objects, skipping strings and comments as jsonc-parser does; `undefined` when none does.
 */
export function tooDeepAt(text: string, limit: number = MAX_NESTING): number | undefined {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '"') {
      // A string ends at its closing quote, or (unterminated) at the end of the line.
      for (i++; i < text.length && !'"\n\r'.includes(text[i]); i++) {
        if (text[i] === "\\") i++;
      }
    } else if (char === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") i++;
    } else if (char === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      i = end < 0 ? text.length : end + 1;
    } else if (char === "[" || char === "{") {
      if (++depth > limit) return i;
    } else if (char === "]" || char === "}") {
      depth = Math.max(0, depth - 1);
    }
  }
  return undefined;
}
