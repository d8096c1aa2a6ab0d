/**
 * The compiled executable of 902 (BaseTemplateDocker) against the fake pct and a simulated
 * clone of 900 with `nesting=1`: first run, re-run, dry run, each verification failing, and a
 * container without nesting.
 */

import assert from "node:assert/strict";
import { ContainerScenario, containerTests } from "./_harness.ts";
import { literally } from "../fake_pct/fake_pct.ts";
import { assertExit } from "../support/assertions.ts";

const NESTING = { container: { config: { features: "nesting=1" } } };

containerTests({
  ctid: "902",
  pctCalls: { firstRun: 16, rerun: 2, dryRun: 4 },
  snapshot: "docker-snapshot",
  fresh: NESTING,
  finished: { clonedFrom: "902" },
  verificationFailures: [
    {
      verification: "the Docker daemon answers (docker version)",
      exec: [{
        match: literally("docker version --format {{.Server.Version}}"),
        exit: 1,
        stderr: "Cannot connect to the Docker daemon at unix:///var/run/docker.sock\n",
      }],
      message: /In container 902: docker version .*Cannot connect to the Docker daemon/,
    },
    {
      verification: "docker run --rm hello-world succeeds",
      exec: [{
        // From the local image, then with a pull: both fail.
        match: "^docker run --rm (--pull never )?hello-world$",
        exit: 125,
        stderr: "docker: Error response from daemon: failed to create task for container: " +
          "failed to create shim task: OCI runtime create failed\n",
      }],
      message: /OCI runtime create failed/,
    },
  ],
});

Deno.test("902: a container without nesting=1 fails with exit 8 before any change", async () => {
  await using s = await ContainerScenario.of({
    ctid: "902",
    container: { config: { features: "keyctl=1" } },
  });
  const run = await s.run();
  assertExit(run, 8);
  assert.match(
    run.stderr,
    /Container 902 does not have the feature nesting=1 \(its features are "keyctl=1"\), which Docker needs: .*pct set 902 --features nesting=1/,
  );
  // The requirement is checked once a step has to act: after the one batch of checks (Docker is
  // not installed), before the first action.
  const lines = await s.callLines();
  assert.deepEqual(lines.slice(0, 2), ["pct status 902 --verbose", "pct listsnapshot 902"]);
  assert.match(lines[2], /^pct exec 902 -- bash -c .* bash 2 docker info /);
  // The configuration in effect, then (nesting missing there) the one with pending values.
  assert.deepEqual(lines.slice(3), ["pct config 902 --current 1", "pct config 902"]);
  await s.assertNothingChanged();
});
