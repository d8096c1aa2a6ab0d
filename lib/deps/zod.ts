/**
 * `zod`, pinned: validates the configuration and defines the run report, and exports both as
 * JSON Schema. Why npm packages are named here, one module each: see `zx.ts`.
 *
 * @module
 */

export { z } from "npm:zod@4.6.7";
