/**
 * The exit codes of a setup executable. The orchestrator only tells zero from non-zero; the
 * distinct codes are for the person reading the log at 2 a.m. and for scripts around it.
 * They are stable: documented in the README and pinned by tests.
 *
 * @module
 */

/** Every exit code a setup executable can return. */
export const ExitCode = {
  /** Setup finished, or there was nothing to do. */
  Success: 0,
  /** Invalid input: usage, CTID, executable name, or the container does not exist. */
  InvalidInput: 1,
  /** The configuration file is unreadable, malformed, or lacks what this container needs. */
  Config: 2,
  /** A setup step failed. */
  Step: 3,
  /** The verification after the steps failed. */
  Verification: 4,
  /** The container could not be shut down or started. */
  Lifecycle: 5,
  /** The snapshot could not be taken. */
  Snapshot: 6,
  /** Another run for the same CTID holds the lock. */
  Locked: 7,
  /** The host lacks something the container needs (e.g. the NVIDIA driver). */
  HostPrerequisite: 8,
  /** The watchdog stopped a run that took longer than `PHOENIX_RUN_TIMEOUT`. */
  Watchdog: 9,
  /** The lock directory (`PHOENIX_LOCK_DIR`) cannot be created, written or locked in. */
  LockDirUnusable: 10,
  /** A bug: an error nobody anticipated. */
  Internal: 70,
  /** Interrupted by SIGINT. */
  Interrupted: 130,
  /** Terminated by SIGTERM. */
  Terminated: 143,
} as const;

/** One of the values of {@linkcode ExitCode}. */
export type ExitCode = typeof ExitCode[keyof typeof ExitCode];
