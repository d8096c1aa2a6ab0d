/**
 * A {@linkcode SetupContext} for unit tests: a real {@linkcode Pct} client and
 * {@linkcode InContainer} over an injected runner (usually an `InMemoryPct`), and a recording log.
 *
 * @module
 */

import type { CommandRunner } from "../../lib/core/command_text.ts";
import { logBatches, loggingRunner } from "../../lib/report/logging_runner.ts";
import type { SetupContext } from "../../lib/module/container_module.ts";
import { InContainer } from "../../lib/host/in_container.ts";
import { Pct } from "../../lib/host/pct.ts";
import { untouchedPowerState } from "../../lib/host/power_state.ts";
import { RunRecord } from "../../lib/report/run_record.ts";
import { RecordingLog } from "./recording_log.ts";

/** What {@linkcode testContext} can be told; everything has a default. */
export interface TestContextOptions<S> {
  /** The container's CTID; `"920"` when absent. */
  readonly ctid?: string;
  readonly settings?: S;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Where the host's files are read; a path that does not exist when absent. */
  readonly hostRoot?: string;
  /** Logs every command as the executables do (`loggingRunner`); off when absent. */
  readonly logCommands?: boolean;
}

/** A context whose `log` is a {@linkcode RecordingLog}. */
export type TestContext<S> = SetupContext<S> & { readonly log: RecordingLog };

/** Builds a context over `run` for container `ctid` (default `"920"`). */
export function testContext<S = undefined>(
  run: CommandRunner,
  options: TestContextOptions<S> = {},
): TestContext<S> {
  const ctid = options.ctid ?? "920";
  const log = new RecordingLog();
  const record = new RunRecord();
  const pct = new Pct(
    options.logCommands ? loggingRunner(run, log, { record }) : run,
    options.logCommands ? logBatches(log, record) : undefined,
  );
  return {
    ctid,
    settings: options.settings as S,
    container: new InContainer(pct, ctid),
    pct,
    log,
    env: options.env ?? {},
    // A unit test must not read the machine it runs on as if it were the Proxmox host.
    hostRoot: options.hostRoot ?? "/nonexistent-host-root",
    power: untouchedPowerState(),
    record,
  };
}
