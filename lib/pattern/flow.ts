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
 * Every snapshot is stamped with what made it (`provenance.ts`); a re-run of a complete template
 * compares the stamp with what it would make now and warns of drift, `--refresh` rebuilds the
 * template and replaces its snapshot, and `--check` only says what a run would change.
 *
 * @module
 */

import type { ContainerModule, SetupContext } from "../module/container_module.ts";
import { SetupError } from "../core/errors.ts";
import { ExitCode } from "../core/exit_codes.ts";
import { type Clock, describeWait, systemClock, waitFor, WaitTimeoutError } from "../core/wait.ts";
import type { ContainerStatus, SnapshotEntry } from "../host/pct.ts";
import { markStarted, markStopped, type PowerState } from "../host/power_state.ts";
import {
  busyError,
  inspectRunSnapshot,
  lockRefusal,
  proxmoxTemplateRefusal,
  SNAPSHOT_LOCKS,
  type SnapshotFinding,
} from "../host/proxmox_state.ts";
import { RunStopped } from "../host/run_supervisor.ts";
import { NestingPending } from "../steps/docker.ts";
import { writeFileInContainer } from "../steps/files.ts";
import {
  driftBetween,
  parseProvenance,
  parseStampLine,
  PROVENANCE_FILE,
  provenanceRecord,
  type Stamp,
} from "./provenance.ts";
import { runSteps, runVerification } from "./run_steps.ts";

/** How a successful run ended. */
export type Outcome =
  | {
    readonly kind: "snapshot-created";
    readonly snapshot: string;
    /** `--refresh`: the snapshot replaced an older one of the same name. */
    readonly refreshed?: boolean;
  }
  | {
    readonly kind: "already-complete";
    readonly snapshot: string;
    /** The complete template was found stopped and this run started it. */
    readonly started?: boolean;
    /** How the snapshot differs from what this executable would make now (none: in sync). */
    readonly drift?: readonly string[];
    /** The snapshot has no phoenix-setup stamp: made by hand, or by an older version. */
    readonly unstamped?: boolean;
  }
  | { readonly kind: "completed" }
  | { readonly kind: "dry-run" }
  | {
    readonly kind: "checked";
    /** What a run would change, one difference a line; none: the container is as it should be. */
    readonly differences: readonly string[];
  };

/**
 * The exit code of a run that ended with `outcome`: 0, or {@linkcode ExitCode.Differs} for a
 * `--check` that found differences.
 */
export function exitCodeOf(outcome: Outcome): ExitCode {
  return outcome.kind === "checked" && outcome.differences.length > 0
    ? ExitCode.Differs
    : ExitCode.Success;
}

/** Everything the flows need. */
export interface SetupRun<S> {
  readonly module: ContainerModule<S>;
  readonly ctx: SetupContext<S>;
  /** The status `checkContainerExists` found. */
  readonly status: ContainerStatus;
  /** The Proxmox lock it found (`pct status --verbose`); absent when none. */
  readonly lock?: string;
  /** It found a Proxmox template (`template: 1`), which cannot be set up. */
  readonly proxmoxTemplate?: boolean;
  /** The snapshot a template ends in (config's `template_snapshot_name` or the default). */
  readonly snapshotName?: string;
  readonly dryRun: boolean;
  /**
   * `--check`: read-only like a dry run, and the outcome lists what a run would change. Implies
   * `dryRun`.
   */
  readonly check?: boolean;
  /** `--refresh`: rebuild a complete template and replace its snapshot. */
  readonly refresh?: boolean;
  /** What this executable would make now; the stamp of the snapshot a template run takes. */
  readonly stamp?: Stamp;
  /** Seconds `pct shutdown` may take before the run gives up. */
  readonly shutdownTimeoutSeconds: number;
  /** Time for the waits on a lifecycle change; the system clock when absent (tests inject one). */
  readonly clock?: Clock;
}

/**
 * How long a started container may take to show as running: an HA-managed container's
 * `pct start` only queues a request, which the HA manager acts on within seconds.
 */
export const START_CONFIRM_SECONDS = 60;

/**
 * How much longer a container whose `pct shutdown --timeout N` timed out is given to go down
 * (N seconds again, at most this): pct never withdraws the clean shutdown it asked for, so it may
 * still happen.
 */
export const SHUTDOWN_GRACE_SECONDS = 30;

