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
  /** Invalid input: usage, CTID, executable name, report file, or no such container. */
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
  /**
   * Run inside the container (no `pct`): its own steps are done and verified, but its entry needs
   * what only the host can do (device passthrough; a template's shutdown, snapshot and start).
   */
  HostSideLeft: 11,
  /** `--check`: the container is not what this executable makes; a run would change it. */
  Differs: 12,
  /**
   * A Proxmox operation holds the container (`lock: backup`, `migrate`, a snapshot in progress,
   * ...) or its configuration file: nothing was changed; run again once it has finished.
   */
  ContainerBusy: 13,
  /**
   * The container cannot be set up from here as it is: a Proxmox template, owned by another
   * cluster node, or a half-made snapshot that needs a person to look at it.
   */
  ContainerUnusable: 14,
  /**
   * The cluster node that owns the container cannot be reached: offline in `/etc/pve/.members`,
   * SSH refused or failed, or the connection was lost during the run there.
   */
  OwnerUnreachable: 15,
  /** This cluster node has no quorum: `/etc/pve` is read-only, so Proxmox can change nothing. */
  NoQuorum: 16,
  /** The container moved to another cluster node during the run (HA, or a migration). */
  ContainerMoved: 17,
  /** A bug: an error nobody anticipated. */
  Internal: 70,
  /** Interrupted by SIGINT. */
  Interrupted: 130,
  /** Terminated by SIGTERM. */
  Terminated: 143,
} as const;

/** One of the values of {@linkcode ExitCode}. */
export type ExitCode = typeof ExitCode[keyof typeof ExitCode];

/** One row of the documented exit-code table. */
export interface ExitCodeRow {
  /** The code, or codes (`130 / 143`). */
  readonly code: string;
  /** What it means, as the README's table says it (Markdown backticks allowed). */
  readonly meaning: string;
}

/**
 * The exit-code table, the one source of `--help`'s table; the README's table must say the same
 * (a test compares them).
 */
export const EXIT_CODE_TABLE: readonly ExitCodeRow[] = [
  {
    code: "0",
    meaning: "setup finished, or there was nothing to do (template snapshot already exists; a " +
      "complete template found stopped is started, the one change a re-run makes)",
  },
  {
    code: "1",
    meaning: "invalid input: usage, CTID, executable name, a run report file that cannot be " +
      "written (found before any pct call), container does not exist",
  },
  {
    code: "2",
    meaning: "configuration: file unreadable or malformed, entry missing, field missing or wrong",
  },
  { code: "3", meaning: "a setup step failed" },
  { code: "4", meaning: "the verification after the steps failed" },
  { code: "5", meaning: "the container could not be shut down or started" },
  { code: "6", meaning: "the snapshot could not be taken" },
  { code: "7", meaning: "another run for the same CTID is in progress" },
  {
    code: "8",
    meaning: "the host lacks something the container needs (e.g. the NVIDIA driver), or cannot " +
      "start a command at all",
  },
  {
    code: "9",
    meaning: "the watchdog stopped a run that took longer than `PHOENIX_RUN_TIMEOUT`",
  },
  { code: "10", meaning: "the lock directory cannot be used (`PHOENIX_LOCK_DIR`)" },
  {
    code: "11",
    meaning: "run inside the container (no `pct`): its own steps are done and verified, but its " +
      "entry needs host-side parts (device passthrough; a template's shutdown, snapshot and " +
      "start): run it on the host to finish",
  },
  {
    code: "12",
    meaning: "`--check`: the container is not what this executable makes (each difference is " +
      "logged); a run would change it",
  },
  {
    code: "13",
    meaning: "a Proxmox operation holds the container (`lock:` backup, migrate, snapshot, ...) " +
      "or its configuration lock: nothing changed; run again when it has finished",
  },
  {
    code: "14",
    meaning: "the container cannot be set up as it is: a Proxmox template (`template: 1`), on " +
      "another cluster node that cannot run it (the message names it), or a half-made snapshot that is not safe " +
      "to repair (the message gives the commands)",
  },
  {
    code: "15",
    meaning: "the cluster node that owns the container cannot be reached (offline, SSH " +
      "refused, or the connection was lost): the message names the node and what to check",
  },
  {
    code: "16",
    meaning: "this cluster node has no quorum (`/etc/pve` is read-only): nothing changed; run " +
      "again once `pvecm status` says quorate",
  },
  {
    code: "17",
    meaning: "the container moved to another cluster node during the run (HA or a migration): " +
      "run it again, and it runs where the container is now",
  },
  { code: "70", meaning: "an unexpected error (a bug: please report it with the log)" },
  { code: "130 / 143", meaning: "interrupted by SIGINT / SIGTERM" },
];
