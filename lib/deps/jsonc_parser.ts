/**
 * `jsonc-parser`, pinned: reads the configuration file with its comments and error offsets
 * (`../config/`). Why npm packages are named here, one module each: see `zx.ts`.
 *
 * @module
 */

export {
  findNodeAtLocation,
  type Node,
  parse as parseJsonc,
  type ParseError,
  parseTree,
  printParseErrorCode,
} from "npm:jsonc-parser@3.3.1";
