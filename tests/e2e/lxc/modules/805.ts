/**
 * Test-only standard container (never shipped) for runs inside the container itself (no `pct`):
 * one step writes a marker under the machine's root (`PHOENIX_HOST_ROOT`, `/` in a real
 * container, a temporary tree elsewhere) and the verification reads it back. Only commands
 * every busybox has.
 *
 * @module
 */

import { join } from "node:path";
import {
  defineContainer,
  type Step,
  type Verification,
} from "../../../../lib/module/container_module.ts";

/** The marker, relative to the machine's root. */
export const MARKER_805 = "etc/phoenix-805-marker";

/** Writes the marker; 806 shares it. */
export const markerStep: Step<unknown> = {
  name: "Write the marker",
  check: (ctx) => ctx.container.succeeds(["test", "-f", join(ctx.hostRoot, MARKER_805)]),
  action: (ctx) => ctx.container.run(["touch", join(ctx.hostRoot, MARKER_805)]).then(() => {}),
};

/** Reads the marker back; 806 shares it. */
export const markerThere: Verification<unknown> = {
  name: "the marker is there",
  run: (ctx) => ctx.container.run(["test", "-f", join(ctx.hostRoot, MARKER_805)]).then(() => {}),
};

export default defineContainer({
  ctid: "805",
  kind: "standard",
  description: "test container: a marker file",
  settings: () => ({}),
  steps: [markerStep],
  verification: [markerThere],
});
