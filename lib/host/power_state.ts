/**
 * What a run has done to its container's power state. It lives in the setup context, so that
 * everything that stops or starts the container (the template flow, a step that must restart it)
 * records it in one place, and both the failure path and the signal handler can put the container
 * back as it was found.
 *
 * @module
 */

/** What this run has changed about whether the container runs. */
export interface PowerState {
  /** The run shut the container down and has not started it again yet. */
  stoppedByUs: boolean;
  /** The container was stopped when found and the run started it. */
  startedByUs: boolean;
}

/** A run that has changed nothing yet. */
export function untouchedPowerState(): PowerState {
  return { stoppedByUs: false, startedByUs: false };
}

/**
 * Records that the run stopped the container: if the run had started it, that is how it was
 * found (nothing to undo); otherwise the run must start it again if it fails.
 */
export function markStopped(power: PowerState): void {
  power.stoppedByUs = !power.startedByUs;
  power.startedByUs = false;
}

/**
 * Records that the run started the container: if the run had stopped it, it is back as found;
 * otherwise it was stopped when found and the run must stop it again if it fails.
 */
export function markStarted(power: PowerState): void {
  power.startedByUs = !power.stoppedByUs;
  power.stoppedByUs = false;
}
