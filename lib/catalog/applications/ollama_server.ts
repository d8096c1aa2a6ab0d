/**
 * The Ollama server application: `ollama serve` as the enabled systemd service `ollama.service`,
 * listening on all addresses on the port the entry publishes (`ports`, container side; Ollama's
 * 11434 by default); ready when its API answers `GET /api/version`. Chosen for every entry with
 * the `ollama` feature, which installs the program.
 *
 * The original runner set `OLLAMA_HOST` with `systemctl set-environment` (lost at the next boot)
 * and ran its commands on the host; here the address is in the unit file.
 *
 * @module
 */

import { entryConfigError } from "../../config/read_config.ts";
import { definePart } from "../features/feature.ts";
import { OLLAMA_BIN } from "../features/ollama.ts";
import { httpReady, serviceEnabledAndRunning, systemdUnit } from "../../steps/mod.ts";

/** What the steps need. */
export interface OllamaServerSettings {
  /** The port Ollama listens on inside the container. */
  readonly port: number;
  /** The text of `ollama.service`. */
  readonly unit: string;
}

/** The systemd unit of the server. */
export const OLLAMA_UNIT = "ollama.service";
/** Ollama's own port. */
export const OLLAMA_DEFAULT_PORT = 11434;

function unitFile(port: number): string {
  return [
    "[Unit]",
    "Description=Ollama server",
    "After=network-online.target",
    "Wants=network-online.target",
    "",
    "[Service]",
    `ExecStart=${OLLAMA_BIN} serve`,
    "User=ollama",
    "Group=ollama",
    `Environment=OLLAMA_HOST=0.0.0.0:${port}`,
    "Restart=always",
    "RestartSec=3",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

/** The Ollama server application. */
export const ollamaServer = definePart<OllamaServerSettings>({
  name: "ollama-server",
  summary: "the Ollama server as ollama.service on all addresses, ready when /api/version answers",
  reads: ["ports (one mapping; its container side is the port, default 11434)"],
  settings: (config) => {
    const ports = config.entry.ports ?? [];
    if (ports.length > 1) {
      throw entryConfigError(
        config,
        ["ports"],
        `found ${ports.length} mappings, but the Ollama server listens on one port; keep the ` +
          `one that reaches it, e.g. "${OLLAMA_DEFAULT_PORT}:${OLLAMA_DEFAULT_PORT}"`,
      );
    }
    const port = ports.length === 1 ? Number(ports[0].split(":")[1]) : OLLAMA_DEFAULT_PORT;
    return { port, unit: unitFile(port) };
  },
  steps: [
    systemdUnit<OllamaServerSettings>({ name: OLLAMA_UNIT, content: (ctx) => ctx.settings.unit }),
    serviceEnabledAndRunning(OLLAMA_UNIT),
  ],
  produces: (settings) =>
    `Ollama answers at http://localhost:${settings.port} (inside the container)`,
  verification: [
    httpReady<OllamaServerSettings>({
      name: "GET /api/version answers 200",
      url: (ctx) => `http://localhost:${ctx.settings.port}/api/version`,
      timeoutMs: 5 * 60_000,
    }),
  ],
});