/**
 * A failed start or shutdown: in its own words when a Proxmox operation holds the container or
 * its configuration (exit 13), else a lifecycle failure (exit 5).
 *
 * @param doing What the run tried, for the busy wording: `start container 920`.
 */
function lifecycleError(
  ctid: string,
  doing: string,
  message: string,
  phase: string,
  cause: unknown,
): SetupError {
  const busy = busyError(ctid, doing, cause);
  if (busy) return new SetupError(busy.message, busy.exitCode, { phase, cause });
  const detail = cause instanceof Error ? `: ${cause.message}` : "";
  return new SetupError(`${message}${detail}`, ExitCode.Lifecycle, { phase, cause });
}

/**
 * Polls `pct status` until the container reports `wanted`, with backoff, for at most `seconds`;
 * says what it waits for when the first look is not enough. Returns the last status seen
 * (`undefined`: pct could not answer).
 */
async function awaitStatus<S>(
  ctx: SetupContext<S>,
  wanted: ContainerStatus,
  seconds: number,
  clock: Clock = systemClock,
  why = "",
): Promise<ContainerStatus | undefined> {
  let last: ContainerStatus | undefined;
  const what = `container ${ctx.ctid} to report '${wanted}'${why}`;
  try {
    await waitFor(what, async () => {
      last = await statusOrUnknown(ctx);
      return last === wanted
        ? { ready: true }
        : { ready: false, detail: `'${last ?? "unknown (pct status failed)"}'` };
    }, {
      timeoutMs: seconds * 1000,
      clock,
      onRetry: (progress) => ctx.log.info(describeWait(what, progress)),
    });
  } catch (error) {
    if (!(error instanceof WaitTimeoutError)) throw error;
  }
  return last;
}

/** `pct start`, then wait until pct status says it runs (an HA request takes a while). */
async function startAndConfirm<S>(
  ctx: SetupContext<S>,
  clock: Clock | undefined,
): Promise<ContainerStatus | undefined> {
  await ctx.pct.start(ctx.ctid);
  return await awaitStatus(ctx, "running", START_CONFIRM_SECONDS, clock);
}

/** The lifecycle failure of a start that pct accepted but `pct status` never confirmed. */
function notStartedError(ctid: string, seen: ContainerStatus | undefined): SetupError {
  return new SetupError(
    `Container ${ctid} reports '${seen ?? "unknown (pct status failed)"}' ` +
      `${START_CONFIRM_SECONDS} s after its start`,
    ExitCode.Lifecycle,
    { phase: "start" },
  );
}

/** Starts the container when it is stopped, remembering that this run did. */
async function ensureRunning<S>(run: SetupRun<S>): Promise<void> {
  if (run.status === "running") return;
  const ctid = run.ctx.ctid;
  run.ctx.log.info(`Container ${ctid} is stopped; starting it`);
  let seen;
  try {
    seen = await startAndConfirm(run.ctx, run.clock);
  } catch (error) {
    throw lifecycleError(
      ctid,
      `start container ${ctid}`,
      `Cannot start container ${ctid}`,
      "start",
      error,
    );
  }
  markStarted(run.ctx.power);
  if (seen !== "running") {
    await restorePowerState(run.ctx, run.shutdownTimeoutSeconds, run.clock);
    throw notStartedError(ctid, seen);
  }
}

/**
 * After a failure: a container this run shut down is started again; one this run started from
 * stopped is shut down again. Each change is confirmed by `pct status`, and nothing is done where
 * the state found already is the one wanted. Problems here are logged, never thrown: the original
 * failure is what the run reports.
 */
