/**
 * 910 Portainer: the Portainer server, cloned from the Docker template 902. Runs
 * `portainer/portainer-ce` with `--restart=always`, its data in a named volume and the Docker
 * socket mounted, publishing 9443 (web UI, HTTPS) and 9001 (or the config's `ports`), and waits
 * until the web UI answers.
 *
 * @module
 */

import { entryConfigError } from "../lib/config/read_config.ts";
import { defineContainer } from "../lib/container_module.ts";
import { dockerContainer, dockerEngine, dockerImage, httpReady } from "../lib/steps/mod.ts";

interface Settings {
  /** Published ports, `host:container`. */
  readonly ports: readonly string[];
  /** The port the web UI answers on inside the LXC container. */
  readonly uiPort: number;
}

const IMAGE = "portainer/portainer-ce:lts";
/** Portainer's HTTPS web UI inside its Docker container. */
const UI_PORT = 9443;
const DEFAULT_PORTS = ["9443:9443", "9001:9001"];

export default defineContainer<Settings>({
  ctid: "910",
  kind: "standard",
  description: "Portainer server in Docker (ports 9443 and 9001), ready when its web UI answers",
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
    const ports = config.entry.ports ?? DEFAULT_PORTS;
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
    dockerEngine(),
    dockerImage(IMAGE),
    dockerContainer<Settings>({
      name: "portainer",
      image: IMAGE,
      restart: "always",
      ports: (ctx) => ctx.settings.ports,
      volumes: ["portainer_data:/data", "/var/run/docker.sock:/var/run/docker.sock"],
    }),
  ],
  produces: (settings) =>
    `Portainer answers at https://localhost:${settings.uiPort} (inside the container)`,
  verification: [
    httpReady<Settings>({
      name: "Portainer's web UI answers over HTTPS",
      url: (ctx) => `https://localhost:${ctx.settings.uiPort}`,
      // Portainer serves a self-signed certificate.
      insecure: true,
      timeoutMs: 180_000,
    }),
  ],
});
