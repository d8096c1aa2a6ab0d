/**
 * The setup executables in a Proxmox cluster, on the simulated cluster of `harness.ts`: each node
 * its own namespace, sshd on its own loopback address, its own pct stand-in holding only its own
 * containers, and one shared `/etc/pve`. A run started on a node that does not own the container
 * runs on the owner over the cluster's SSH; one run per CTID in the whole cluster; an offline
 * owner, SSH refused, no quorum, a signal during a remote run, and an HA move each end in their
 * own words and exit code.
 */

import assert from "node:assert/strict";
import { SimulatedCluster } from "./harness.ts";
import { clusterWith900, CONFIG, EXECUTABLE } from "./_template_900.ts";

const unavailable = await SimulatedCluster.available();
const SNAPSHOT = "base-snapshot";

/** A tagged line of the run on `node`, as this node's console shows it. */
function tagged(node: string, text: string): RegExp {
  const escaped = text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(
    `^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d \\[\\w+\\] phoenix_hypervisor_setup_900\\.sh: \\[${node}\\] .*${escaped}`,
    "m",
  );
}

async function snapshotsOn(cluster: SimulatedCluster, node: string): Promise<string[]> {
  const state = await cluster.node(node).fake.state();
  return (state.containers["900"]?.snapshots ?? []).map((s) => s.name);
}

/** A run started on a node, watched as it prints. */
interface WatchedRun {
  /** What it has printed on stdout so far. */
  stdout(): string;
  readonly child: Deno.ChildProcess;
  /** Its exit code and whole output, once it has ended. */
  ended(): Promise<{ code: number; stdout: string; stderr: string }>;
}

/** Starts `argv` on `node` and resolves once its stdout matches `started` (2 min at most). */
async function startWatched(
  cluster: SimulatedCluster,
  node: string,
  argv: string[],
  started: RegExp,
): Promise<WatchedRun> {
  const child = cluster.spawn(node, argv);
  const decoder = new TextDecoder();
  let stdout = "";
  const reading = (async () => {
    for await (const chunk of child.stdout) stdout += decoder.decode(chunk, { stream: true });
  })();
  const stderr = new Response(child.stderr).text();
  const deadline = Date.now() + 120_000;
  while (!started.test(stdout) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    child,
    stdout: () => stdout,
    ended: async () => {
      const status = await child.status;
      await reading;
      return { code: status.code, stdout, stderr: await stderr };
    },
  };
}

const test = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name: `cluster: ${name}`, ignore: unavailable !== undefined, fn });

