/**
 * `ollama`: the Ollama program under `/usr` (`/usr/bin/ollama` and `/usr/lib/ollama`, Ollama's
 * manual installation) and its system user. The server is an application
 * (`lib/applications/ollama_server.ts`), which every entry with this feature gets.
 *
 * The original scripts piped `https://ollama.com/install.sh` into `sh`, on the host rather than
 * in the container in one version; here the release archive is downloaded into the container,
 * unpacked, and proven by running the program.
 *
 * @module
 */

import { aptPackages, commandSucceeds } from "../../steps/mod.ts";
import { definePart } from "./feature.ts";

/** The `ollama` program, by its full path (`pct exec` has no /usr/local/bin on its PATH). */
export const OLLAMA_BIN = "/usr/bin/ollama";

/** Ollama's release archive for x86-64 Linux (zstd-compressed tar, unpacked into `/usr`). */
export const OLLAMA_ARCHIVE_URL = "https://ollama.com/download/ollama-linux-amd64.tar.zst";

const ARCHIVE = "/tmp/ollama-linux-amd64.tar.zst";

/** Whether Ollama is installed and runs. */
const OLLAMA_VERSION = [OLLAMA_BIN, "--version"];

/** Whether the ollama system user exists. */
const OLLAMA_USER = ["id", "-u", "ollama"];

/** The `ollama` feature. */
export const ollama = definePart({
  name: "ollama",
  summary: `Ollama in ${OLLAMA_BIN} and its system user`,
  reads: [],
  settings: () => ({}),
  steps: [
    aptPackages(["zstd"], { name: "Install zstd (Ollama's archive is zstd-compressed)" }),
    {
      name: "Install Ollama",
      probes: () => [OLLAMA_VERSION],
      check: (ctx) => ctx.container.succeeds(OLLAMA_VERSION, { timeoutMs: 60_000 }),
      action: async (ctx) => {
        try {
          await ctx.container.run(
            ["curl", "-fsSL", "--retry", "3", "-o", ARCHIVE, OLLAMA_ARCHIVE_URL],
            { timeoutMs: 60 * 60_000 },
          );
          // An upgrade over an older version must not mix its libraries with the new ones.
          await ctx.container.run(["rm", "-rf", "/usr/lib/ollama"]);
          await ctx.container.run(["tar", "--zstd", "-x", "-f", ARCHIVE, "-C", "/usr"], {
            timeoutMs: 30 * 60_000,
          });
        } finally {
          await ctx.container.exec(["rm", "-f", ARCHIVE]);
        }
      },
    },
    {
      name: "Create the ollama system user",
      probes: () => [OLLAMA_USER],
      check: (ctx) => ctx.container.succeeds(OLLAMA_USER),
      action: async (ctx) => {
        await ctx.container.run([
          "useradd",
          "--system",
          "--shell",
          "/bin/false",
          "--user-group",
          "--create-home",
          "--home-dir",
          "/usr/share/ollama",
          "ollama",
        ]);
      },
    },
  ],
  verification: [commandSucceeds([OLLAMA_BIN, "--version"], { name: "ollama --version runs" })],
});