export async function restorePowerState<S>(
  ctx: SetupContext<S>,
  timeoutSeconds: number,
  clock?: Clock,
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
        power.stoppedByUs = false;
        return;
      }
      const seen = await awaitStatus(ctx, "running", START_CONFIRM_SECONDS, clock);
      if (seen !== "running") throw notStartedError(ctx.ctid, seen);
      power.stoppedByUs = false;
    } else if (power.startedByUs) {
      if (await statusOrUnknown(ctx) === "stopped") {
        ctx.log.info(`Container ${ctx.ctid} is stopped, as it was when this run began`);
        power.startedByUs = false;
        return;
      }
      ctx.log.warn(
        `Shutting container ${ctx.ctid} down again, as it was stopped when this run began`,
      );
      await ctx.pct.shutdown(ctx.ctid, { timeoutSeconds, forceStop: true });
      const seen = await awaitStatus(ctx, "stopped", timeoutSeconds, clock);
      if (seen !== "stopped") {
        throw new Error(`it reports '${seen ?? "unknown (pct status failed)"}' after its shutdown`);
      }
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

async function stepsOnce<S>(run: SetupRun<S>): Promise<void> {
  const steps = await runSteps(run.module.steps, run.ctx, {
    dryRun: false,
    verification: run.module.verification,
  });
  await runVerification(run.module.verification, run.ctx, steps);
}

/** Whether a {@linkcode NestingPending} is `error` or among its causes. */
function nestingPending(error: unknown): boolean {
  for (let e = error; e instanceof Error; e = e.cause) {
    if (e instanceof NestingPending) return true;
  }
  return false;
}

/**
 * A template whose `nesting=1` is only pending is restarted, so that it takes effect (a template
 * is shut down for its snapshot anyway, and runs no service yet); each change confirmed.
 */
async function restartForPending<S>(run: SetupRun<S>): Promise<void> {
  const { ctx } = run;
  const ctid = ctx.ctid;
  const timeout = run.shutdownTimeoutSeconds;
  ctx.log.warn(
    `Container ${ctid} has nesting=1 only as a pending change (set while it ran): restarting ` +
      "the template so that it takes effect, then checking the steps again",
  );
  markStopped(ctx.power);
  try {
    await ctx.pct.shutdown(ctid, { timeoutSeconds: timeout });
    const down = await awaitStatus(ctx, "stopped", timeout, run.clock);
    if (down !== "stopped") {
      throw new Error(`it reports '${down ?? "unknown (pct status failed)"}' after its shutdown`);
    }
    const up = await startAndConfirm(ctx, run.clock);
    if (up !== "running") {
      throw new Error(`it reports '${up ?? "unknown (pct status failed)"}' after its start`);
    }
  } catch (error) {
    if (error instanceof RunStopped) throw error;
    throw lifecycleError(
      ctid,
      `restart container ${ctid}`,
      `Cannot restart template ${ctid} to bring its pending nesting=1 into effect`,
      "restart",
      error,
    );
  }
  markStarted(ctx.power);
}

async function stepsAndVerification<S>(run: SetupRun<S>): Promise<void> {
  try {
    try {
      await stepsOnce(run);
    } catch (error) {
      if (run.module.kind !== "template" || !nestingPending(error)) throw error;
      await restartForPending(run);
      await stepsOnce(run);
    }
  } catch (error) {
    await restorePowerState(run.ctx, run.shutdownTimeoutSeconds, run.clock);
    throw error;
  }
}

async function dryRun<S>(
  run: SetupRun<S>,
  snapshot?: string,
  replace = false,
): Promise<Outcome> {
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
    if (run.stamp) say(`Would record ${PROVENANCE_FILE} in container ${ctx.ctid}`);
    say(`Would shut down container ${ctx.ctid} (timeout ${run.shutdownTimeoutSeconds} s)`);
    if (replace) say(`Would remove the old snapshot '${snapshot}'`);
    say(`Would take snapshot '${snapshot}'${run.stamp ? " stamped with what made it" : ""}`);
    say(`Would start container ${ctx.ctid} again`);
  }
  return { kind: "dry-run" };
}

/**
 * `pct status`, or `undefined` when pct cannot answer (the caller decides what that means); a
 * run being stopped is not an answer.
 */
function statusOrUnknown<S>(ctx: SetupContext<S>): Promise<ContainerStatus | undefined> {
  return ctx.pct.status(ctx.ctid).catch((error) => {
    if (error instanceof RunStopped) throw error;
    return undefined;
  });
}

/**
 * A complete template found stopped: every template run ends with the container running, and a
 * run killed between its snapshot and its start leaves it stopped. This run holds the lock, so no
 * other run is in the middle of it: start it (the one mutating call of an idempotent re-run).
 */
