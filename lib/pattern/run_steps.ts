/**
 * Running a module's steps and verification: skip what is done, do what is not, prove that each
 * action worked by running its check again, and turn every failure into a {@linkcode SetupError}
 * that names the step.
 *
 * @module
 */

import { ExitCode } from "../core/exit_codes.ts";
import { SetupError } from "../core/errors.ts";
import type { SetupContext, Step, Verification } from "../module/container_module.ts";
import { formatDuration } from "../core/duration.ts";
import { planStep } from "./plan.ts";
import type { StepRecord, VerificationRecord } from "../report/run_record.ts";

/**
 * A step's failure: `exitCode`, unless the cause is a {@linkcode SetupError} that chose its own
 * (e.g. {@linkcode ExitCode.HostPrerequisite} when the host lacks the NVIDIA driver).
 */
function failure(message: string, exitCode: ExitCode, phase: string, cause: unknown): SetupError {
  const code = cause instanceof SetupError ? cause.exitCode : exitCode;
  return new SetupError(message, code, { phase, cause });
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The declared probes of `items`; a `probes` that throws is left to the check, which reports it. */
function probesOf<S>(
  ctx: SetupContext<S>,
  items: readonly (Step<S> | Verification<S>)[],
): (readonly string[])[] {
  return items.flatMap((item) => {
    try {
      return [...item.probes?.(ctx) ?? []];
    } catch {
      return [];
    }
  });
}

/** How many steps ran and how many were already done, and the requirements left unchecked. */
export interface StepsSummary {
  readonly ran: number;
  readonly skipped: number;
  /**
   * Checks the requirements no step needed (see {@linkcode Step.requirement}), logging `why`
   * when there are any; throws when any is not met, naming every one that is not. A failed
   * verification calls it, as a missing requirement explains the failure better.
   */
  readonly checkRequirements: (why: string) => Promise<void>;
}

/**
 * Runs `steps` in order. A step whose check passes is skipped; otherwise its action runs and its
 * check must pass afterwards. In a dry run only the checks run, and a step that would run says
 * which commands (see `plan.ts`); the steps after it are not checked, as they may depend on it.
 * Every step is in `ctx.record` from the start, `not-run` until the run gets to it (so a failed
 * run counts only what failed as failed), and its check's commands run as a check there: their
 * "no" is reported as "not done yet (<what the command said>)", never as a failure.
 *
 * A requirement is checked only when it matters: before the first step that has to act (or, in a
 * dry run, would), and before a failed check is reported. A run in which nothing has to change
 * leaves them to the verification, whose success proves them (see {@linkcode Step.requirement}).
 * All of them are checked then, and every one not met is reported in the same run (exit 8): the
 * operator fixes them at once rather than one per run.
 *
 * The probes of each step and of every later one run in one `pct exec` at its check, and the
 * verification's after them, if every check succeeds (`probe_batch.ts`): a re-run needs one.
 */
export async function runSteps<S>(
  steps: readonly Step<S>[],
  ctx: SetupContext<S>,
  options: {
    readonly dryRun: boolean;
    /** The verification that follows: its probes end each batch of checks (for a re-run). */
    readonly verification?: readonly Verification<S>[];
  },
): Promise<StepsSummary> {
  let ran = 0;
  let skipped = 0;
  // In a dry run, the first step that would run: later checks would ask about a state it has
  // not made yet, so they are not run.
  let firstToRun: number | undefined;
  // Requirements not checked yet, in order.
  const deferred: { readonly index: number; readonly entry: StepRecord }[] = [];
  const titleOf = (index: number) => `Step ${index + 1}/${steps.length} "${steps[index].name}"`;
  /** What the last check's "no" said, as ` (...)` to append, or nothing. */
  const answered = () => ctx.record.checkAnswer ? ` (${ctx.record.checkAnswer})` : "";

  /**
   * Runs the check of step `index`, turning an exception into the step's failure; the probes of
   * `later` steps (and the verification's) join its batch.
   */
  const check = async (index: number, later: readonly Step<S>[]): Promise<boolean> => {
    const step = steps[index];
    ctx.container.prefetch(
      probesOf(ctx, [step, ...later]),
      probesOf(ctx, options.verification ?? []),
    );
    try {
      return await ctx.record.during(
        { label: `Step ${index + 1}/${steps.length}`, checking: true },
        () => step.check(ctx),
      );
    } catch (error) {
      throw failure(
        `${titleOf(index)}: its check failed: ${reason(error)}`,
        ExitCode.Step,
        `step "${step.name}"`,
        error,
      );
    }
  };

  const checkRequirements = async (why: string): Promise<void> => {
    if (deferred.length === 0) return;
    ctx.log.info(`Checking the requirements left until needed, as ${why}`);
    const requirements = deferred.splice(0);
    const unmet: SetupError[] = [];
    for (const [i, { index, entry }] of requirements.entries()) {
      const started = performance.now();
      entry.status = "failed";
      try {
        const later = requirements.slice(i + 1).map((r) => steps[r.index]);
        if (!await check(index, later)) {
          throw failure(
            `${titleOf(index)}: the requirement is not met${answered()}`,
            ExitCode.HostPrerequisite,
            `step "${steps[index].name}"`,
            undefined,
          );
        }
        entry.status = "already-done";
        ctx.log.info(`${titleOf(index)}: check: passed`);
      } catch (error) {
        // A requirement not met: the others are checked too, so that all are reported at once.
        // Anything else (pct failing) ends the checks, after saying those found so far.
        const notMet = error instanceof SetupError &&
          error.exitCode === ExitCode.HostPrerequisite;
        if (notMet) unmet.push(error);
        else {
          for (const found of unmet) ctx.log.error(found.message);
          throw error;
        }
      } finally {
        entry.durationMs = Math.round(performance.now() - started);
      }
    }
    if (unmet.length > 1) {
      for (const found of unmet.slice(0, -1)) ctx.log.error(found.message);
      const last = unmet.at(-1)!;
      const more = unmet.length === 2
        ? "1 more requirement is not met"
        : `${unmet.length - 1} more requirements are not met`;
      throw new SetupError(
        `${last.message} (${more}: see above)`,
        ExitCode.HostPrerequisite,
        { phase: unmet.map((found) => found.phase).join(", "), cause: last },
      );
    }
    if (unmet.length === 1) throw unmet[0];
  };

  const entries: StepRecord[] = steps.map((step, index) => ({
    index: index + 1,
    name: step.name,
    status: "not-run",
    durationMs: 0,
  }));
  ctx.record.steps.push(...entries);
  for (const [index, step] of steps.entries()) {
    const title = titleOf(index);
    const phase = `step "${step.name}"`;
    const entry = entries[index];
    entry.status = "failed";
    /** Checks the requirements before this step goes on; if one is not met, it never ran. */
    const requirementsFirst = async (why: string) => {
      try {
        await checkRequirements(why);
      } catch (error) {
        entry.status = "not-run";
        throw error;
      }
    };
    if (options.dryRun && firstToRun !== undefined) {
      ctx.log.info(
        `[dry-run] ${title}: not checked: depends on step ${firstToRun}, which would run first`,
      );
      entry.status = "unchecked";
      continue;
    }
    if (step.requirement) {
      ctx.log.info(
        `${title}: a requirement: checked before the first change, if one is needed`,
      );
      entry.status = "not-needed";
      deferred.push({ index, entry });
      continue;
    }
    const started = performance.now();
    try {
      let done;
      try {
        done = await check(index, steps.slice(index + 1));
      } catch (error) {
        await requirementsFirst(`the check of step ${index + 1} failed`);
        throw error;
      }
      if (done) {
        ctx.log.info(`${title}: check: already done, skipping`);
        entry.status = "already-done";
        skipped++;
        continue;
      }
      const notYet = `check: not done yet${answered()}`;
      await requirementsFirst(`step ${index + 1} ${options.dryRun ? "would run" : "has to run"}`);
      if (options.dryRun) {
        const plan = await planStep(step, ctx);
        ctx.log.info(`[dry-run] ${title}: ${notYet}; would run:`);
        for (const command of plan.commands) ctx.log.info(`[dry-run]   ${command}`);
        if (!plan.complete) {
          ctx.log.info("[dry-run]   ... and what follows from those commands' answers");
        }
        entry.status = "would-run";
        firstToRun = index + 1;
        continue;
      }
      ctx.log.info(`${title}: ${notYet}; running`);
      try {
        await ctx.record.during(
          { label: `Step ${index + 1}/${steps.length}`, checking: false },
          () => step.action(ctx),
        );
      } catch (error) {
        throw failure(`${title} failed: ${reason(error)}`, ExitCode.Step, phase, error);
      }
      if (!await check(index, steps.slice(index + 1))) {
        throw failure(
          `${title} ran without error but its check still fails${answered()}`,
          ExitCode.Step,
          phase,
          undefined,
        );
      }
      entry.status = "ran";
      ran++;
      ctx.log.info(`${title}: done in ${formatDuration(performance.now() - started)}`);
    } finally {
      entry.durationMs = Math.round(performance.now() - started);
    }
  }
  return { ran, skipped, checkRequirements };
}

/**
 * Runs every verification; the first failure ends the run with {@linkcode ExitCode.Verification},
 * unless a requirement left unchecked (`options.checkRequirements`) fails and explains it.
 */
export async function runVerification<S>(
  verification: readonly Verification<S>[],
  ctx: SetupContext<S>,
  options: { readonly checkRequirements?: StepsSummary["checkRequirements"] } = {},
): Promise<void> {
  ctx.container.prefetch([], probesOf(ctx, verification));
  for (const [index, check] of verification.entries()) {
    const entry: VerificationRecord = { name: check.name, status: "failed", durationMs: 0 };
    ctx.record.verifications.push(entry);
    const label = `Verification ${index + 1}/${verification.length}`;
    const started = performance.now();
    try {
      await ctx.record.during({ label, checking: false }, () => check.run(ctx));
    } catch (error) {
      const failed = failure(
        `Verification "${check.name}" failed: ${reason(error)}`,
        ExitCode.Verification,
        `verification "${check.name}"`,
        error,
      );
      await options.checkRequirements?.(failed.message);
      throw failed;
    } finally {
      entry.durationMs = Math.round(performance.now() - started);
    }
    entry.status = "passed";
    ctx.log.info(
      `Verification "${check.name}": passed (${formatDuration(entry.durationMs)})`,
    );
  }
}
