/**
 * Test-only template (never shipped): 805's marker, then a snapshot. Inside the container (no
 * `pct`) its own step runs, and its shutdown, snapshot and start are left to the host (exit 11).
 *
 * @module
 */

import { defineContainer } from "../../../../lib/module/container_module.ts";
import { markerStep, markerThere } from "./805.ts";

export default defineContainer({
  ctid: "806",
  kind: "template",
  description: "test template: a marker file, then a snapshot",
  defaultSnapshotName: "marker-snapshot",
  settings: () => ({}),
  steps: [markerStep],
  verification: [markerThere],
});
