/**
 * Test-only template (never shipped) whose second step fails: the run must stop there, take no
 * snapshot and leave the container running.
 *
 * @module
 */

import { defineContainer } from "../../../../lib/module/container_module.ts";

/** The file the first step writes before the failure. */
export const MARKER = "/etc/phoenix-803-first-step";

export default defineContainer({
  ctid: "803",
  kind: "template",
  description: "test template whose second step fails",
  defaultSnapshotName: "never-taken",
  settings: () => ({}),
  steps: [
    {
      name: "Write a marker",
      check: (ctx) => ctx.container.succeeds(["test", "-f", MARKER]),
      action: (ctx) => ctx.container.run(["touch", MARKER]).then(() => {}),
    },
    {
      name: "Run a command that fails",
      check: () => Promise.resolve(false),
      action: (ctx) => ctx.container.run(["sh", "-c", "echo disk full >&2; exit 3"]).then(() => {}),
    },
  ],
  verification: [],
});
