/**
 * The compiled executable of 900 (BaseTemplate) against the fake pct and a simulated container
 * created from the OS template: first run, re-run, dry run, each verification failing.
 */

import assert from "node:assert/strict";
import { configText, ContainerScenario, containerTests, thenFails } from "./_harness.ts";
import { literally } from "../fake_pct/fake_pct.ts";
import { assertExit } from "../support/assertions.ts";

const TOOLS = ["curl", "wget", "vim", "htop", "jq", "git", "rsync", "gpg"];

containerTests({
  ctid: "900",
  pctCalls: { firstRun: 21, rerun: 2, dryRun: 3 },
  snapshot: "base-snapshot",
  finished: { clonedFrom: "900" },
  verificationFailures: [
    ...TOOLS.map((tool) => ({
      verification: `${tool} --version runs`,
      exec: [{
        match: literally([tool, "--version"]),
        exit: 127,
        stderr: `lxc-attach: Failed to exec "${tool}": No such file or directory\n`,
      }],
      message: new RegExp(`Failed to exec "${tool}"`),
    })),
    {
      verification: "locale -a lists en_US.utf8",
      // The step's check still sees the locale; the verification, run after it, does not.
      exec: thenFails(
        literally("locale -a"),
        { stdout: "C\nen_US.utf8\n" },
        { stdout: "C\nC.utf8\nPOSIX\n" },
      ),
      message: /locale -a printed "C\\nC\.utf8\\nPOSIX", which does not match/,
    },
  ],
  afterFirstRun: async (s) => {
    const files = (await s.fake.state()).containers["900"].files;
    assert.deepEqual(files["/etc/default/locale"], { content: "LANG=en_US.UTF-8\n", mode: "0644" });
    // Debian's locale-gen generates what this file lists; the other locales stay commented out.
    assert.deepEqual(files["/etc/locale.gen"], {
      content: "# de_DE.UTF-8 UTF-8\nen_US.UTF-8 UTF-8\n",
      mode: "0644",
    });
  },
});

Deno.test("900: a failing apt-get update fails the first step, exit 3, nothing taken", async () => {
  await using s = await ContainerScenario.of({
    ctid: "900",
    exec: [{
      match: literally("env DEBIAN_FRONTEND=noninteractive apt-get update"),
      exit: 100,
      stderr: "E: Release file for http://archive.ubuntu.com/ubuntu/dists/noble is not valid yet\n",
    }],
  });
  const run = await s.run();
  assertExit(run, 3);
  assert.match(run.stderr, /Step 1\/4 "Upgrade the installed packages" failed: .*not valid yet/);
  assert.deepEqual(await s.mutatingCalls(), []);
});

Deno.test("900: an entry without template_snapshot_name ends in base-snapshot", async () => {
  await using s = await ContainerScenario.of({
    ctid: "900",
    clonedFrom: "900",
    config: configText({ "900": { name: "BaseTemplate" } }),
  });
  assertExit(await s.run(), 0);
  assert.deepEqual(
    (await s.fake.state()).containers["900"].snapshots.map((x) => x.name),
    ["base-snapshot"],
  );
});
