/**
 * `--help`: everything an operator needs on a host where the README is not: the usage, what this
 * executable sets up (its steps and verification), the snapshot it ends in, every environment
 * variable with its default, and the exit codes. The tables come from `environment.ts` and
 * `exit_codes.ts`, which the README's tables must match (a test compares them).
 *
 * @module
 */

import { usage } from "./arguments.ts";
import type { ContainerModule } from "../module/container_module.ts";
import { ENVIRONMENT_TABLE } from "../config/environment.ts";
import { EXIT_CODE_TABLE } from "../core/exit_codes.ts";
import { executableNameFor, lxcScriptNameFor } from "../core/ctid.ts";

/** Markdown's backticks mean nothing on a terminal. */
function plain(text: string): string {
  return text.replaceAll("`", "");
}

/** Rows as aligned columns, indented by two spaces. */
function columns(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  return rows.map((row) =>
    "  " + row.map((cell, i) => i === row.length - 1 ? cell : cell.padEnd(widths[i])).join("  ")
  );
}

/**
 * The full help of `module`'s executable.
 *
 * @example
 * ```ts ignore
 * import container from "../../containers/920.ts";
 * import { helpText } from "./help.ts";
 * console.log(helpText(container));
 * ```
 */
export function helpText<S>(module: ContainerModule<S>): string {
  const ctid = module.ctid;
  const kind = module.kind === "template" ? `template ${ctid}` : `container ${ctid}`;
  const lines = [
    usage(executableNameFor(ctid), ctid),
    "",
    `This executable sets up ${kind}: ${module.description}.`,
    "",
    `It also runs as ${lxcScriptNameFor(ctid)} (the 2025-09-01 orchestrator's name, which may pass`,
    "<CTID> <gpu_assignment> <nvidia_driver_version> <nvidia_repo_url> <nvidia_runfile_url>,",
    "each checked against the config), and as the application_script its config entry names.",
    `Inside container ${ctid}, where there is no pct, it runs the container's own steps there`,
    "and exits 11 when the host must finish (device passthrough, a template's snapshot).",
    "",
    ...module.plan ? [module.plan, ""] : [],
    "Steps (each is checked first and skipped when already done):",
    ...module.steps.map((step, i) => `  ${i + 1}. ${step.name}`),
    "Then verifies:",
    ...module.verification.map((check) => `  - ${check.name}`),
  ];
  if (module.kind === "template") {
    lines.push(
      `Then shuts the template down, takes snapshot '${module.defaultSnapshotName}' (or the ` +
        "config's template_snapshot_name) and starts it again.",
    );
  }
  lines.push(
    "",
    "Environment (variable, default, meaning):",
    ...columns(
      ENVIRONMENT_TABLE.map((row) => [row.names.join(", "), row.default, plain(row.meaning)]),
    ),
    "",
    "Exit codes:",
    ...columns(EXIT_CODE_TABLE.map((row) => [row.code, plain(row.meaning)])),
  );
  return lines.join("\n");
}