async function startCompleteTemplate<S>(
  run: SetupRun<S>,
  complete: Extract<Outcome, { kind: "already-complete" }>,
): Promise<Outcome> {
  const { ctx } = run;
  const why = "template runs end with the container running (a run killed between its " +
    "snapshot and its start leaves it stopped)";
  if (run.dryRun) {
    ctx.log.info(`[dry-run] Would start container ${ctx.ctid}, which is stopped: ${why}`);
    return { kind: "dry-run" };
  }
  ctx.log.warn(`Container ${ctx.ctid} is stopped; starting it: ${why}`);
  let seen;
  try {
    seen = await startAndConfirm(ctx, run.clock);
  } catch (error) {
    throw lifecycleError(
      ctx.ctid,
      `start container ${ctx.ctid}`,
      `Cannot start container ${ctx.ctid}`,
      "start",
      error,
    );
  }
  if (seen !== "running") throw notStartedError(ctx.ctid, seen);
  return { ...complete, started: true };
}

/** Refuses, before the first change, a container that a Proxmox operation holds. */
function refuseIfLocked<S>(run: SetupRun<S>): void {
  if (run.lock) throw lockRefusal(run.ctx.ctid, run.lock);
}

/**
 * This run's snapshot, listed by pct, while the container holds a snapshot lock: is it finished,
 * or half-made (`snapstate`)? Only then is `pct config --snapshot` read.
 */
async function inspectSnapshot<S>(
  run: SetupRun<S>,
  snapshot: string,
): Promise<SnapshotFinding> {
  if (!run.lock || !SNAPSHOT_LOCKS.has(run.lock)) return { kind: "complete" };
  try {
    return await inspectRunSnapshot(run.ctx.pct, run.ctx.ctid, snapshot, {
      status: run.status,
      lock: run.lock,
    });
  } catch (error) {
    if (error instanceof RunStopped) throw error;
    throw new SetupError(
      `Cannot read the state of snapshot '${snapshot}' of container ${run.ctx.ctid}: ` +
        (error as Error).message,
      ExitCode.Snapshot,
      { phase: "snapshot check", cause: error },
    );
  }
}

/**
 * Clears a half-made snapshot the way Proxmox's own tools do: `pct unlock`, then
 * `pct delsnapshot --force` (its storage part may be missing). A dry run only says so.
 */
async function repairSnapshot<S>(
  run: SetupRun<S>,
  snapshot: string,
  description: string,
): Promise<void> {
  const { ctx } = run;
  const ctid = ctx.ctid;
  const plan = `'pct unlock ${ctid}', 'pct delsnapshot ${ctid} ${snapshot} --force', then the ` +
    "template setup, which takes the snapshot anew";
  if (run.dryRun) {
    ctx.log.info(`[dry-run] Found the ${description}. Would repair it: ${plan}`);
    return;
  }
  ctx.log.warn(`Found the ${description}. Repairing it: ${plan}`);
  try {
    await ctx.pct.unlock(ctid);
    await ctx.pct.deleteSnapshot(ctid, snapshot, { force: true });
  } catch (error) {
    if (error instanceof RunStopped) throw error;
    throw new SetupError(
      `Cannot repair the ${description}: ${(error as Error).message}. Repair it by hand: ` +
        `'pct unlock ${ctid}', then 'pct delsnapshot ${ctid} ${snapshot} --force', then run ` +
        "this again",
      ExitCode.Snapshot,
      { phase: "snapshot repair", cause: error },
    );
  }
  ctx.log.info(`Half-made snapshot '${snapshot}' of container ${ctid} deleted; lock cleared`);
}

/**
 * Shuts the template down for its snapshot and confirms it stopped. A shutdown that pct reports
 * timed out is looked at again for as long again (at most {@linkcode SHUTDOWN_GRACE_SECONDS}):
 * the clean shutdown it asked for is never withdrawn, and a container that went down after all
 * is as good as one that went down in time. Anything else puts the power state back as found and
 * throws.
 */
