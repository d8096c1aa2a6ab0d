import assert from "node:assert/strict";
import { join } from "node:path";
import { SetupError } from "../../../lib/core/errors.ts";
import { ConfigError } from "../../../lib/core/errors.ts";
import { ExitCode } from "../../../lib/core/exit_codes.ts";
import { clusterPlaceOf, movedAway } from "../../../lib/pattern/cluster_place.ts";
import { forwardedEnvironment, forwardRun } from "../../../lib/pattern/forward_run.ts";
import type { CommandRunner } from "../../../lib/core/command_text.ts";
import { rejectsWith, throwsWith } from "../../support/assertions.ts";
import { RecordingLog } from "../../support/recording_log.ts";
import { withTempDir } from "../../support/temp_dir.ts";

/** A host root with `.members` as pmxcfs writes it on `thisNode` and `.vmlist` giving 920 to `owner`. */
async function clusterRoot(
  root: string,
  options: { thisNode?: string; owner?: string; quorate?: 0 | 1; pve2?: object } = {},
): Promise<string> {
  await Deno.mkdir(join(root, "etc/pve"), { recursive: true });
  await Deno.writeTextFile(
    join(root, "etc/pve/.members"),
    JSON.stringify({
      nodename: options.thisNode ?? "pve1",
      version: 4,
      cluster: { name: "lab", version: 2, nodes: 2, quorate: options.quorate ?? 1 },
      nodelist: {
        pve1: { id: 1, online: 1, ip: "192.0.2.11" },
        pve2: options.pve2 ?? { id: 2, online: 1, ip: "192.0.2.12" },
      },
    }),
  );
  await Deno.writeTextFile(
    join(root, "etc/pve/.vmlist"),
    JSON.stringify({ version: 3, ids: { "920": { node: options.owner ?? "pve2", type: "lxc" } } }),
  );
  return root;
}

const ask = (hostRoot: string, extra: { readOnly?: boolean; forwardedFrom?: string } = {}) =>
  clusterPlaceOf({ hostRoot, ctid: "920", readOnly: extra.readOnly ?? false, ...extra });

Deno.test("clusterPlaceOf: a single host, the owner node, and another node with its address", async () => {
  await withTempDir(async (root) => {
    assert.deepEqual(await ask(root), { kind: "single" });
    await clusterRoot(root, { owner: "pve1" });
    assert.equal((await ask(root)).kind, "here");
    await clusterRoot(root, { owner: "pve2" });
    const place = await ask(root);
    assert.equal(place.kind, "elsewhere");
    assert.deepEqual(place.kind === "elsewhere" && place.owner, {
      name: "pve2",
      ip: "192.0.2.12",
      online: true,
    });
    // A CTID the cluster does not know is left to pct, here.
    assert.equal(
      (await clusterPlaceOf({ hostRoot: root, ctid: "950", readOnly: false })).kind,
      "here",
    );
  });
});

Deno.test("clusterPlaceOf: an offline owner, one missing from .members or without an address, is unreachable (exit 15)", async () => {
  await withTempDir(async (root) => {
    for (
      const [pve2, why] of [
        [
          { id: 2, online: 0, ip: "192.0.2.12" },
          "is offline. Nothing was changed. Bring 'pve2' back",
        ],
        [{ id: 2, online: 1 }, "has no address in /etc/pve/.members"],
      ] as const
    ) {
      await clusterRoot(root, { pve2 });
      const error = await rejectsWith(ask(root), SetupError);
      assert.equal(error.exitCode, ExitCode.OwnerUnreachable);
      assert.ok(error.message.includes(why), error.message);
      assert.match(
        error.message,
        /^Container 920 lives on cluster node 'pve2' \(\/etc\/pve\/\.vmlist\), and its setup can only run there, but that node /,
      );
    }
  });
});

Deno.test("clusterPlaceOf: no quorum refuses a run that changes things (exit 16), not a dry run", async () => {
  await withTempDir(async (root) => {
    await clusterRoot(root, { owner: "pve1", quorate: 0 });
    const error = await rejectsWith(ask(root), SetupError);
    assert.equal(error.exitCode, ExitCode.NoQuorum);
    assert.match(
      error.message,
      /^This node \('pve1'\) has no quorum in cluster 'lab' \(\/etc\/pve\/\.members says quorate: 0\)/,
    );
    assert.equal((await ask(root, { readOnly: true })).kind, "here");
  });
});

