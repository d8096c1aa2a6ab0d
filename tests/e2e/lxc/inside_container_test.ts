/**
 * A compiled setup executable run inside a real container, as the newest orchestrator runs its
 * `application_script` (`pct exec <CTID> -- /tmp/phoenix_run/<script> <CTID>`): copied into a
 * busybox container's root file system with the config beside it, and started there with
 * `lxc-attach`, where there is no `pct`. Skipped (reported as ignored, with the reason) where LXC
 * cannot run containers.
 *
 * @module
 */

import assert from "node:assert/strict";
import { lxcSupport, withLab } from "./harness.ts";
import { compiledExecutable } from "../../support/executables.ts";
import { MARKER_805 } from "./modules/805.ts";

const support = await lxcSupport();
if (!support.ok) console.warn(`lxc: inside-container tests ignored: ${support.reason}`);

const MODULE = new URL("./modules/805.ts", import.meta.url).pathname;
const RUN_DIR = "/opt/phoenix_run";
const SCRIPT = `${RUN_DIR}/phoenix_marker.sh`;
/** The host's tools the executable's commands need, which busybox lacks or spells otherwise. */
const HOST_TOOLS = ["bash", "timeout"];

Deno.test({
  name: "lxc: the executable runs inside a real container without pct, and re-runs idempotently",
  ignore: !support.ok,
  fn: () =>
    withLab(async (lab) => {
      await lab.createContainer("805", { hostname: "TestMarker" });
      const rootfs = lab.rootfs("805");
      // Proxmox writes the entry's name there at every start; so does this test, before it.
      await Deno.writeTextFile(`${rootfs}/etc/hostname`, "TestMarker\n");
      await Deno.mkdir(`${rootfs}/usr/local/bin`, { recursive: true });
      for (const tool of HOST_TOOLS) {
        const which = new Deno.Command("sh", { args: ["-c", `command -v ${tool}`] }).outputSync();
        const path = new TextDecoder().decode(which.stdout).trim();
        await Deno.copyFile(path, `${rootfs}/usr/local/bin/${tool}`);
      }
      // What lxc-manager.sh pushes: the script under its application_script name, the config.
      await Deno.mkdir(`${rootfs}${RUN_DIR}`, { recursive: true });
      await Deno.copyFile(await compiledExecutable("805", MODULE), `${rootfs}${SCRIPT}`);
      await Deno.chmod(`${rootfs}${SCRIPT}`, 0o755);
      await Deno.writeTextFile(
        `${rootfs}${RUN_DIR}/phoenix_lxc_configs.json`,
        JSON.stringify({
          lxc_configs: { "805": { name: "TestMarker", application_script: "phoenix_marker.sh" } },
        }),
      );
      await lab.start("805");

      const run = () =>
        lab.attach("805", [
          "env",
          "PATH=/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin",
          SCRIPT,
          "805",
        ], { timeoutMs: 120_000 });
      const first = await run();
      assert.equal(first.code, 0, `${first.stdout}\n${first.stderr}`);
      assert.match(
        first.stdout,
        /Running inside container 805 \(no pct on PATH; container=lxc in \/proc\/1\/environ\): its own steps run here; .* This entry needs none of them/,
      );
      assert.match(
        first.stdout,
        /\/usr\/local\/phoenix_hypervisor\/etc\/phoenix_lxc_configs\.json is not in the container; reading \/opt\/phoenix_run\/phoenix_lxc_configs\.json/,
      );
      assert.match(first.stdout, /Step 1\/1 "Write the marker": check: not done yet .*; running/);
      assert.match(first.stdout, /Setup for container 805 completed successfully\./);
      // The marker is in the container, written by the program running there.
      assert.equal((await lab.attach("805", ["test", "-f", `/${MARKER_805}`])).code, 0);
      // The log file is the container's own, in the orchestrator's format.
      const log = await lab.readFile("805", "/var/log/phoenix_hypervisor.log");
      assert.match(log, /\[INFO\] phoenix_hypervisor_setup_805\.sh: Running inside container 805/);

      const again = await run();
      assert.equal(again.code, 0, `${again.stdout}\n${again.stderr}`);
      assert.match(again.stdout, /Step 1\/1 "Write the marker": check: already done, skipping/);
      assert.equal(await lab.status("805"), "running");
    }),
});
