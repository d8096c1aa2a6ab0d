/**
 * `performContainerSpecificSetup`: the generic flows that run a container module.
 *
 * Template: snapshot already there → nothing to do. Otherwise make sure the container runs, run
 * the steps and the verification, shut it down (bounded), confirm it stopped, snapshot, start it,
 * confirm it runs. Nothing is snapshotted after a failed step or verification, and a failure after
 * the shutdown starts the container again, so the host is left as it was found.
 *
 * Standard: make sure it runs, run the steps and the verification; no snapshot.
 *
 * @module
 */

import type { ContainerModule, SetupContext } from "../module/container_module.ts";
import { SetupError } from "../core/errors.ts";
import { ExitCode } from "../core/exit_codes.ts";
import type { ContainerStatus } from "../host/pct.ts";
import { markStarted, markStopped, type PowerState } from "../host/power_state.ts";
import { RunStopped } from "../host/run_supervisor.ts";
import { runSteps, runVerification } from "./run_steps.ts";

/** How a successful run ended. */
export type Outcome =
  | { readonly kind: "snapshot-created"; readonly snapshot: string }
  | {
    readonly kind: "already-complete";
    readonly snapshot: string;
    /** The complete template was found stopped and this run started it. */
    readonly started?: boolean;
  }
  | { readonly kind: "completed" }
  | { readonly kind: "dry-run" };

/** Everything the flows need. */
export interface SetupRun<S> {
  readonly module: ContainerModule<S>;
  readonly ctx: SetupContext<S>;
  /** The status `checkContainerExists` found. */
  readonly status: ContainerStatus;
  /** The snapshot a template ends in (config's `template_snapshot_name` or the default). */
  readonly snapshotName?: string;
  readonly dryRun: boolean;
  /** Seconds `pct shutdown` may take before the run gives up. */
  readonly shutdownTimeoutSeconds: number;
}

function lifecycleError(message: string, phase: string, cause: unknown): SetupError {
  const detail = cause instanceof Error ? `: ${cause.message}` : "";
  return new SetupError(`${message}${detail}`, ExitCode.Lifecycle, { phase, cause });
}

/** Starts the container when it is stopped, remembering that this run did. */
async function ensureRunning<S>(run: SetupRun<S>): Promise<void> {
  if (run.status === "running") return;
  run.ctx.log.info(`Container ${run.ctx.ctid} is stopped; starting it`);
  try {
    await run.ctx.pct.start(run.ctx.ctid);
  } catch (error) {
    throw lifecycleError(`Cannot start container ${run.ctx.ctid}`, "start", error);
  }
  markStarted(run.ctx.power);
}

/**
 * After a failure: a container this run shut down is started again; one this run started from
 * stopped is shut down again. Problems here are logged, never thrown: the original failure is
 * what the run reports.
 */
export async function restorePowerState<S>(
  ctx: SetupContext<S>,
  timeoutSeconds: number,
): Promise<void> {
  const power = ctx.power;
  try {
    if (power.stoppedByUs) {
      ctx.log.warn(`Starting container ${ctx.ctid} again, as it was running when this run began`);
      try {
        await ctx.pct.start(ctx.ctid);
      } catch (error) {
        // A shutdown counts from the moment it is sent, so it may not have happened (timed out,
        // interrupted), and `pct start` fails on a running container: then all is well.
        if (error instanceof RunStopped || await statusOrUnknown(ctx) !== "running") throw error;
        ctx.log.info(`Container ${ctx.ctid} is running: it had not shut down`);
      }
      power.stoppedByUs = false;
    } else if (power.startedByUs) {
      ctx.log.warn(
        `Shutting container ${ctx.ctid} down again, as it was stopped when this run began`,
      );
      await ctx.pct.shutdown(ctx.ctid, { timeoutSeconds, forceStop: true });
      power.startedByUs = false;
    }
  } catch (error) {
    // The run is being stopped by a signal or the watchdog, whose cleanup restores the power
    // state once the running commands have ended.
    if (error instanceof RunStopped) return;
    ctx.log.error(
      `Could not restore container ${ctx.ctid}'s power state: ${(error as Error).message}; ` +
        `check it with 'pct status ${ctx.ctid}'`,
    );
  }
}

async function stepsAndVerification<S>(run: SetupRun<S>): Promise<void> {
  try {
    const steps = await runSteps(run.module.steps, run.ctx, {
      dryRun: false,
      verification: run.module.verification,
    });
    await runVerification(run.module.verification, run.ctx, steps);
  } catch (error) {
    await restorePowerState(run.ctx, run.shutdownTimeoutSeconds);
    throw error;
  }
}

async function dryRun<S>(run: SetupRun<S>, snapshot?: string): Promise<Outcome> {
  const { ctx, module } = run;
  const say = (text: string) => ctx.log.info(`[dry-run] ${text}`);
  if (run.status === "running") {
    await runSteps(module.steps, ctx, { dryRun: true });
  } else {
    say(`Would start container ${ctx.ctid} (stopped now)`);
    for (const step of module.steps) {
      say(`Would check, and run unless already done: "${step.name}"`);
    }
  }
  for (const check of module.verification) say(`Would verify: "${check.name}"`);
  if (snapshot) {
    say(`Would shut down container ${ctx.ctid} (timeout ${run.shutdownTimeoutSeconds} s)`);
    say(`Would take snapshot '${snapshot}'`);
    say(`Would start container ${ctx.ctid} again`);
  }
  return { kind: "dry-run" };
}

