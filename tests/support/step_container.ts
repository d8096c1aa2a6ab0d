/**
 * The container a library step is tested against in `tests/steps`: one container of an
 * {@linkcode InMemoryPct}, and the context a step sees over it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { stepContext, stepPct } from "./step_container.ts";
 *
 * const pct = stepPct({ exec: [{ match: "^dpkg -s jq$", exit: 1 }] });
 * const ctx = stepContext(pct);
 * assert.equal(await ctx.container.succeeds(["dpkg", "-s", "jq"]), false);
 * assert.deepEqual(pct.execLines(), ["dpkg -s jq"]);
 * ```
 *
 * @module
 */

import {
  type ExecRule,
  type FakeContainerInput,
  InMemoryPct,
  type InMemoryPctOptions,
} from "../fake_pct/in_memory.ts";
import { type TestContext, testContext, type TestContextOptions } from "./setup_context.ts";

/** The CTID of a step test's container unless it says otherwise. */
export const STEP_CTID = "901";

/** The one container of {@linkcode stepPct}, and the exec rules of its pct. */
export interface StepContainerSpec extends Partial<FakeContainerInput> {
  /** Its CTID; {@linkcode STEP_CTID} when absent. */
  readonly ctid?: string;
  /** What `pct exec` answers before the builtins, first match first. */
  readonly exec?: ExecRule[];
}

/**
 * An in-memory pct holding one container, running unless `spec.status` says otherwise.
 *
 * @param spec The container (CTID, status, config, files, ...) and the exec rules.
 * @param options The in-memory hooks.
 */
export function stepPct(spec: StepContainerSpec = {}, options?: InMemoryPctOptions): InMemoryPct {
  const { ctid = STEP_CTID, exec, ...container } = spec;
  return new InMemoryPct(
    { containers: { [ctid]: { status: "running", ...container } }, exec },
    options,
  );
}

/**
 * The context a step sees over the only container of `pct`: every command is logged, as the
 * executables log it.
 *
 * @throws {TypeError} When `pct` does not hold exactly one container.
 */
export function stepContext<S = undefined>(
  pct: InMemoryPct,
  options: Omit<TestContextOptions<S>, "ctid" | "logCommands"> = {},
): TestContext<S> {
  const ctids = Object.keys(pct.state.containers);
  if (ctids.length !== 1) {
    throw new TypeError(`A step context needs exactly one container, not ${ctids.length}`);
  }
  return testContext(pct.run, { ...options, ctid: ctids[0], logCommands: true });
}
