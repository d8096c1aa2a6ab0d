/**
 * Turns zod issues into "expected X, found Y" problems.
 *
 * The schemas in `schema.ts` give each field an `error` phrase ("an integer from 1 to 8"), which
 * zod puts in `issue.message`. {@linkcode expectationOf} supplies a phrase in the same style for
 * issues of schemas that did not (a container module's own `z.string()`), passed to
 * `safeParse` as its error map.
 *
 * @module
 */

import type { z } from "../deps/zod.ts";
import type { JsonPath } from "./_location.ts";

const TYPE_PHRASES: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "an integer",
  boolean: "true or false",
  object: "an object",
  array: "an array",
  null: "null",
};

type RawIssue = z.core.$ZodRawIssue;

/** The "expected ..." phrase for an issue whose schema gave none. */
export function expectationOf(issue: RawIssue): string {
  switch (issue.code) {
    case "invalid_type":
      return TYPE_PHRASES[issue.expected] ?? `a value of type ${issue.expected}`;
    case "too_small":
      return boundPhrase(issue.origin, "at least", issue.minimum);
    case "too_big":
      return boundPhrase(issue.origin, "at most", issue.maximum);
    case "invalid_format":
      return issue.format === "regex" && "pattern" in issue
        ? `a string matching ${String(issue.pattern)}`
        : `a string in ${issue.format} format`;
    case "invalid_value":
      return `one of ${issue.values.map((value) => JSON.stringify(value)).join(", ")}`;
    case "not_multiple_of":
      return `a multiple of ${issue.divisor}`;
    default:
      return "a valid value";
  }
}

function boundPhrase(origin: string, relation: string, bound: unknown): string {
  if (origin === "string") return `a string of ${relation} ${bound} characters`;
  if (origin === "array" || origin === "set") return `${relation} ${bound} items`;
  return `a number ${relation} ${bound}`;
}

/** How a found value is quoted in a message: JSON, cut short when long. */
export function describeFound(value: unknown): string {
  const json = JSON.stringify(value) ?? String(value);
  return json.length > 60 ? `${json.slice(0, 57)}...` : json;
}

/** The value at `path` below `root`, and whether the last key is absent from its object. */
export function valueAt(root: unknown, path: JsonPath): { value: unknown; missing: boolean } {
  let current: unknown = root;
  for (const segment of path) {
    if (current === null || typeof current !== "object" || !Object.hasOwn(current, segment)) {
      return { value: undefined, missing: true };
    }
    current = (current as Record<string | number, unknown>)[segment];
  }
  return { value: current, missing: false };
}

/** One problem of a value, ready to be located and written. */
export interface Problem {
  /** Path of the offending value (for a missing field: of the object that lacks it). */
  path: JsonPath;
  /** Whether the location is the key rather than the value (a bad record key). */
  atKey: boolean;
  /** Where to point instead of the node at `path` (a duplicate key's second occurrence). */
  offset?: number;
  /** E.g. `expected an integer from 1 to 8, found "two"`, `missing field vllm_model`. */
  text: string;
}

/**
 * The problem an issue describes, `issue.path` being relative to `basePath`, where `base` (the
 * parsed value at `basePath`) is.
 */
export function problemOf(issue: z.core.$ZodIssue, base: unknown, basePath: JsonPath): Problem {
  const path = issue.path.filter((segment): segment is string | number =>
    typeof segment !== "symbol"
  );
  if (issue.code === "invalid_key") {
    const key = path[path.length - 1];
    const expected = issue.issues[0]?.message ?? "a valid key";
    return {
      path: [...basePath, ...path],
      atKey: true,
      text: `key ${JSON.stringify(key)}: expected ${expected}`,
    };
  }
  const { value, missing } = valueAt(base, path);
  if (missing && path.length > 0) {
    const parent = valueAt(base, path.slice(0, -1));
    if (!parent.missing && parent.value !== null && typeof parent.value === "object") {
      return {
        path: [...basePath, ...path.slice(0, -1)],
        atKey: false,
        text: `missing field ${path[path.length - 1]}`,
      };
    }
  }
  return {
    path: [...basePath, ...path],
    atKey: false,
    text: `expected ${issue.message}, found ${describeFound(value)}`,
  };
}
