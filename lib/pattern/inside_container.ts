/**
 * `performInsideContainer`: the flow for a run inside the container itself (the newest
 * orchestrator runs the `application_script` there; `host/local_container.ts` detects it and runs
 * the commands). The container's own steps and the verification run as on the host, with the
 * same checks first and the same idempotent re-run; what only the host can do is not attempted:
 *
 * - a step marked {@linkcode Step.hostSide}: a change (device passthrough) is left to the host; a
 *   requirement (nesting=1 in the Proxmox config) is not checked, and the verification shows
 *   whether what it asks for works;
 * - a template's shutdown, snapshot and start.
 *
 * The run says which of these the entry needs before it starts, and when it needs any it ends
 * with {@linkcode ExitCode.HostSideLeft} once its own part is done and verified.
 *
 * @module
 */

import { executableNameFor } from "../core/ctid.ts";
import { SetupError } from "../core/errors.ts";
import { ExitCode } from "../core/exit_codes.ts";
import type { ContainerModule, SetupContext, Step } from "../module/container_module.ts";
import type { Outcome } from "./flow.ts";
import { runSteps, runVerification } from "./run_steps.ts";

/** Everything the in-container flow needs. */
export interface InsideRun<S> {
  readonly module: ContainerModule<S>;
  readonly ctx: SetupContext<S>;
  /** How the run found itself inside the container, for the log. */
  readonly evidence: string;
  /** The snapshot a template ends in. */
  readonly snapshotName?: string;
  readonly dryRun: boolean;
}

/**
 * The host-side parts `module` needs, in words: each host-side step that changes something, and
 * a template's shutdown, snapshot and start.
 *
 * @example
 * ```ts ignore
 * hostSideParts(container901, "gpu-snapshot");
 * // ['device passthrough (step "Pass the assigned NVIDIA GPUs through")',
 * //  "shutdown, snapshot 'gpu-snapshot' and start (a template)"]
 * ```
 */
export function hostSideParts<S>(module: ContainerModule<S>, snapshotName?: string): string[] {
  const parts = module.steps.filter((step) => step.hostSide && !step.requirement)
    .map((step) => `${step.hostSide} (step "${step.name}")`);
  if (module.kind === "template") {
    parts.push(`shutdown, snapshot '${snapshotName}' and start (a template)`);
  }
  return parts;
}

/** Runs `run.module`'s own part inside its container; see the module's description. */
export async function performInsideContainer<S>(run: InsideRun<S>): Promise<Outcome> {
  const { ctx, module } = run;
  const needed = hostSideParts(module, run.snapshotName);
  const unchecked: Step<S>[] = module.steps.filter((step) => step.hostSide && step.requirement);
  ctx.log.info(
    `Running inside container ${ctx.ctid} (${run.evidence}): its own steps run here; the ` +
      "host-side parts (device passthrough; a template's shutdown, snapshot and start) cannot. " +
      (needed.length > 0
        ? `This entry needs: ${needed.join("; ")}`
        : "This entry needs none of them"),
  );
  for (const step of unchecked) {
    ctx.log.info(
      `Not checked from inside the container: "${step.name}" (${step.hostSide}); the ` +
        "steps' checks and the verification show whether what it requires works",
    );
  }
  const own = module.steps.filter((step) => !step.hostSide);
  if (run.dryRun) {
    await runSteps(own, ctx, { dryRun: true });
    for (const check of module.verification) {
      ctx.log.info(`[dry-run] Would verify: "${check.name}"`);
    }
    return { kind: "dry-run" };
  }
  const steps = await runSteps(own, ctx, { dryRun: false, verification: module.verification });
  await runVerification(module.verification, ctx, steps);
  if (needed.length > 0) {
    throw new SetupError(
      `Container ${ctx.ctid}'s own steps are done and verified, but its entry needs what ` +
        `cannot be done from inside the container: ${needed.join("; ")}. Run ` +
        `${executableNameFor(ctx.ctid)} ${ctx.ctid} on the Proxmox host to finish`,
      ExitCode.HostSideLeft,
      { phase: "the host-side parts" },
    );
  }
  return { kind: "completed" };
}
