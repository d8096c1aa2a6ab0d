/**
 * `docker`: Docker Engine (the distribution's `docker.io`), enabled and running. Docker in an
 * LXC container needs the Proxmox feature `nesting=1`: a container without it fails before
 * anything changes.
 *
 * @module
 */

import {
  commandSucceeds,
  dockerEngine,
  dockerRunSucceeds,
  nestingEnabled,
} from "../../steps/mod.ts";
import { definePart } from "./feature.ts";

/** The `docker` feature. */
export const docker = definePart({
  name: "docker",
  summary: "Docker Engine (docker.io), enabled; needs nesting=1",
  reads: [],
  settings: () => ({}),
  requirements: [nestingEnabled()],
  steps: [dockerEngine()],
  verification: [
    // Not `docker info`, which the checks ask: this names the server's version in the log.
    commandSucceeds(["docker", "version", "--format", "{{.Server.Version}}"], {
      name: "the Docker daemon answers (docker version)",
    }),
    dockerRunSucceeds({ image: "hello-world" }),
  ],
});