Deno.test("clusterPlaceOf and movedAway: a container that left this node is a move (exit 17), never forwarded twice", async () => {
  await withTempDir(async (root) => {
    await clusterRoot(root, { thisNode: "pve1", owner: "pve2" });
    const error = await rejectsWith(ask(root, { forwardedFrom: "pve3" }), SetupError);
    assert.equal(error.exitCode, ExitCode.ContainerMoved);
    assert.match(error.message, /^Container 920 moved to cluster node 'pve2' during this run/);
    await clusterRoot(root, { thisNode: "pve1", owner: "pve1" });
    const place = await ask(root);
    assert.equal(await movedAway(place, root, "920"), undefined);
    await clusterRoot(root, { thisNode: "pve1", owner: "pve2" });
    assert.equal((await movedAway(place, root, "920"))?.exitCode, ExitCode.ContainerMoved);
    assert.equal(await movedAway({ kind: "single" }, root, "920"), undefined);
  });
});

Deno.test("forwardedEnvironment: the run's settings, not this node's paths; HF_TOKEN_FILE's token as HF_TOKEN", async () => {
  await withTempDir(async (dir) => {
    const tokenFile = join(dir, "token");
    await Deno.writeTextFile(tokenFile, "hf_fromthefile123\n");
    const env = {
      PHOENIX_DEBUG: "true",
      PHOENIX_DRY_RUN: "1",
      PHOENIX_RUN_TIMEOUT: "600",
      PHOENIX_SHUTDOWN_TIMEOUT: "90",
      LXC_CONFIG_FILE: "/etc/here.json",
      MAIN_LOG_FILE: "/var/log/here.log",
      PHOENIX_LOCK_DIR: "/run/here",
      PHOENIX_HOST_ROOT: "/",
      PHOENIX_REPORT_FILE: "/tmp/r.json",
      HF_TOKEN_FILE: tokenFile,
      LD_LIBRARY_PATH: "/usr/local/nvidia/lib64",
      PATH: "/usr/bin",
    };
    assert.deepEqual(forwardedEnvironment(env), {
      PHOENIX_DEBUG: "true",
      PHOENIX_DRY_RUN: "1",
      PHOENIX_RUN_TIMEOUT: "600",
      PHOENIX_SHUTDOWN_TIMEOUT: "90",
      HF_TOKEN: "hf_fromthefile123",
    });
    const both = forwardedEnvironment({ HF_TOKEN: "hf_direct12345", HF_TOKEN_FILE: tokenFile });
    assert.deepEqual(both, { HF_TOKEN: "hf_direct12345", HF_TOKEN_FILE: tokenFile });
    const error = throwsWith(
      () => forwardedEnvironment({ HF_TOKEN_FILE: join(dir, "missing") }),
      ConfigError,
    );
    assert.match(
      error.message,
      /^Cannot read the Hugging Face token from the file named by HF_TOKEN_FILE: /,
    );
    assert.ok(!error.message.includes(dir), "the path is not quoted");
  });
});

Deno.test("forwardRun: SSH that never reaches the node is exit 15 with ssh's words; a run there without its report is said so", async () => {
  await withTempDir(async (dir) => {
    await clusterRoot(dir);
    const place = await ask(dir);
    assert.equal(place.kind, "elsewhere");
    if (place.kind !== "elsewhere") return;
    const executable = join(dir, "exe");
    await Deno.writeTextFile(executable, "#!/bin/sh\n");
    const options = (run: CommandRunner) => ({
      ctid: "920",
      place,
      run,
      log: new RecordingLog(),
      executablePath: executable,
      executableName: "phoenix_hypervisor_setup_920.sh",
      mode: { dryRun: false, check: false, refresh: false },
      env: {},
      config: { file: "/etc/c.json", text: "{}" },
      settings: { hostRoot: dir, runTimeoutSeconds: 60, shutdownTimeoutSeconds: 10 },
    });
    const refused: CommandRunner = (argv) =>
      Promise.resolve({
        argv,
        exitCode: 255,
        stdout: "",
        stderr: "ssh: connect to host 192.0.2.12 port 22: Connection refused\n",
        durationMs: 3,
      });
    const error = await rejectsWith(forwardRun(options(refused)), SetupError);
    assert.equal(error.exitCode, ExitCode.OwnerUnreachable);
    assert.match(
      error.message,
      /^Cannot reach cluster node 'pve2' \(192\.0\.2\.12\), where container 920 lives, over the cluster's SSH: ssh said: ssh: connect to host 192\.0\.2\.12 port 22: Connection refused\. Nothing was changed\./,
    );
    // The script there answered, then the session was cut: the connection was lost.
    const cut: CommandRunner = async (argv, runOptions) => {
      runOptions?.onOutput?.("stdout", `phoenix-setup-remote sha256=${"0".repeat(64)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
      return { argv, exitCode: 255, stdout: "", stderr: "Broken pipe\n", durationMs: 50 };
    };
    const lost = await rejectsWith(forwardRun(options(cut)), SetupError);
    assert.equal(lost.exitCode, ExitCode.OwnerUnreachable);
    assert.match(
      lost.message,
      /^The connection to cluster node 'pve2' was lost during the run there/,
    );
  });
});
