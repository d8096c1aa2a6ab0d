/**
 * `deno task build --config FILE` end to end, on the latest real config: the build lists what
 * it makes of every CTID (and why it skips some), compiles, in one build, the composed
 * executables of 914 (nvidia + ollama, the Ollama server), 911 (a template of nvidia, vllm,
 * trusted_ca and step_cli) and 912, and installs them with `--link-application-script` (914's own
 * application_script name as a link; 912's, shared by four entries, left out, saying so); 914
 * and 911 run against the fake `pct` program: `--help` shows its plan, a first run
 * exits 0, a re-run changes nothing, their pct calls are pinned; and an entry whose features
 * changed since the build is refused before any pct call. Ignored, saying so, without
 * `../shared/real-configs`.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { Scenario } from "./_scenario.ts";
import { callLines } from "../containers/_harness.ts";
import { simulatedContainer, templateState } from "../containers/_simulated_container.ts";
import { simulationFor, testHost } from "../containers/_composed.ts";
import { assertSnapshot } from "../containers/_snapshot.ts";
import { runBuild, runExecutable } from "../support/executables.ts";
import { selectFromConfig } from "../../lib/build/targets.ts";
import { composedModule } from "../../lib/catalog/composition.ts";
import { helpText } from "../../lib/pattern/help.ts";
import {
  REAL_CONFIGS_ABSENT,
  REAL_CONFIGS_AVAILABLE,
  realConfigPath,
} from "../support/real_configs.ts";

const LATEST = realConfigPath("35c465b_latest_rootesting");

Deno.test({
  name: REAL_CONFIGS_AVAILABLE
    ? "build --config: the latest generation's composed 914 and 911 are built, and run"
    : `build --config ${REAL_CONFIGS_ABSENT}`,
  ignore: !REAL_CONFIGS_AVAILABLE,
  sanitizeResources: false,
  fn: async (t) => {
    const out = await Deno.makeTempDir({ prefix: "phoenix-composed-" });
    const latest = JSON.parse(await Deno.readTextFile(LATEST));
    const host = await testHost(latest.nvidia_driver_version);
    try {
      const bin = join(out, "bin");
      const built = await runBuild([
        "--config",
        LATEST,
        ...["914", "911", "912", "103"].flatMap((ctid) => ["--ctid", ctid]),
        "--out",
        out,
        "--install",
        bin,
        "--link-application-script",
      ]);
      assert.equal(built.code, 0, built.stderr);
      for (
        const line of [
          "  900: containers/900.ts (template)",
          "  914: composed from the entry (standard): features nvidia, ollama; " +
          "application ollama-server",
          '  103: SKIPPED, nothing built: feature "step_ca" not supported; write ' +
          "containers/103.ts to set it up",
          '  102: SKIPPED, nothing built: feature "traefik" not supported; write ' +
          "containers/102.ts to set it up",
        ]
      ) assert.ok(built.stdout.includes(line), `the build says:\n${line}\n${built.stdout}`);
      const skipped = await runBuild(["--config", LATEST, "--ctid", "103", "--out", out]);
      assert.equal(skipped.code, 1);
      assert.match(skipped.stderr, /Nothing to build for container 103/);

      await t.step(
        "--install --link-application-script: an entry's own name, not a shared one",
        async () => {
          assert.deepEqual(
            built.stdout.trimEnd().split("\n").slice(-6),
            [
              `Installed ${bin}/phoenix_hypervisor_setup_911.sh`,
              `Installed ${bin}/phoenix_hypervisor_setup_912.sh`,
              `Installed ${bin}/phoenix_hypervisor_setup_914.sh`,
              `Linked ${bin}/phoenix_hypervisor_lxc_955.sh -> phoenix_hypervisor_setup_914.sh (the ` +
              "application_script of its entry, for the 2025-09-07 generation)",
              "Not installed: phoenix_hypervisor_lxc_vllm.sh: not installed for container 912: it is " +
              "the application_script or executable name of containers 801, 802, 910, 912, and an " +
              "executable sets up one container only",
              "3 built, 1 skipped (103)",
            ],
          );
          assert.deepEqual([...Deno.readDirSync(bin)].map((e) => e.name).sort(), [
            "phoenix_hypervisor_lxc_955.sh",
            "phoenix_hypervisor_setup_911.sh",
            "phoenix_hypervisor_setup_912.sh",
            "phoenix_hypervisor_setup_914.sh",
          ]);
          const link = join(bin, "phoenix_hypervisor_lxc_955.sh");
          assert.ok((await Deno.lstat(link)).isSymlink, "a link, not a second copy");
          assert.equal(await Deno.readLink(link), "phoenix_hypervisor_setup_914.sh");
          // dist/ and SHA256SUMS: exactly the three executables of this build.
          assert.deepEqual(
            (await Deno.readTextFile(join(out, "SHA256SUMS"))).split("\n").map((line) =>
              line.slice(66)
            ),
            [
              "phoenix_hypervisor_setup_911.sh",
              "phoenix_hypervisor_setup_912.sh",
              "phoenix_hypervisor_setup_914.sh",
              "",
            ],
          );
        },
      );

      await t.step("--help shows the plan", async () => {
        const help = await runExecutable(
          join(out, "phoenix_hypervisor_setup_914.sh"),
          ["--help"],
          {},
        );
        assert.equal(help.code, 0);
        // Computed when the executable was built, from the same function `main` uses.
        const { targets } = await selectFromConfig(LATEST);
        const target = targets.find((each) => each.ctid === "914");
        assert.ok(target && "composition" in target);
        assert.equal(help.stdout, `${helpText(composedModule(target.composition))}\n`);
        assert.match(
          help.stdout,
          /Plan for container 914 \(standard\), in order:\n {2}1\. feature nvidia: .*\n {2}2\. feature ollama: .*\n {2}3\. application ollama-server: /,
        );
      });

      for (const ctid of ["914", "911"]) {
        await t.step(`${ctid}: a first run exits 0, a re-run changes nothing`, async (t) => {
          const sim = await simulatedContainer(
            simulationFor(latest.lxc_configs[ctid], latest.nvidia_driver_version),
          );
          await using s = await Scenario.create(
            ctid,
            {
              containers: { [ctid]: { status: "running", ...templateState("901") } },
              exec: sim.exec,
            },
            "{}",
            { ...host.env, PHOENIX_HOST_ROOT: host.root, LXC_CONFIG_FILE: LATEST },
          );
          const path = join(out, `phoenix_hypervisor_setup_${ctid}.sh`);
          const dry = await s.run(["--dry-run", ctid], { path });
          assert.equal(dry.code, 0, dry.stderr);
          assert.match(dry.stdout, /features nvidia, /);
          assert.deepEqual(await s.mutatingCalls(), []);
          await s.fake.clearCalls();
          const first = await s.run([ctid], { path });
          assert.equal(first.code, 0, first.stderr);
          assertSnapshot(t, callLines(await s.calls()));
          await s.fake.clearCalls();
          const rerun = await s.run([ctid], { path });
          assert.equal(rerun.code, 0, rerun.stderr);
          assert.deepEqual(await s.mutatingCalls(), []);
          const actions = (await s.calls()).filter((argv) =>
            argv[0] === "exec" && sim.isAction(argv.slice(argv.indexOf("--") + 1))
          );
          assert.deepEqual(actions, []);
          assertSnapshot(t, callLines(await s.calls()));
        });
      }

      await t.step(
        "an entry whose features changed since the build: exit 2, no pct call",
        async () => {
          const changed = structuredClone(latest);
          changed.lxc_configs["914"].features = ["nvidia", "ollama", "docker"];
          await using s = await Scenario.create(
            "914",
            { containers: { "914": { status: "running", ...templateState("901") } } },
            JSON.stringify(changed),
            { ...host.env, PHOENIX_HOST_ROOT: host.root },
          );
          const run = await s.run(["914"], { path: join(out, "phoenix_hypervisor_setup_914.sh") });
          assert.equal(run.code, 2, run.stderr);
          assert.match(
            run.stderr,
            /lxc_configs\["914"\]\.features: the entry lists the features \["nvidia","ollama","docker"\], but this module sets up \["nvidia","ollama"\]; the entry changed since this executable was built/,
          );
          assert.deepEqual(await s.calls(), []);
        },
      );
    } finally {
      await host.cleanup();
      await Deno.remove(out, { recursive: true });
    }
  },
});