async function shutDownForSnapshot<S>(run: SetupRun<S>): Promise<void> {
  const { ctx } = run;
  const ctid = ctx.ctid;
  const timeout = run.shutdownTimeoutSeconds;
  const grace = Math.min(timeout, SHUTDOWN_GRACE_SECONDS);
  ctx.log.info(`Shutting down container ${ctid} for a clean snapshot`);
  const before: PowerState = { ...ctx.power };
  // A shutdown counts from the moment it is sent: a signal or a failure in the middle must find
  // the container accounted for, and restoring looks at its real state first.
  markStopped(ctx.power);
  let failure: unknown;
  try {
    await ctx.pct.shutdown(ctid, { timeoutSeconds: timeout });
  } catch (error) {
    if (error instanceof RunStopped) throw error;
    failure = error;
  }
  const busy = failure === undefined
    ? undefined
    : busyError(ctid, `shut container ${ctid} down`, failure);
  let seen: ContainerStatus | undefined;
  if (busy) {
    seen = await statusOrUnknown(ctx);
  } else if (failure !== undefined) {
    ctx.log.warn(
      `pct shutdown of container ${ctid} gave up after ${timeout} s; the clean shutdown it asked ` +
        `for still stands, so looking again for up to ${grace} s before deciding`,
    );
    seen = await awaitStatus(ctx, "stopped", grace, run.clock, " after all");
    if (seen === "stopped") {
      ctx.log.info(`Container ${ctid} went down after its shutdown timed out; going on`);
      return;
    }
  } else {
    // HA-managed: `pct shutdown` only queued a request. Otherwise the first look confirms it.
    seen = await awaitStatus(ctx, "stopped", timeout, run.clock);
    if (seen === "stopped") return;
  }
  // Never snapshot a container that may still be running.
  if (seen === "running") Object.assign(ctx.power, before);
  await restorePowerState(ctx, timeout, run.clock);
  if (busy) {
    throw new SetupError(busy.message, busy.exitCode, { phase: "shutdown", cause: failure });
  }
  const found = `'${seen ?? "unknown (pct status failed)"}'`;
  if (failure !== undefined) {
    throw lifecycleError(
      ctid,
      `shut container ${ctid} down`,
      `Container ${ctid} did not shut down within ${timeout} s (it reports ${found} ` +
        `${grace} s later; the clean shutdown pct asked for may still happen: ` +
        `check 'pct status ${ctid}' before anything else)`,
      "shutdown",
      failure,
    );
  }
  throw new SetupError(
    `Container ${ctid} reports ${found} ${timeout} s after its shutdown`,
    ExitCode.Lifecycle,
    { phase: "shutdown" },
  );
}

/**
 * The existing snapshot against what this executable would make now, logged: in sync, drifted
 * (a warning a difference, then how to refresh), or made by something else (no stamp).
 */
function compareSnapshot<S>(
  run: SetupRun<S>,
  snapshot: string,
  description: string | undefined,
): Extract<Outcome, { kind: "already-complete" }> {
  const { ctx } = run;
  ctx.log.info(`Snapshot '${snapshot}' already exists: template ${ctx.ctid} is complete`);
  if (!run.stamp) return { kind: "already-complete", snapshot };
  const made = description === undefined ? undefined : parseStampLine(description);
  if (!made) {
    ctx.log.warn(
      `Snapshot '${snapshot}' was made by something else (its description has no ` +
        `phoenix-setup stamp: ${JSON.stringify(description ?? "no-description")}): whether it ` +
        `is what this executable makes cannot be told; --refresh rebuilds it with a stamp`,
    );
    return { kind: "already-complete", snapshot, unstamped: true };
  }
  const drift = driftBetween(made, run.stamp);
  for (const difference of drift) {
    ctx.log.warn(`Snapshot '${snapshot}' is out of date: ${difference}`);
  }
  if (drift.length > 0 && !run.refresh) {
    ctx.log.warn(
      `Clones of '${snapshot}' get what made it, not what this executable makes now; to ` +
        `rebuild it in place, run again with --refresh (or PHOENIX_REFRESH=true)`,
    );
  }
  return { kind: "already-complete", snapshot, ...drift.length > 0 && { drift } };
}

/**
 * `--check`: what a run would change, from read-only checks. The steps are checked as a dry run
 * checks them; when none would run, the verification runs too. `found` holds what the caller
 * already knows differs (a missing or drifted snapshot).
 */
async function checkFlow<S>(run: SetupRun<S>, found: readonly string[]): Promise<Outcome> {
  const { ctx, module } = run;
  const differences = [...found];
  if (run.status !== "running") {
    differences.push(
      `container ${ctx.ctid} is stopped, so what is inside it was not checked` +
        (module.kind === "template" ? " (a template run ends with it running)" : ""),
    );
  } else {
    await runSteps(module.steps, ctx, { dryRun: true, verification: module.verification });
    const toDo = ctx.record.steps.filter((step) => step.status === "would-run");
    for (const step of toDo) differences.push(`step ${step.index} "${step.name}" is not done`);
    if (toDo.length === 0) {
      try {
        await runVerification(module.verification, ctx);
      } catch (error) {
        differences.push(`the verification fails: ${(error as Error).message}`);
      }
    }
  }
  if (module.kind === "standard" && run.status === "running") await sayTemplateOrigin(ctx);
  for (const difference of differences) ctx.log.warn(`Check: ${difference}`);
  ctx.log.info(
    differences.length === 0
      ? `Check: container ${ctx.ctid} is what this executable makes`
      : `Check: ${
        differences.length === 1 ? "1 difference" : `${differences.length} differences`
      }` +
        ` from what this executable makes; a run without --check would change it`,
  );
  return { kind: "checked", differences };
}

