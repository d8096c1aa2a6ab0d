/**
 * Test-only standard container (never shipped): serves a page with busybox `httpd` inside the
 * container and is ready when an HTTP probe inside the container sees it.
 *
 * @module
 */

import { defineContainer } from "../../../../lib/module/container_module.ts";
import { waitFor } from "../../../../lib/core/wait.ts";

/** Where httpd listens, inside the container. */
export const URL_INSIDE = "http://127.0.0.1:8080/";
/** The page it serves. */
export const PAGE = "phoenix httpd ready\n";
const WWW = "/srv/www";

export default defineContainer({
  ctid: "802",
  kind: "standard",
  description: "test container: busybox httpd serving one page",
  settings: () => ({}),
  steps: [
    {
      name: "Write the page",
      check: async (ctx) => (await ctx.container.readFile(`${WWW}/index.html`)) === PAGE,
      action: async (ctx) => {
        await ctx.container.run(["mkdir", "-p", WWW]);
        await ctx.container.run(["tee", `${WWW}/index.html`], { input: PAGE });
      },
    },
    {
      name: "Start httpd",
      check: (ctx) => ctx.container.succeeds(["pidof", "httpd"]),
      // busybox httpd daemonises, so pct exec returns at once.
      action: (ctx) =>
        ctx.container.run(["httpd", "-p", "127.0.0.1:8080", "-h", WWW]).then(() => {}),
    },
  ],
  verification: [
    {
      name: `GET ${URL_INSIDE} serves the page`,
      run: async (ctx) => {
        await waitFor("httpd to answer", async () => {
          const result = await ctx.container.exec(["wget", "-q", "-O", "-", URL_INSIDE]);
          return result.exitCode === 0 && result.stdout === PAGE
            ? { ready: true }
            : { ready: false, detail: `wget exit ${result.exitCode}` };
        }, { timeoutMs: 20_000, initialDelayMs: 100, maxDelayMs: 1000 });
      },
    },
  ],
});
