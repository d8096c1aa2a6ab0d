/**
 * Running a module's steps and verification: skip what is done, do what is not, prove that each
 * action worked by running its check again, and turn every failure into a {@linkcode SetupError}
 * that names the step.
 *
 * @module
 */

import { ExitCode } from "./exit_codes.ts";
import { SetupError } from "./errors.ts";
import type { SetupContext, Step, Verification } from "./container_module.ts";
import { formatDuration } from "./duration.ts";
import { planStep } from "./plan.ts";
import type { StepRecord, VerificationRecord } from "./run_record.ts";

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

/**
 * Arranges for the declared probes of `items` that no earlier batch answers yet to run in one
 * `pct exec`, at the first check that runs one of them (`Pct.prefetch`). A `probes` that throws
 * (it derives its commands from the settings) is left to the check itself, which reports it.
 */
function prefetchProbes<S>(
  ctx: SetupContext<S>,
  items: readonly (Step<S> | Verification<S>)[],
): void {
  const commands = items.flatMap((item) => {
    try {
      return item.probes?.(ctx) ?? [];
    } catch {
      return [];
    }
  });
  ctx.container.prefetch(commands);
}

/** How many steps ran and how many were already done. */
export interface StepsSummary {
  readonly ran: number;
  readonly skipped: number;
}

/**
 * Runs `steps` in order. A step whose check passes is skipped; otherwise its action runs and its
 * check must pass afterwards. In a dry run only the checks run, and a step that would run says
 * which commands (see `plan.ts`); the steps after it are not checked, as they may depend on it.
 * Each step is recorded in `ctx.record`, and its check's commands run as a check there: their
 * "no" is reported as "not done yet (<what the command said>)", never as a failure.
 */
export async function runSteps<S>(
  steps: readonly Step<S>[],
  ctx: SetupContext<S>,
  options: {
    readonly dryRun: boolean;
    /** The verification that follows: its probes join the first batch, for a re-run. */
    readonly verification?: readonly Verification<S>[];
  },
): Promise<StepsSummary> {
  let ran = 0;
  let skipped = 0;
  // Whether an action has run: the verification's probes join the checks' batch until then.
  let acted = false;
  // In a dry run, the first step that would run: later checks would ask about a state it has
  // not made yet, so they are not run.
  let firstToRun: number | undefined;
  for (const [index, step] of steps.entries()) {
    const label = `Step ${index + 1}/${steps.length}`;
    const title = `${label} "${step.name}"`;
    const phase = `step "${step.name}"`;
    const entry: StepRecord = {
      index: index + 1,
      name: step.name,
      status: "failed",
      durationMs: 0,
    };
    ctx.record.steps.push(entry);
    if (options.dryRun && firstToRun !== undefined) {
      ctx.log.info(
        `[dry-run] ${title}: not checked: depends on step ${firstToRun}, which would run first`,
      );
      entry.status = "unchecked";
      continue;
    }
    const started = performance.now();
    const check = async (afterAction: boolean) => {
      // This step's check and the later ones in one round trip (again after an action). The
      // verification's too while nothing has changed yet, so that a re-run needs one, and with
      // the last step's check after its action, which no other action follows if it passes.
      const last = afterAction && index === steps.length - 1;
      prefetchProbes(ctx, [
        ...steps.slice(index),
        ...!acted || last ? options.verification ?? [] : [],
      ]);
      try {
        return await ctx.record.during({ label, checking: true }, () => step.check(ctx));
      } catch (error) {
        throw failure(`${title}: its check failed: ${reason(error)}`, ExitCode.Step, phase, error);
      }
    };
    try {
      if (await check(false)) {
        ctx.log.info(`${title}: check: already done, skipping`);
        entry.status = "already-done";
        skipped++;
        continue;
      }
      const answer = ctx.record.checkAnswer;
      const notYet = `check: not done yet${answer ? ` (${answer})` : ""}`;
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
      acted = true;
      try {
        await ctx.record.during({ label, checking: false }, () => step.action(ctx));
      } catch (error) {
        throw failure(`${title} failed: ${reason(error)}`, ExitCode.Step, phase, error);
      }
      if (!await check(true)) {
        throw failure(
          `${title} ran without error but its check still fails` +
            (ctx.record.checkAnswer ? ` (${ctx.record.checkAnswer})` : ""),
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
  return { ran, skipped };
}

/** Runs every verification; the first failure ends the run with {@linkcode ExitCode.Verification}. */
export async function runVerification<S>(
  verification: readonly Verification<S>[],
  ctx: SetupContext<S>,
): Promise<void> {
  prefetchProbes(ctx, verification);
  for (const [index, check] of verification.entries()) {
    const entry: VerificationRecord = { name: check.name, status: "failed", durationMs: 0 };
    ctx.record.verifications.push(entry);
    const label = `Verification ${index + 1}/${verification.length}`;
    const started = performance.now();
    try {
      await ctx.record.during({ label, checking: false }, () => check.run(ctx));
    } catch (error) {
      throw failure(
        `Verification "${check.name}" failed: ${reason(error)}`,
        ExitCode.Verification,
        `verification "${check.name}"`,
        error,
      );
    } finally {
      entry.durationMs = Math.round(performance.now() - started);
    }
    entry.status = "passed";
    ctx.log.info(
      `Verification "${check.name}": passed (${formatDuration(entry.durationMs)})`,
    );
  }
}
