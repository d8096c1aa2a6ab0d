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

/** How many steps ran and how many were already done. */
export interface StepsSummary {
  readonly ran: number;
  readonly skipped: number;
}

/**
 * Runs `steps` in order. A step whose check passes is skipped; otherwise its action runs and its
 * check must pass afterwards. In a dry run only the checks run and the actions are announced.
 */
export async function runSteps<S>(
  steps: readonly Step<S>[],
  ctx: SetupContext<S>,
  options: { readonly dryRun: boolean },
): Promise<StepsSummary> {
  let ran = 0;
  let skipped = 0;
  for (const [index, step] of steps.entries()) {
    const label = `Step ${index + 1}/${steps.length} "${step.name}"`;
    const phase = `step "${step.name}"`;
    let done: boolean;
    try {
      done = await step.check(ctx);
    } catch (error) {
      throw failure(`${label}: its check failed: ${reason(error)}`, ExitCode.Step, phase, error);
    }
    if (done) {
      ctx.log.info(`${label}: already done, skipping`);
      skipped++;
      continue;
    }
    if (options.dryRun) {
      ctx.log.info(`[dry-run] ${label}: would run`);
      continue;
    }
    ctx.log.info(`${label}: running`);
    const started = performance.now();
    try {
      await step.action(ctx);
    } catch (error) {
      throw failure(`${label} failed: ${reason(error)}`, ExitCode.Step, phase, error);
    }
    let nowDone: boolean;
    try {
      nowDone = await step.check(ctx);
    } catch (error) {
      throw failure(`${label}: its check failed: ${reason(error)}`, ExitCode.Step, phase, error);
    }
    if (!nowDone) {
      throw failure(
        `${label} ran without error but its check still fails`,
        ExitCode.Step,
        phase,
        undefined,
      );
    }
    ran++;
    ctx.log.info(`${label}: done in ${Math.round(performance.now() - started)} ms`);
  }
  return { ran, skipped };
}

/** Runs every verification; the first failure ends the run with {@linkcode ExitCode.Verification}. */
export async function runVerification<S>(
  verification: readonly Verification<S>[],
  ctx: SetupContext<S>,
): Promise<void> {
  for (const check of verification) {
    try {
      await check.run(ctx);
    } catch (error) {
      throw failure(
        `Verification "${check.name}" failed: ${reason(error)}`,
        ExitCode.Verification,
        `verification "${check.name}"`,
        error,
      );
    }
    ctx.log.info(`Verification "${check.name}": passed`);
  }
}
