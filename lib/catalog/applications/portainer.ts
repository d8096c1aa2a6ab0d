/**
 * The Portainer server application: `portainer/portainer-ce` in Docker with `--restart always`,
 * its data in a named volume and the Docker socket mounted, publishing 9443 (web UI, HTTPS) and
 * 9001 (or the entry's `ports`); ready when the web UI answers. Chosen for entries whose
 * `portainer_role` is `server`; the `docker` feature must come first.
 *
 * @module
 */

import { entryConfigError } from "../../config/read_config.ts";
import { definePart } from "../features/feature.ts";
import { dockerContainer, dockerImage, httpReady } from "../../steps/mod.ts";

/** What the steps need. */
export interface PortainerSettings {
  /** Published ports, `host:container`. */
  readonly ports: readonly string[];
  /** The port the web UI answers on inside the LXC container. */
  readonly uiPort: number;
}

/** The image run. */
export const PORTAINER_IMAGE = "portainer/portainer-ce:lts";
/** Portainer's HTTPS web UI inside its Docker container. */
const UI_PORT = 9443;
/** The ports published when the entry has no `ports`. */
export const PORTAINER_DEFAULT_PORTS: readonly string[] = ["9443:9443", "9001:9001"];

/** The Portainer server application. */
export const portainer = definePart<PortainerSettings>({
  name: "portainer",
  summary: "the Portainer server in Docker (ports 9443 and 9001), ready when its web UI answers",
  reads: ["portainer_role (server)", "ports (must publish 9443)"],
  settings: (config) => {
    const role = config.entry.portainer_role;
    if (role !== undefined && role !== "server") {
      throw entryConfigError(
        config,
        ["portainer_role"],
        `found ${JSON.stringify(role)}, but the executable for ${config.ctid} sets up the ` +
          'Portainer server: set portainer_role to "server", or install the executable meant ' +
          "for this container",
      );
    }
    const ports = config.entry.ports ?? PORTAINER_DEFAULT_PORTS;
    const ui = ports.find((mapping) => Number(mapping.split(":")[1]) === UI_PORT);
    if (ui === undefined) {
      throw entryConfigError(
        config,
        ["ports"],
        `no mapping publishes Portainer's web UI (container port ${UI_PORT}); add one such as ` +
          `"${UI_PORT}:${UI_PORT}"`,
      );
    }
    return { ports, uiPort: Number(ui.split(":")[0]) };
  },
  steps: [
    dockerImage(PORTAINER_IMAGE),
    dockerContainer<PortainerSettings>({
      name: "portainer",
      image: PORTAINER_IMAGE,
      restart: "always",
      ports: (ctx) => ctx.settings.ports,
      volumes: ["portainer_data:/data", "/var/run/docker.sock:/var/run/docker.sock"],
    }),
  ],
  produces: (settings) =>
    `Portainer answers at https://localhost:${settings.uiPort} (inside the container)`,
  verification: [
    httpReady<PortainerSettings>({
      name: "Portainer's web UI answers over HTTPS",
      url: (ctx) => `https://localhost:${ctx.settings.uiPort}`,
      // Portainer serves a self-signed certificate.
      insecure: true,
      timeoutMs: 180_000,
    }),
  ],
});