/** `pct status`, or `undefined` when pct cannot answer (the caller decides what that means). */
function statusOrUnknown<S>(ctx: SetupContext<S>): Promise<ContainerStatus | undefined> {
  return ctx.pct.status(ctx.ctid).catch(() => undefined);
}

/**
 * A complete template found stopped: every template run ends with the container running, and a
 * run killed between its snapshot and its start leaves it stopped. This run holds the lock, so no
 * other run is in the middle of it: start it (the one mutating call of an idempotent re-run).
 */
async function startCompleteTemplate<S>(run: SetupRun<S>, snapshot: string): Promise<Outcome> {
  const { ctx } = run;
  const why = "template runs end with the container running (a run killed between its " +
    "snapshot and its start leaves it stopped)";
  if (run.dryRun) {
    ctx.log.info(`[dry-run] Would start container ${ctx.ctid}, which is stopped: ${why}`);
    return { kind: "dry-run" };
  }
  ctx.log.warn(`Container ${ctx.ctid} is stopped; starting it: ${why}`);
  try {
    await ctx.pct.start(ctx.ctid);
  } catch (error) {
    throw lifecycleError(`Cannot start container ${ctx.ctid}`, "start", error);
  }
  return { kind: "already-complete", snapshot, started: true };
}

async function templateFlow<S>(run: SetupRun<S>, snapshot: string): Promise<Outcome> {
  const { ctx } = run;
  const ctid = ctx.ctid;
  let existing: string[];
  try {
    existing = await ctx.pct.listSnapshots(ctid);
  } catch (error) {
    throw new SetupError(
      `Cannot list the snapshots of container ${ctid}: ${(error as Error).message}`,
      ExitCode.Snapshot,
      { phase: "snapshot check", cause: error },
    );
  }
  if (existing.includes(snapshot)) {
    ctx.log.info(`Snapshot '${snapshot}' already exists: template ${ctid} is complete`);
    if (run.status === "running") return { kind: "already-complete", snapshot };
    return await startCompleteTemplate(run, snapshot);
  }
  if (run.dryRun) return dryRun(run, snapshot);

  await ensureRunning(run);
  await stepsAndVerification(run);

  ctx.log.info(`Shutting down container ${ctid} for a clean snapshot`);
  const before: PowerState = { ...ctx.power };
  // A shutdown counts from the moment it is sent: a signal or a failure in the middle must find
  // the container accounted for, and restoring looks at its real state first.
  markStopped(ctx.power);
  try {
    await ctx.pct.shutdown(ctid, { timeoutSeconds: run.shutdownTimeoutSeconds });
  } catch (error) {
    // A timed-out shutdown leaves it running; anything else may not: find out and put it back.
    if (await statusOrUnknown(ctx) === "running") Object.assign(ctx.power, before);
    await restorePowerState(ctx, run.shutdownTimeoutSeconds);
    throw lifecycleError(
      `Container ${ctid} did not shut down within ${run.shutdownTimeoutSeconds} s`,
      "shutdown",
      error,
    );
  }
  const after = await statusOrUnknown(ctx);
  if (after !== "stopped") {
    // Never snapshot a container that may still be running.
    if (after === "running") Object.assign(ctx.power, before);
    await restorePowerState(ctx, run.shutdownTimeoutSeconds);
    throw lifecycleError(
      `Container ${ctid} reports '${after ?? "unknown (pct status failed)"}' after its shutdown`,
      "shutdown",
      undefined,
    );
  }

  try {
    await ctx.pct.snapshot(ctid, snapshot);
  } catch (error) {
    await restorePowerState(ctx, run.shutdownTimeoutSeconds);
    throw new SetupError(
      `Cannot take snapshot '${snapshot}' of ${ctid}: ${(error as Error).message}`,
      ExitCode.Snapshot,
      { phase: "snapshot", cause: error },
    );
  }
  ctx.log.info(`Snapshot '${snapshot}' of container ${ctid} created`);

  // The pattern ends with the template running, whatever state it was found in.
  try {
    await ctx.pct.start(ctid);
  } catch (error) {
    throw lifecycleError(
      `Snapshot taken, but container ${ctid} did not start again`,
      "start",
      error,
    );
  }
  // Running, as the pattern wants it, so nothing is left to undo (not markStarted: a template
  // found stopped must not be shut down again if the final check fails).
  ctx.power.stoppedByUs = false;
  const final = await statusOrUnknown(ctx);
  if (final !== "running") {
    throw lifecycleError(
      `Container ${ctid} reports '${final ?? "unknown (pct status failed)"}' after its start`,
      "start",
      undefined,
    );
  }
  return { kind: "snapshot-created", snapshot };
}

async function standardFlow<S>(run: SetupRun<S>): Promise<Outcome> {
  if (run.dryRun) return dryRun(run);
  await ensureRunning(run);
  await stepsAndVerification(run);
  return { kind: "completed" };
}

/** Runs the module's flow: the template flow when it is a template, else the standard flow. */
export function performContainerSpecificSetup<S>(run: SetupRun<S>): Promise<Outcome> {
  if (run.module.kind === "template") {
    if (!run.snapshotName) throw new TypeError("A template run needs a snapshot name");
    return templateFlow(run, run.snapshotName);
  }
  return standardFlow(run);
}
