/**
 * `checkContainerExists`: one `pct status` call that both proves the container exists and tells
 * the flows whether it runs, so they need no second call.
 *
 * @module
 */

import { CommandError, outputTail } from "../core/command_text.ts";
import { InvalidInputError } from "../core/errors.ts";
import type { ContainerStatus, Pct } from "./pct.ts";

/**
 * Returns the container's status, or throws {@linkcode InvalidInputError} (exit 1) quoting pct's
 * stderr when the container does not exist or pct cannot answer.
 */
export async function checkContainerExists(pct: Pct, ctid: string): Promise<ContainerStatus> {
  try {
    return await pct.status(ctid);
  } catch (error) {
    if (!(error instanceof CommandError)) throw error;
    const said = outputTail(error.result.stderr) || outputTail(error.result.stdout) ||
      `exit code ${error.result.exitCode}`;
    throw new InvalidInputError(
      `Container ${ctid} does not exist or pct cannot reach it: pct said: ${said}. ` +
        "Create the container first (the orchestrator does), then run this again",
      { phase: "container check" },
    );
  }
}