/**
 * For a clone: which template snapshot it came from (the provenance record it inherited), and
 * whether that snapshot has been refreshed since. Said, not counted as a difference: the clone
 * is what it was made from, and re-cloning is the user's call.
 */
async function sayTemplateOrigin<S>(ctx: SetupContext<S>): Promise<void> {
  const text = await ctx.container.readFile(PROVENANCE_FILE);
  const origin = text === undefined ? undefined : parseProvenance(text);
  if (!origin) {
    ctx.log.info(
      `Check: container ${ctx.ctid} has no ${PROVENANCE_FILE}: it was not cloned from a ` +
        "snapshot phoenix-setup stamped",
    );
    return;
  }
  const from = `template ${origin.ctid}'s snapshot '${origin.snapshot}'`;
  let now: string | undefined;
  try {
    now = (await ctx.pct.snapshots(origin.ctid)).find((s) => s.name === origin.snapshot)
      ?.description;
  } catch (error) {
    ctx.log.info(
      `Check: cloned from ${from} (${origin.stamp}); whether it changed since cannot be told: ` +
        (error as Error).message,
    );
    return;
  }
  ctx.log.info(
    now === undefined
      ? `Check: cloned from ${from} (${origin.stamp}), which no longer exists`
      : now === origin.stamp
      ? `Check: cloned from ${from} (${origin.stamp}), unchanged since`
      : `Check: cloned from ${from} (${origin.stamp}), which has been refreshed since ` +
        `(now ${now}): a new clone would get the refreshed setup`,
  );
}

async function templateFlow<S>(run: SetupRun<S>, snapshot: string): Promise<Outcome> {
  const { ctx } = run;
  const ctid = ctx.ctid;
  let existing: SnapshotEntry[];
  try {
    existing = await ctx.pct.snapshots(ctid);
  } catch (error) {
    throw new SetupError(
      `Cannot list the snapshots of container ${ctid}: ${(error as Error).message}`,
      ExitCode.Snapshot,
      { phase: "snapshot check", cause: error },
    );
  }
  const found = existing.find((entry) => entry.name === snapshot);
  let replace = false;
  if (found) {
    const finding = await inspectSnapshot(run, snapshot);
    if (finding.kind === "refuse") throw finding.error;
    if (finding.kind === "complete") {
      const complete = compareSnapshot(run, snapshot, found.description);
      if (run.check) {
        return checkFlow(run, [
          ...(complete.drift ?? []).map((difference) => `snapshot '${snapshot}': ${difference}`),
          ...complete.unstamped ? [`snapshot '${snapshot}' was made by something else`] : [],
        ]);
      }
      if (!run.refresh) {
        if (run.status === "running") return complete;
        refuseIfLocked(run);
        return await startCompleteTemplate(run, complete);
      }
      refuseIfLocked(run);
      ctx.log.info(
        `--refresh: rebuilding template ${ctid} and replacing snapshot '${snapshot}'; until the ` +
          "old snapshot is removed, a failure leaves it and the container as they are",
      );
      replace = true;
    } else {
      await repairSnapshot(run, snapshot, finding.description);
      if (run.check) return checkFlow(run, [`snapshot '${snapshot}' is half-made`]);
    }
  } else {
    if (run.check) return checkFlow(run, [`snapshot '${snapshot}' does not exist yet`]);
    refuseIfLocked(run);
  }
  if (run.dryRun) return dryRun(run, snapshot, replace);
  return await buildTemplate(run, snapshot, replace);
}

/**
 * Steps, verification, the provenance record, a clean shutdown, the snapshot (replacing the old
 * one when `replace`), and the start. Before the old snapshot is removed, every failure leaves it
 * and the container's power state as they were; after, a failure leaves a verified container
 * that the next run snapshots.
 */
