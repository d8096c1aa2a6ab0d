/**
 * A {@linkcode SetupContext} for unit tests: a real {@linkcode Pct} client and
 * {@linkcode InContainer} over an injected runner (usually a `PctModel`), and a recording log.
 *
 * @module
 */

import type { CommandRunner } from "../../lib/command.ts";
import type { SetupContext } from "../../lib/container_module.ts";
import { InContainer } from "../../lib/in_container.ts";
import { Pct } from "../../lib/pct.ts";
import { RecordingLog } from "./recording_log.ts";

/** What {@linkcode testContext} can be told; everything has a default. */
export interface TestContextOptions<S> {
  readonly ctid?: string;
  readonly settings?: S;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly hostRoot?: string;
}

/** A context whose `log` is a {@linkcode RecordingLog}. */
export type TestContext<S> = SetupContext<S> & { readonly log: RecordingLog };

/** Builds a context over `run` for container `ctid` (default `"920"`). */
export function testContext<S = undefined>(
  run: CommandRunner,
  options: TestContextOptions<S> = {},
): TestContext<S> {
  const ctid = options.ctid ?? "920";
  const pct = new Pct(run);
  return {
    ctid,
    settings: options.settings as S,
    container: new InContainer(pct, ctid),
    pct,
    log: new RecordingLog(),
    env: options.env ?? {},
    hostRoot: options.hostRoot ?? "/",
  };
}