test("a run on a node that does not own the container runs on the owner over SSH, shown here line by line", async () => {
  await using cluster = await clusterWith900({ owner: "pve2", installedOn: ["pve1", "pve2"] });
  // Started as on a GPU host whose shell has the driver's libraries on LD_LIBRARY_PATH.
  const run = await cluster.exec("pve1", [EXECUTABLE, "900", "--report", "/root/report.json"], {
    env: { LD_LIBRARY_PATH: "/usr/local/nvidia/lib64" },
    timeoutMs: 180_000,
  });
  assert.equal(run.code, 0, run.stdout + run.stderr);
  // Neither the SSH session nor the run there passed it on to pve2's pct.
  const pctEnv = (await cluster.node("pve2").fake.processes()).flatMap((p) => p.env);
  assert.ok(pctEnv.includes("PATH"), "the fake recorded the environment of pve2's pct calls");
  assert.ok(!pctEnv.includes("LD_LIBRARY_PATH"), pctEnv.join(" "));
  assert.match(
    run.stdout,
    /Container 900 lives on cluster node 'pve2' \(\/etc\/pve\/\.vmlist\); running its setup there over the cluster's SSH \(root@127\.0\.0\.3\)\. Its lines follow, tagged \[pve2\]/,
  );
  assert.match(run.stdout, tagged("pve2", "Forwarded from cluster node 'pve1'"));
  assert.match(run.stdout, tagged("pve2", "Configuration: pve1:" + CONFIG));
  assert.match(
    run.stdout,
    tagged(
      "pve2",
      `Setup for template 900 completed successfully. Snapshot '${SNAPSHOT}' created.`,
    ),
  );
  assert.match(run.stdout, /The run on node 'pve2' ended with exit code 0 after [\d.]+ m?s$/m);
  assert.doesNotMatch(run.stdout, /this executable was sent/);
  // The work happened on pve2, through pve2's pct; pve1's pct was never called.
  assert.deepEqual(await snapshotsOn(cluster, "pve2"), [SNAPSHOT]);
  assert.deepEqual(await cluster.node("pve1").fake.calls(), []);
  assert.ok((await cluster.node("pve2").fake.calls()).some((c) => c[0] === "snapshot"));
  // This node's log file has the same lines; the report is the run there's, with its node.
  const logged = await cluster.readFile("pve1", "/var/log/phoenix_hypervisor.log");
  assert.match(logged, tagged("pve2", "Setup for template 900 completed successfully."));
  const report = JSON.parse(await cluster.readFile("pve1", "/root/report.json"));
  assert.equal(report.node, "pve2");
  assert.equal(report.startedOn, "pve1");
  assert.equal(report.outcome, "snapshot-created");
  assert.ok(report.pctCalls.length > 5);
  // The cluster-wide lock is gone; pve2 logged the run in its own log file too.
  assert.deepEqual(await cluster.readShared("priv/lock"), []);
  assert.match(
    await cluster.readFile("pve2", "/var/log/phoenix_hypervisor.log"),
    /Setup for template 900 completed successfully/,
  );
  // A re-run from another node: the run there finds the template complete.
  const again = await cluster.exec("pve1", [EXECUTABLE, "900"]);
  assert.equal(again.code, 0, again.stdout + again.stderr);
  assert.match(again.stdout, tagged("pve2", "Setup for template 900 already complete"));
});

test("an owner node without the executable is sent this one, which it removes after the run", async () => {
  await using cluster = await clusterWith900({ owner: "pve2", installedOn: ["pve1"] });
  const before =
    (await cluster.exec("pve2", ["sh", "-c", "ls -d /tmp/phoenix-setup.* 2>/dev/null | wc -l"]))
      .stdout.trim();
  const run = await cluster.exec("pve1", [EXECUTABLE, "900"], { timeoutMs: 180_000 });
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.match(
    run.stdout,
    /The run on node 'pve2' ended with exit code 0 after [\d.]+ m?s \(this executable was sent: the node had no identical one\)/,
  );
  assert.match(run.stdout, tagged("pve2", `Snapshot '${SNAPSHOT}' created.`));
  assert.deepEqual(await snapshotsOn(cluster, "pve2"), [SNAPSHOT]);
  const after =
    (await cluster.exec("pve2", ["sh", "-c", "ls -d /tmp/phoenix-setup.* 2>/dev/null | wc -l"]))
      .stdout.trim();
  assert.equal(after, before, "the sent executable is removed");
  // Nothing was installed on pve2.
  assert.notEqual((await cluster.exec("pve2", ["test", "-e", EXECUTABLE])).code, 0);
});

test("two runs for one CTID started on two nodes at once: exactly one runs, the other is refused naming the holder", async () => {
  await using cluster = await clusterWith900({
    owner: "pve2",
    installedOn: ["pve1", "pve2", "pve3"],
    latencyMs: 300,
  });
  const [a, b] = await Promise.all(
    ["pve1", "pve3"].map((node) => cluster.exec(node, [EXECUTABLE, "900"], { timeoutMs: 240_000 })),
  );
  const codes = [a.code, b.code].sort();
  assert.deepEqual(codes, [0, 7], a.stdout + a.stderr + b.stdout + b.stderr);
  const refused = a.code === 7 ? a : b;
  assert.match(
    refused.stderr,
    /Another setup run for container 900 is in progress on node 'pve[13]' \(pid \d+, since [^)]+\): the cluster-wide lock \/etc\/pve\/priv\/lock\/phoenix-setup-900 is held/,
  );
  assert.deepEqual(await snapshotsOn(cluster, "pve2"), [SNAPSHOT]);
  assert.equal(
    (await cluster.node("pve2").fake.calls()).filter((c) => c[0] === "snapshot").length,
    1,
    "one run took the snapshot",
  );
});

