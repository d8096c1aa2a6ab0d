/**
 * 902 BaseTemplateDocker: the Docker template, cloned from 900: the `docker` feature (Docker
 * Engine; the container must have `nesting=1`), then its snapshot.
 *
 * @module
 */

import { composeContainer } from "../lib/catalog/composition.ts";
import { docker } from "../lib/catalog/features/mod.ts";

export default composeContainer({
  ctid: "902",
  kind: "template",
  description: "Docker Engine (needs nesting=1); snapshot for Docker containers",
  defaultSnapshotName: "docker-snapshot",
  features: [docker],
});
