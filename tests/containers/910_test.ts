/**
 * The compiled executable of 910 (Portainer) against the fake pct and a simulated clone of 902:
 * first run, re-run, dry run, the readiness probe failing, ports from the config, and entries
 * that are not a Portainer server.
 */

import assert from "node:assert/strict";
import { configText, ContainerScenario, containerTests, HIERARCHY, portainer } from "./_harness.ts";
import { assertExit } from "../support/assertions.ts";

const SIMULATION = { simulation: { dockerContainers: [portainer()] } };

containerTests({
  ctid: "910",
  // A re-run: pct status and one batch, the checks then (all succeeding) the verification's
  // commands, docker run --rm hello-world among them. Nothing has to change, so the nesting
  // requirement is left to the verification: no pct config.
  pctCalls: { firstRun: 8, rerun: 2, dryRun: 3 },
  fresh: SIMULATION,
  verificationFailures: [{
    verification: "Portainer's web UI answers over HTTPS",
    exec: [{
      match: "^curl -s -k --max-time 10 -o /dev/null -w %\\{http_code\\} https://localhost:9443$",
      stdout: "502",
    }],
    env: { PHOENIX_READY_TIMEOUT: "1" },
    message:
      /Timed out after 1.0 s waiting for https:\/\/localhost:9443 to answer 200 in container 910 \(\d+ attempts?; last: HTTP 502\)/,
  }],
  afterFirstRun: async (s, run) => {
    assert.match(run.stdout, /https:\/\/localhost:9443 answered in container 910 \(attempt 1\)/);
    const flags = await s.flags();
    assert.ok(
      flags.includes("container:portainer") && flags.includes("image:portainer/portainer-ce:lts"),
    );
  },
});

Deno.test("910: ports from the config are published, and the UI is probed on its host port", async () => {
  const ports = ["8443:9443", "9001:9001"];
  await using s = await ContainerScenario.of({
    ctid: "910",
    config: configText({ "910": { ...HIERARCHY["910"], ports } }),
    simulation: { dockerContainers: [portainer(ports)] },
  });
  const run = await s.run();
  assertExit(run, 0);
  const lines = await s.callLines();
  assert.ok(
    lines.some((line) =>
      line.includes("docker run -d --name portainer --restart always -p 8443:9443 -p 9001:9001")
    ),
  );
  assert.ok(lines.some((line) => line.endsWith("https://localhost:8443")));
});

Deno.test("910: entries that are not a Portainer server are config errors, before any pct call", async (t) => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    [
      'portainer_role "none" (910 is a vLLM container in later generations)',
      { name: "Copy-VLLM-GPUx2", portainer_role: "none" },
      /lxc_configs\["910"\]\.portainer_role: found "none", but the executable for 910 sets up the Portainer server/,
    ],
    [
      "ports without the web UI",
      { ...HIERARCHY["910"], ports: ["9000:9000"] },
      /lxc_configs\["910"\]\.ports: no mapping publishes Portainer's web UI \(container port 9443\)/,
    ],
  ];
  for (const [name, entry, message] of cases) {
    await t.step(name, async () => {
      await using s = await ContainerScenario.of({
        ctid: "910",
        config: configText({ "910": entry }),
      });
      const run = await s.run();
      assertExit(run, 2);
      assert.match(run.stderr, message);
      assert.ok(run.stderr.includes(s.configFile));
      assert.deepEqual(await s.calls(), []);
    });
  }
});
