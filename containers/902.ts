/**
 * 902 BaseTemplateDocker: the Docker template, cloned from 900. Installs Docker Engine, which
 * needs the container feature `nesting=1` (checked in the container's Proxmox config first), and
 * proves the daemon answers and runs a container.
 *
 * @module
 */

import { defineContainer } from "../lib/container_module.ts";
import { commandSucceeds, dockerEngine, dockerRunSucceeds } from "../lib/steps/mod.ts";

export default defineContainer({
  ctid: "902",
  kind: "template",
  description: "Docker Engine (needs nesting=1); snapshot for Docker containers",
  defaultSnapshotName: "docker-snapshot",
  settings: () => ({}),
  steps: [dockerEngine()],
  verification: [
    commandSucceeds(["docker", "info"]),
    dockerRunSucceeds({ image: "hello-world" }),
  ],
});
