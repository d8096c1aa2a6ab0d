/**
 * `@logtape/logtape`, pinned: logging (`../report/logging.ts`). Why npm packages are named here, one
 * module each: see `zx.ts`.
 *
 * @module
 */

export {
  configure,
  dispose,
  getLogger,
  type Logger,
  type LogRecord,
  type Sink,
} from "npm:@logtape/logtape@2.4.2";
