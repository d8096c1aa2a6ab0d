/**
 * A forwarded run against a real container: the simulated cluster's node pve2 owns a real LXC
 * busybox container (the LXC tier's lab, driven by its `pct` stand-in over the LXC tools), and
 * the run started on pve1 goes there over SSH and really sets it up and snapshots it.
 */

import assert from "node:assert/strict";
import { SimulatedCluster } from "./harness.ts";
import { lxcSupport, PCT_STAND_IN, withLab } from "../lxc/harness.ts";
import { executableFor, LXC_CONFIGS } from "../lxc/_setup_runs.ts";
import { APP_CONF, APP_CONF_CONTENT } from "../lxc/modules/801.ts";
import { shellQuote } from "../../support/shell_quote.ts";

const lxc = await lxcSupport();
const noCluster = await SimulatedCluster.available();
const EXECUTABLE = "/usr/local/phoenix_hypervisor/bin/phoenix_hypervisor_setup_801.sh";
const CONFIG = "/usr/local/phoenix_hypervisor/etc/phoenix_lxc_configs.json";

/** A node's `pct`: the LXC stand-in over `lxcPath`, seeing the containers named `prefix<CTID>`. */
function standIn(node: string, lxcPath: string, prefix: string): string {
  return [
    "#!/bin/sh",
    `PCT_LXC_PATH=${shellQuote(lxcPath)}`,
    `PCT_LXC_PREFIX=${shellQuote(prefix)}`,
    `PCT_NODE=${node}`,
    "export PCT_LXC_PATH PCT_LXC_PREFIX PCT_NODE",
    `exec ${shellQuote(PCT_STAND_IN)} "$@"`,
    "",
  ].join("\n");
}

Deno.test({
  name: "cluster: lxc: a run started on pve1 sets up and snapshots pve2's real container over SSH",
  ignore: !lxc.ok || noCluster !== undefined,
  fn: () =>
    withLab(async (lab) => {
      await lab.createContainer("801");
      await lab.start("801");
      await using cluster = await SimulatedCluster.start({
        nodes: ["pve1", "pve2"],
        // .vmlist: 801 is pve2's; pve1's stand-in sees no container of this lab.
        containers: { pve2: { "801": { status: "running" } } },
        pctScripts: {
          pve1: standIn("pve1", lab.lxcPath, `${lab.prefix}elsewhere-`),
          pve2: standIn("pve2", lab.lxcPath, lab.prefix),
        },
      });
      await cluster.installFile("pve1", await executableFor("801"), EXECUTABLE);
      await cluster.writeFile("pve1", CONFIG, JSON.stringify(LXC_CONFIGS));
      // pve1 itself has no such container, in Proxmox's words.
      const here = await cluster.exec("pve1", ["pct", "status", "801"]);
      assert.match(here.stderr, /Configuration file 'nodes\/pve1\/lxc\/801\.conf' does not exist/);

      const run = await cluster.exec("pve1", [EXECUTABLE, "801"], {
        env: { PHOENIX_SHUTDOWN_TIMEOUT: "5" },
        timeoutMs: 240_000,
      });
      assert.equal(run.code, 0, run.stdout + run.stderr);
      assert.match(
        run.stdout,
        /\[pve2\] Setup for template 801 completed successfully\. Snapshot 'test-base-snapshot' created\./,
      );
      assert.match(run.stdout, /this executable was sent: the node had no identical one/);
      // Real effects in the real container, and a real snapshot of it; it runs again.
      assert.equal(await lab.readFile("801", APP_CONF), APP_CONF_CONTENT);
      const snapshots = await lab.snapshots("801");
      assert.deepEqual(snapshots.map((s) => s.name), ["test-base-snapshot"]);
      assert.equal(await lab.status("801"), "running");
      assert.deepEqual(await cluster.readShared("priv/lock"), []);
    }),
});