test("an offline owner node is named, with what to do (exit 15); nothing changes", async () => {
  await using cluster = await clusterWith900({ owner: "pve2", installedOn: ["pve1", "pve2"] });
  await cluster.setOnline("pve2", false);
  const run = await cluster.exec("pve1", [EXECUTABLE, "900"]);
  assert.equal(run.code, 15, run.stdout + run.stderr);
  assert.match(
    run.stderr,
    /Container 900 lives on cluster node 'pve2' \(\/etc\/pve\/\.vmlist\), and its setup can only run there, but that node is offline\. Nothing was changed\. Bring 'pve2' back \(see 'pvecm status'\), or move the container to an online node/,
  );
  assert.deepEqual(await cluster.readShared("priv/lock"), []);
  assert.deepEqual(await cluster.node("pve2").fake.calls(), []);
});

test("SSH refused by the owner node (its host key unknown) is named, with the command to check (exit 15)", async () => {
  await using cluster = await clusterWith900({ owner: "pve2", installedOn: ["pve1", "pve2"] });
  const known = await cluster.readShared("priv/known_hosts") as string;
  await Deno.writeTextFile(
    cluster.sharedPath("priv/known_hosts"),
    known.split("\n").filter((line) => !/^(pve2|127\.0\.0\.3)[ ,]/.test(line)).join("\n"),
  );
  const run = await cluster.exec("pve1", [EXECUTABLE, "900"]);
  assert.equal(run.code, 15, run.stdout + run.stderr);
  assert.match(
    run.stderr,
    /Cannot reach cluster node 'pve2' \(127\.0\.0\.3\), where container 900 lives, over the cluster's SSH: ssh said: .*Host key verification failed\..* Nothing was changed\. .*'ssh -o BatchMode=yes -o HostKeyAlias=pve2 root@127\.0\.0\.3 true'/s,
  );
  assert.deepEqual(
    await cluster.readShared("priv/lock"),
    [],
    "the lock taken before SSH is released",
  );
  assert.deepEqual(await cluster.node("pve2").fake.calls(), []);
});

test("a node without quorum (read-only /etc/pve) refuses to change anything (exit 16); a dry run still reports", async () => {
  await using cluster = await clusterWith900({ owner: "pve1", installedOn: ["pve1"] });
  await cluster.setQuorate("pve1", false);
  const run = await cluster.exec("pve1", [EXECUTABLE, "900"]);
  assert.equal(run.code, 16, run.stdout + run.stderr);
  assert.match(
    run.stderr,
    /This node \('pve1'\) has no quorum in cluster 'testcluster' \(\/etc\/pve\/\.members says quorate: 0\): the cluster file system \/etc\/pve is read-only here, so Proxmox can change no guest and no run can be locked\. Nothing was changed\. See 'pvecm status'/,
  );
  assert.deepEqual(await cluster.node("pve1").fake.calls(), []);
  const dry = await cluster.exec("pve1", [EXECUTABLE, "900", "--dry-run"]);
  assert.equal(dry.code, 0, dry.stdout + dry.stderr);
  assert.match(dry.stdout, /Dry run for template 900 finished: nothing was changed\./);
});

