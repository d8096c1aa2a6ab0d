/**
 * 910 Portainer: the Portainer server, cloned from the Docker template 902: the `docker`
 * feature (already done in a clone of 902) and the Portainer application (`portainer_role`
 * `server`), ready when its web UI answers.
 *
 * @module
 */

import { portainer } from "../lib/catalog/applications/mod.ts";
import { composeContainer } from "../lib/catalog/composition.ts";
import { docker } from "../lib/catalog/features/mod.ts";

export default composeContainer({
  ctid: "910",
  kind: "standard",
  description: "Portainer server in Docker (ports 9443 and 9001), ready when its web UI answers",
  features: [docker],
  application: portainer,
});
