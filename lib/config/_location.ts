/**
 * Where a value is in the configuration text: line and column from jsonc-parser's offsets, and
 * the JSON path written the way a reader would type it (`lxc_configs["950"].features[1]`).
 *
 * @module
 */

import { findNodeAtLocation, type Node } from "../deps/jsonc_parser.ts";

/** A path into a JSON document: object keys and array indices. */
export type JsonPath = readonly (string | number)[];

/** A 1-based line and column (UTF-16 code units, as editors count them). */
export interface LineColumn {
  line: number;
  column: number;
}

/** Converts a character offset of `text` into a 1-based line and column. */
export function lineColumnAt(text: string, offset: number): LineColumn {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    const char = text[i];
    if (char === "\n" || (char === "\r" && text[i + 1] !== "\n")) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** Writes `path` as `lxc_configs["950"].vllm_engine_config.ModelConfig.model`. */
export function formatJsonPath(path: JsonPath): string {
  if (path.length === 0) return "top level";
  let written = "";
  for (const segment of path) {
    if (typeof segment === "number") written += `[${segment}]`;
    else if (IDENTIFIER.test(segment)) written += written === "" ? segment : `.${segment}`;
    else written += `[${JSON.stringify(segment)}]`;
  }
  return written;
}

/**
 * The node at `path`, or the deepest ancestor of it that exists (the object a missing field
 * belongs in), together with the part of the path that does exist.
 */
export function nodeOrAncestorAt(root: Node, path: JsonPath): { node: Node; path: JsonPath } {
  for (let length = path.length; length > 0; length--) {
    const node = findNodeAtLocation(root, path.slice(0, length) as (string | number)[]);
    if (node !== undefined) return { node, path: path.slice(0, length) };
  }
  return { node: root, path: [] };
}

/** A duplicated key: where it first appeared and where it appeared again. */
export interface DuplicateKey {
  /** Path of the object holding the key. */
  path: JsonPath;
  key: string;
  first: Node;
  again: Node;
}

/**
 * The keys that appear more than once in the same object, in `node` and (when `deep`) in every
 * object below it. jq, like the JSON parser here, keeps the last one silently.
 */
export function duplicateKeys(node: Node, path: JsonPath, deep: boolean): DuplicateKey[] {
  const found: DuplicateKey[] = [];
  if (node.type === "object") {
    const seen = new Map<string, Node>();
    for (const property of node.children ?? []) {
      const [keyNode, valueNode] = property.children ?? [];
      if (keyNode === undefined) continue;
      const key = String(keyNode.value);
      const first = seen.get(key);
      if (first === undefined) seen.set(key, keyNode);
      else found.push({ path, key, first, again: keyNode });
      if (deep && valueNode !== undefined) {
        found.push(...duplicateKeys(valueNode, [...path, key], deep));
      }
    }
  } else if (node.type === "array" && deep) {
    (node.children ?? []).forEach((child, index) => {
      found.push(...duplicateKeys(child, [...path, index], deep));
    });
  }
  return found;
}
