/**
 * The error a setup run is expected to end with: it carries the exit code to report and the
 * phase it happened in, so `exitScript` can say "failed during <phase>".
 *
 * @module
 */

import { ExitCode } from "./exit_codes.ts";

/** A failure that ends the run with a specific exit code. */
export class SetupError extends Error {
  /** The exit code the executable reports for this failure. */
  readonly exitCode: ExitCode;
  /** The phase or step name the failure happened in, e.g. `step "install vLLM"`. */
  readonly phase: string | undefined;

  /**
   * @param message What went wrong and, where possible, what to do about it.
   * @param exitCode The exit code to report.
   * @param options `phase`: where it happened; `cause`: the underlying error.
   */
  constructor(
    message: string,
    exitCode: ExitCode,
    options: { phase?: string; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "SetupError";
    this.exitCode = exitCode;
    this.phase = options.phase;
  }
}

/** The configuration file is unreadable, malformed, or lacks a field this container needs. */
export class ConfigError extends SetupError {
  /**
   * @param message Names the file, the CTID where relevant, the JSON path and line:column,
   *   and what was expected versus found.
   */
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, ExitCode.Config, { phase: "configuration", ...options });
    this.name = "ConfigError";
  }
}

/** Invalid input in the pattern's sense: usage, CTID, executable name, missing container. */
export class InvalidInputError extends SetupError {
  /** @param message What was wrong and what to do. */
  constructor(message: string, options: { phase?: string } = {}) {
    super(message, ExitCode.InvalidInput, { phase: options.phase ?? "input validation" });
    this.name = "InvalidInputError";
  }
}
