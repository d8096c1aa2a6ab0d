/**
 * A dry run's plan of one step: the concrete commands its action would run, found by running the
 * action against a `pct` that records each command and runs none. The step's own code is the
 * plan, so the plan cannot drift from what a real run does.
 *
 * Every recorded command "succeeds" with no output. An action that needs a real answer to go on
 * (a file read back after it was written) stops there; the plan then says that what follows
 * depends on the answers.
 *
 * @module
 */

import { type CommandRunner, displayCommand } from "../core/command_text.ts";
import type { SetupContext, Step } from "../module/container_module.ts";
import { InContainer } from "../host/in_container.ts";
import type { Log } from "../report/logging.ts";
import { Pct } from "../host/pct.ts";
import { RunRecord } from "../report/run_record.ts";

/** What a step's action would run. */
export interface StepPlan {
  /** The commands, as a person would type them (`pct exec 920 -- apt-get update`). */
  readonly commands: readonly string[];
  /** False when the action stopped early, needing a real answer to go on. */
  readonly complete: boolean;
}

/** The plan's actions talk to nobody: what they would log is not what happens. */
const SILENT: Log = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  fatal: () => {},
  output: () => {},
};

/**
 * Runs `step`'s action against a recording `pct` and returns the commands it would run; nothing
 * runs, and the run's own context is not touched.
 *
 * @example
 * ```ts ignore
 * const plan = await planStep(step, ctx);
 * plan.commands; // ["pct exec 920 -- env DEBIAN_FRONTEND=noninteractive apt-get update", ...]
 * ```
 */
export async function planStep<S>(step: Step<S>, ctx: SetupContext<S>): Promise<StepPlan> {
  const commands: string[] = [];
  const record: CommandRunner = (argv) => {
    commands.push(displayCommand(argv));
    return Promise.resolve({ argv, exitCode: 0, stdout: "", stderr: "", durationMs: 0 });
  };
  const pct = new Pct(record);
  const planning: SetupContext<S> = {
    ...ctx,
    pct,
    container: new InContainer(pct, ctx.ctid),
    log: SILENT,
    power: { ...ctx.power },
    record: new RunRecord(),
  };
  try {
    await step.action(planning);
    return { commands, complete: true };
  } catch {
    return { commands, complete: false };
  }
}
