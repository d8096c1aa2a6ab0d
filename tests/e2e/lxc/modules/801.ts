/**
 * Test-only template (never shipped): creates a user, writes a config file and installs a small
 * service script, then verifies all three by reading them back. Runs in a busybox container.
 *
 * @module
 */

import { defineContainer } from "../../../../lib/module/container_module.ts";

/** The config file the template writes; the LXC tests read it back from the snapshot. */
export const APP_CONF = "/etc/phoenix/app.conf";
/** Its content. */
export const APP_CONF_CONTENT = "greeting=hello from the phoenix test template\n";
/** The service script the template installs. */
export const SERVICE = "/usr/local/bin/phoenix-service";
/** Its content. */
export const SERVICE_CONTENT = "#!/bin/sh\necho phoenix-service is alive\n";
/** The account the template adds (no home directory, no login). */
const PHOENIX_USER = "phoenix:x:1000:1000:Phoenix test user:/nonexistent:/bin/false\n";
const PHOENIX_GROUP = "phoenix:x:1000:\n";

export default defineContainer({
  ctid: "801",
  kind: "template",
  description: "test template: a user, a config file and a service script",
  defaultSnapshotName: "test-base-snapshot",
  settings: () => ({}),
  steps: [
    {
      name: "Create user phoenix",
      check: (ctx) => ctx.container.succeeds(["id", "phoenix"]),
      // Debian's busybox-static has no adduser applet: write the account entries directly.
      action: async (ctx) => {
        await ctx.container.run(["tee", "-a", "/etc/group"], { input: PHOENIX_GROUP });
        await ctx.container.run(["tee", "-a", "/etc/passwd"], { input: PHOENIX_USER });
      },
    },
    {
      name: `Write ${APP_CONF}`,
      check: async (ctx) => (await ctx.container.readFile(APP_CONF)) === APP_CONF_CONTENT,
      action: async (ctx) => {
        await ctx.container.run(["mkdir", "-p", "/etc/phoenix"]);
        await ctx.container.run(["tee", APP_CONF], { input: APP_CONF_CONTENT });
      },
    },
    {
      name: `Install ${SERVICE}`,
      check: async (ctx) =>
        (await ctx.container.readFile(SERVICE)) === SERVICE_CONTENT &&
        await ctx.container.succeeds(["test", "-x", SERVICE]),
      action: async (ctx) => {
        await ctx.container.run(["mkdir", "-p", "/usr/local/bin"]);
        await ctx.container.run(["tee", SERVICE], { input: SERVICE_CONTENT });
        await ctx.container.run(["chmod", "0755", SERVICE]);
      },
    },
  ],
  verification: [
    {
      name: "the user, the config file and the service script are in place",
      run: async (ctx) => {
        await ctx.container.run(["id", "phoenix"]);
        const conf = await ctx.container.readFile(APP_CONF);
        if (conf !== APP_CONF_CONTENT) throw new Error(`${APP_CONF} holds ${JSON.stringify(conf)}`);
        const said = await ctx.container.output([SERVICE]);
        if (said !== "phoenix-service is alive") {
          throw new Error(`${SERVICE} said ${JSON.stringify(said)}`);
        }
      },
    },
  ],
});