test("SIGTERM here during the run there stops it there, which cleans up: the container runs again, no snapshot", async () => {
  await using cluster = await clusterWith900({
    owner: "pve2",
    installedOn: ["pve1", "pve2"],
    latencyMs: 700,
  });
  // Wait until the run there is inside its steps.
  const run = await startWatched(cluster, "pve1", [EXECUTABLE, "900"], /\[pve2\] .*Step 1\//);
  assert.match(run.stdout(), /\[pve2\] /, "the run there started");
  run.child.kill("SIGTERM");
  const { code, stdout, stderr } = await run.ended();
  assert.equal(code, 143, stdout + stderr);
  assert.match(stderr, /Received SIGTERM; stopping the setup of container 900 \(exit code 143\)/);
  assert.match(
    stdout + stderr,
    /\[pve2\] Node 'pve1', which forwarded this run here, stopped it \(a signal or its watchdog there, or the connection ended\); stopping the setup of container 900 \(exit code 143\)/,
  );
  const state = (await cluster.node("pve2").fake.state()).containers["900"];
  assert.equal(state.status, "running", "the container runs, as it did before");
  assert.deepEqual(state.snapshots.map((s) => s.name), []);
  assert.deepEqual(await cluster.readShared("priv/lock"), []);
});

test("a container moved by HA during a run stops the run with the node it is on now (exit 17)", async () => {
  await using cluster = await clusterWith900({
    owner: "pve2",
    installedOn: ["pve2"],
    latencyMs: 700,
  });
  const run = await startWatched(cluster, "pve2", [EXECUTABLE, "900"], /Step 1\//);
  await cluster.moveContainer("900", "pve2", "pve3");
  const { code, stdout, stderr } = await run.ended();
  assert.equal(code, 17, stdout + stderr);
  assert.match(
    stderr,
    /Container 900 moved to cluster node 'pve3' during this run \(\/etc\/pve\/\.vmlist says so; HA or a migration moved it off 'pve2'\): this run stopped, as pct here can no longer reach it\. .*Run this again on any node: it runs where the container is now/,
  );
  assert.deepEqual(await cluster.readShared("priv/lock"), []);
});

test("the watchdog here stops the run there too: exit 9, the container running as found, no snapshot", async () => {
  await using cluster = await clusterWith900({
    owner: "pve2",
    installedOn: ["pve1", "pve2"],
    latencyMs: 700,
  });
  const run = await cluster.exec("pve1", [EXECUTABLE, "900"], {
    env: { PHOENIX_RUN_TIMEOUT: "4" },
    timeoutMs: 120_000,
  });
  assert.equal(run.code, 9, run.stdout + run.stderr);
  assert.match(
    run.stderr,
    /The run has taken longer than PHOENIX_RUN_TIMEOUT \(4\.0 s\); stopping it/,
  );
  assert.match(run.stdout + run.stderr, /\[pve2\] /);
  const state = (await cluster.node("pve2").fake.state()).containers["900"];
  assert.equal(state.status, "running");
  assert.deepEqual(state.snapshots.map((s) => s.name), []);
  assert.deepEqual(await cluster.readShared("priv/lock"), []);
});

test("--dry-run and --check started on another node run there and change nothing; their exit codes come back", async () => {
  await using cluster = await clusterWith900({ owner: "pve2", installedOn: ["pve1", "pve2"] });
  const dry = await cluster.exec("pve1", [EXECUTABLE, "900", "--dry-run"]);
  assert.equal(dry.code, 0, dry.stdout + dry.stderr);
  assert.match(
    dry.stdout,
    tagged("pve2", "Dry run for template 900 finished: nothing was changed."),
  );
  const check = await cluster.exec("pve1", [EXECUTABLE, "900", "--check"]);
  assert.equal(check.code, 12, check.stdout + check.stderr);
  assert.match(check.stdout + check.stderr, tagged("pve2", "Check of template 900:"));
  assert.deepEqual(await snapshotsOn(cluster, "pve2"), []);
  const mutating = (await cluster.node("pve2").fake.calls()).filter((c) =>
    ["start", "shutdown", "snapshot", "set", "push"].includes(c[0])
  );
  assert.deepEqual(mutating, []);
  // Read-only runs take no lock.
  assert.deepEqual(await cluster.readShared("priv/lock"), []);
});
