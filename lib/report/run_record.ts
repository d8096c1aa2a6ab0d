/**
 * What a run did, as it happens: the steps and verifications with their outcome and duration,
 * every `pct` call with its exit code and duration, and what the run is doing right now (which
 * step, and whether it is only checking). The log lines, the closing summary and the run report
 * are all read from here, so they cannot disagree.
 *
 * @module
 */

import { type CommandResult, describeCommand, outputTail } from "../core/command_text.ts";
import { redact } from "../core/secrets.ts";

/**
 * How a step ended. `would-run`: a dry run found it not done; `unchecked`: a dry run did not
 * check it, as an earlier step would run first; `not-needed`: a requirement no step needed, as
 * nothing had to change (the verification proves it); `not-run`: the run never ran it, as it
 * failed or was stopped before (or a requirement checked for it was not met).
 */
export type StepStatus =
  | "ran"
  | "already-done"
  | "failed"
  | "would-run"
  | "unchecked"
  | "not-needed"
  | "not-run";

/** One step of the run. */
export interface StepRecord {
  /** 1-based position in the module's steps. */
  readonly index: number;
  readonly name: string;
  status: StepStatus;
  /** Check, action and check again, in milliseconds. */
  durationMs: number;
}

/** One verification of the run. */
export interface VerificationRecord {
  readonly name: string;
  status: "passed" | "failed";
  durationMs: number;
}

/** One `pct` call; its argv has every secret masked. */
export interface CommandRecord {
  readonly argv: readonly string[];
  readonly exitCode: number;
  readonly durationMs: number;
  /** Whether it ran for a check or a probe (a non-zero exit is an answer, not a failure). */
  readonly check: boolean;
}

/** What the run is doing: `label` names it in log lines (`Step 3/4`). */
export interface Activity {
  readonly label: string;
  /** A check runs: its commands answer a question, and a non-zero exit means "no". */
  readonly checking: boolean;
}

/** The record of one run. */
export class RunRecord {
  /** When the run started (milliseconds since the epoch). */
  readonly startedAt: number;
  readonly steps: StepRecord[] = [];
  readonly verifications: VerificationRecord[] = [];
  readonly commands: CommandRecord[] = [];
  #activity: Activity | undefined;
  #checkAnswer: string | undefined;

  /** @param now The clock (injected by tests). */
  constructor(now: () => number = Date.now) {
    this.startedAt = now();
  }

  /** What the run is doing now; `undefined` between steps (lifecycle calls). */
  get activity(): Activity | undefined {
    return this.#activity;
  }

  /** Runs `body` as `activity`, then goes back to what the run was doing before. */
  async during<T>(activity: Activity, body: () => Promise<T>): Promise<T> {
    const before = this.#activity;
    this.#activity = activity;
    if (activity.checking) this.#checkAnswer = undefined;
    try {
      return await body();
    } finally {
      this.#activity = before;
    }
  }

  /** Records a finished `pct` call (secrets masked). */
  commandEnded(result: CommandResult): void {
    const check = this.#activity?.checking ?? false;
    this.commands.push({
      argv: result.argv.map(redact),
      exitCode: result.exitCode,
      durationMs: result.durationMs,
      check,
    });
    this.checkAnswered(result);
  }

  /**
   * Notes what a check's command answered, whether it ran or a batch of checks answered it
   * (`Pct.prefetch`): a "no" becomes {@linkcode RunRecord.checkAnswer}.
   */
  checkAnswered(result: CommandResult): void {
    if (this.#activity?.checking && result.exitCode !== 0) {
      const said = outputTail(result.stderr, 1) || outputTail(result.stdout, 1);
      this.#checkAnswer = said || `${describeCommand(result.argv)}: exit code ${result.exitCode}`;
    }
  }

  /**
   * What the last check command that said "no" answered (its last line of output), for
   * "not done yet (dpkg-query: no packages found matching jq)"; `undefined` when none did.
   */
  get checkAnswer(): string | undefined {
    return this.#checkAnswer;
  }
}