async function buildTemplate<S>(
  run: SetupRun<S>,
  snapshot: string,
  replace: boolean,
): Promise<Outcome> {
  const { ctx } = run;
  const ctid = ctx.ctid;
  await ensureRunning(run);
  await stepsAndVerification(run);

  const record = run.stamp ? provenanceRecord(run.module, run.stamp, snapshot) : undefined;
  if (record) {
    try {
      await writeFileInContainer(
        ctx,
        PROVENANCE_FILE,
        JSON.stringify(record, null, 2) + "\n",
        "0644",
        "sh",
      );
    } catch (error) {
      await restorePowerState(ctx, run.shutdownTimeoutSeconds, run.clock);
      throw new SetupError(
        `Cannot record what made the snapshot in container ${ctid}: ${(error as Error).message}`,
        ExitCode.Snapshot,
        { phase: "provenance", cause: error },
      );
    }
    ctx.log.info(`Recorded ${PROVENANCE_FILE} in container ${ctid}: ${record.stamp}`);
  }

  await shutDownForSnapshot(run);

  if (replace) {
    try {
      await ctx.pct.deleteSnapshot(ctid, snapshot);
    } catch (error) {
      await restorePowerState(ctx, run.shutdownTimeoutSeconds, run.clock);
      const busy = busyError(ctid, `remove the old snapshot '${snapshot}' of ${ctid}`, error);
      throw new SetupError(
        busy?.message ??
          `Cannot remove the old snapshot '${snapshot}' of ${ctid} to replace it: ` +
            `${(error as Error).message}; it and the container are as they were`,
        busy?.exitCode ?? ExitCode.Snapshot,
        { phase: "snapshot", cause: error },
      );
    }
    ctx.log.info(`Old snapshot '${snapshot}' of container ${ctid} removed`);
  }

  try {
    await ctx.pct.snapshot(ctid, snapshot, record?.stamp);
  } catch (error) {
    await restorePowerState(ctx, run.shutdownTimeoutSeconds, run.clock);
    const busy = busyError(ctid, `take snapshot '${snapshot}' of ${ctid}`, error);
    throw new SetupError(
      (busy?.message ??
        `Cannot take snapshot '${snapshot}' of ${ctid}: ${(error as Error).message}`) +
        (replace
          ? "; the old snapshot is already removed: the container is set up and verified, " +
            "and the next run takes the snapshot"
          : ""),
      busy?.exitCode ?? ExitCode.Snapshot,
      { phase: "snapshot", cause: error },
    );
  }
  ctx.log.info(`Snapshot '${snapshot}' of container ${ctid} created`);

  // The pattern ends with the template running, whatever state it was found in.
  let final;
  try {
    final = await startAndConfirm(ctx, run.clock);
  } catch (error) {
    throw lifecycleError(
      ctid,
      `start container ${ctid} again after its snapshot`,
      `Snapshot taken, but container ${ctid} did not start again`,
      "start",
      error,
    );
  }
  // Running, as the pattern wants it, so nothing is left to undo (not markStarted: a template
  // found stopped must not be shut down again if the final check fails).
  ctx.power.stoppedByUs = false;
  if (final !== "running") throw notStartedError(ctid, final);
  return { kind: "snapshot-created", snapshot, ...replace && { refreshed: true } };
}

async function standardFlow<S>(run: SetupRun<S>): Promise<Outcome> {
  refuseIfLocked(run);
  if (run.refresh) {
    run.ctx.log.info(
      `--refresh rebuilds a template's snapshot; container ${run.ctx.ctid} has none, and every ` +
        "run checks each of its steps anyway",
    );
  }
  if (run.check) return checkFlow(run, []);
  if (run.dryRun) return dryRun(run);
  await ensureRunning(run);
  await stepsAndVerification(run);
  return { kind: "completed" };
}

/**
 * Runs the module's flow: the template flow when it is a template, else the standard flow. A
 * Proxmox template is refused first, and a Proxmox lock before the first change.
 */
export function performContainerSpecificSetup<S>(run: SetupRun<S>): Promise<Outcome> {
  if (run.module.kind === "template" && !run.snapshotName) {
    throw new TypeError("A template run needs a snapshot name");
  }
  if (run.proxmoxTemplate) return Promise.reject(proxmoxTemplateRefusal(run.ctx.ctid));
  if (run.module.kind === "template") return templateFlow(run, run.snapshotName!);
  return standardFlow(run);
}
