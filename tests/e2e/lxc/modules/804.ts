/**
 * Test-only template (never shipped) whose verification fails: no snapshot may be taken.
 *
 * @module
 */

import { defineContainer } from "../../../../lib/module/container_module.ts";

export default defineContainer({
  ctid: "804",
  kind: "template",
  description: "test template whose verification fails",
  defaultSnapshotName: "never-taken",
  settings: () => ({}),
  steps: [],
  verification: [
    {
      name: "a file that no step creates exists",
      run: (ctx) => ctx.container.run(["test", "-f", "/etc/does-not-exist"]).then(() => {}),
    },
  ],
});
