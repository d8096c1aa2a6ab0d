/**
 * 900 BaseTemplate: the root of the template hierarchy, which every other container is cloned
 * from: the `base_setup` feature (up-to-date OS, base tools, en_US.UTF-8), then its snapshot.
 *
 * @module
 */

import { composeContainer } from "../lib/catalog/composition.ts";
import { baseSetup } from "../lib/catalog/features/mod.ts";

export default composeContainer({
  ctid: "900",
  kind: "template",
  description: "Up-to-date OS, base tools and the en_US.UTF-8 locale; snapshot for every template",
  defaultSnapshotName: "base-snapshot",
  features: [baseSetup],
});
