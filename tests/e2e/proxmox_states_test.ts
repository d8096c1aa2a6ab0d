/**
 * The states a real Proxmox host adds (`../shared/docs/pct.md`, "States a real host adds"),
 * each driven through the compiled executables against the fake pct in that state: a Proxmox
 * lock, pct's configuration-file lock timing out, a Proxmox template, a half-made snapshot
 * (repaired, or refused when that is not safe), HA-managed start and shutdown requests, a
 * shutdown that times out and happens anyway, and a container on another cluster node. Each
 * asserts the exit code, the words, the exact pct calls and the state left, dry runs included.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { callSummary } from "../fake_pct/calls.ts";
import type { FailureRule, FakeContainerInput } from "../fake_pct/fake_pct.ts";
import { ContainerScenario, finishedFlags } from "../containers/_harness.ts";
import { assertExit } from "../support/assertions.ts";
import { Scenario } from "./_scenario.ts";
import module920 from "../../containers/920.ts";
import { currentStamp, stampLine } from "../../lib/pattern/provenance.ts";

const SNAPSHOT = "vllm-base-snapshot";
/** The stamp 920's snapshot carries (see tests/e2e/provenance_test.ts). */
const STAMP_920 = stampLine(currentStamp(module920, { vllm: {} }));
/** A snapshot time long past: whatever left it half-made has ended. */
const LONG_AGO = "2026-01-02 03:04:05";

/** Template 920, cloned from 901 (a first run) or from a finished 920 (`finished`). */
function template920(
  options: {
    status?: "running" | "stopped";
    container?: Partial<FakeContainerInput>;
    failures?: FailureRule[];
    finished?: boolean;
  } = {},
): Promise<ContainerScenario> {
  return ContainerScenario.of({
    ctid: "920",
    status: options.status,
    clonedFrom: options.finished ? "920" : undefined,
    container: { name: "BaseTemplateVLLM", ...options.container },
    failures: options.failures,
  });
}

/** The fake's 920 now. */
async function container920(s: Scenario) {
  return (await s.fake.state()).containers["920"];
}

// --- a Proxmox lock ------------------------------------------------------------------------------

Deno.test("proxmox: a template locked by a backup is refused before the first change (exit 13), dry run too", async () => {
  await using s = await template920({ container: { lock: "backup" } });
  for (const args of [["920"], ["920", "--dry-run"]]) {
    const run = await s.run(args);
    assertExit(run, 13);
    assert.match(
      run.stderr,
      /Container 920 is locked by Proxmox \(lock: backup\): a backup \(vzdump\) of it is running; wait for the backup to finish, then run this again\. Nothing was changed\. 'pct config 920' shows the lock while it is held; if no such operation runs any more \(see the node's task list\), 'pct unlock 920' clears it/,
    );
  }
  // The lock is read in the call the run makes anyway: 2 calls, as in a re-run.
  assert.deepEqual(callSummary(await s.calls()), [
    "status 920 --verbose",
    "listsnapshot 920",
    "status 920 --verbose",
    "listsnapshot 920",
  ]);
  assert.deepEqual(await s.mutatingCalls(), []);
  assert.equal((await container920(s)).lock, "backup");
});

Deno.test("proxmox: a standard container being migrated is refused at once (exit 13)", async () => {
  await using s = await ContainerScenario.of({
    ctid: "950",
    container: { lock: "migrate" },
    simulation: { servedModels: ["Qwen/Qwen2.5-Coder-7B-Instruct-AWQ"] },
  });
  const run = await s.run();
  assertExit(run, 13);
  assert.match(
    run.stderr,
    /Container 950 is locked by Proxmox \(lock: migrate\): it is being migrated to another node; wait for the migration to finish/,
  );
  assert.deepEqual(callSummary(await s.calls()), ["status 950 --verbose"]);
});

Deno.test("proxmox: a complete template that is running needs nothing, whatever lock it holds", async () => {
  await using s = await template920({
    finished: true,
    container: { lock: "backup", snapshots: [{ name: SNAPSHOT, time: LONG_AGO }] },
  });
  const run = await s.run();
  assertExit(run, 0);
  assert.deepEqual(callSummary(await s.calls()), ["status 920 --verbose", "listsnapshot 920"]);
});

Deno.test("proxmox: a lock met by the shutdown is said in its own words (exit 13), template left running", async () => {
  await using s = await template920({
    failures: [{ command: "shutdown", stderr: "CT is locked (backup)" }],
  });
  const run = await s.run();
  assertExit(run, 13);
  assert.match(
    run.stderr,
    /Cannot shut container 920 down: Container 920 is locked by Proxmox \(lock: backup\): a backup \(vzdump\) of it is running; wait for the backup to finish, then run this again/,
  );
  assert.doesNotMatch(run.stderr, /did not shut down within/);
  const after = await container920(s);
  assert.equal(after.status, "running");
  assert.deepEqual(after.snapshots, []);
});

Deno.test("proxmox: pct's configuration lock timing out at a start is said in its own words (exit 13)", async () => {
  await using s = await template920({
    status: "stopped",
    failures: [{
      command: "start",
      stderr: "can't lock file '/run/lock/lxc/pve-config-920.lock' - got timeout",
    }],
  });
  const run = await s.run();
  assertExit(run, 13);
  assert.match(
    run.stderr,
    /Cannot start container 920: another Proxmox operation on container 920 held its configuration lock \(\/run\/lock\/lxc\/pve-config-920\.lock\) for over 10 s\. Wait for it to finish \(see the node's task list\), then run this again/,
  );
  assert.equal((await container920(s)).status, "stopped");
});

// --- a Proxmox template ------------------------------------------------------------------------

Deno.test("proxmox: a container converted to a Proxmox template is refused (exit 14), dry run too", async () => {
  await using s = await template920({ status: "stopped", container: { template: true } });
  for (const args of [["920"], ["920", "--dry-run"]]) {
    const run = await s.run(args);
    assertExit(run, 14);
    assert.match(
      run.stderr,
      /Container 920 is a Proxmox template \(template: 1, made by 'pct template'\): it cannot be started or snapshotted, so it cannot be set up\. Nothing was changed\. Set up a normal container instead: clone one from it \('pct clone 920 <new CTID>'\) or recreate it/,
    );
  }
  assert.deepEqual(callSummary(await s.calls()), ["status 920 --verbose", "status 920 --verbose"]);
});

// --- a half-made snapshot ------------------------------------------------------------------------

/** A 920 whose last run was killed inside `pct snapshot`: stopped, locked, snapstate prepare. */
function halfMade(time: string, status: "running" | "stopped" = "stopped") {
  return template920({
    status,
    finished: true,
    container: {
      lock: "snapshot",
      snapshots: [{ name: SNAPSHOT, time, snapstate: "prepare" }],
    },
  });
}

Deno.test("proxmox: a half-made snapshot is repaired (unlock, delsnapshot --force) and taken anew", async () => {
  await using s = await halfMade(LONG_AGO);
  const run = await s.run();
  assertExit(run, 0);
  assert.match(
    run.stderr,
    /Found the snapshot 'vllm-base-snapshot' of container 920 is half-made \(snapstate: prepare, lock: snapshot, begun \d+ s ago\): a 'pct snapshot' ended between its two phases, so it is no finished template\. Repairing it: 'pct unlock 920', 'pct delsnapshot 920 vllm-base-snapshot --force', then the template setup, which takes the snapshot anew/,
  );
  assert.match(run.stdout, /Snapshot 'vllm-base-snapshot' created\./);
  const calls = callSummary(await s.calls());
  // One call more than a first run: pct config --snapshot, made only because of the lock.
  assert.deepEqual(calls.slice(0, 7), [
    "status 920 --verbose",
    "listsnapshot 920",
    `config 920 --snapshot ${SNAPSHOT}`,
    "unlock 920",
    `delsnapshot 920 ${SNAPSHOT} --force 1`,
    "start 920",
    "status 920",
  ]);
  assert.deepEqual(calls.slice(-5), [
    "shutdown 920 --timeout 60",
    "status 920",
    `snapshot 920 ${SNAPSHOT} --description ${STAMP_920}`,
    "start 920",
    "status 920",
  ]);
  const after = await container920(s);
  assert.equal(after.lock, undefined);
  assert.equal(after.status, "running");
  assert.deepEqual(after.snapshots.map((x) => [x.name, x.snapstate]), [[SNAPSHOT, undefined]]);
  assert.deepEqual(after.snapshots[0].flags?.sort(), finishedFlags("920"));
});

Deno.test("proxmox: a dry run says it would repair a half-made snapshot, and changes nothing", async () => {
  await using s = await halfMade(LONG_AGO);
  const run = await s.run(["920", "--dry-run"]);
  assertExit(run, 0);
  assert.match(
    run.stdout + run.stderr,
    /\[dry-run\] Found the snapshot 'vllm-base-snapshot' of container 920 is half-made .*Would repair it: 'pct unlock 920', 'pct delsnapshot 920 vllm-base-snapshot --force', then the template setup/,
  );
  assert.match(run.stdout + run.stderr, /\[dry-run\] Would start container 920 \(stopped now\)/);
  assert.deepEqual(callSummary(await s.calls()), [
    "status 920 --verbose",
    "listsnapshot 920",
    `config 920 --snapshot ${SNAPSHOT}`,
  ]);
  const after = await container920(s);
  assert.equal(after.lock, "snapshot");
  assert.equal(after.snapshots[0].snapstate, "prepare");
});

Deno.test("proxmox: a half-made snapshot begun moments ago is not repaired: exit 13 with the commands", async () => {
  const now = new Date();
  const two = (n: number) => String(n).padStart(2, "0");
  const time = `${now.getFullYear()}-${two(now.getMonth() + 1)}-${two(now.getDate())} ` +
    `${two(now.getHours())}:${two(now.getMinutes())}:${two(now.getSeconds())}`;
  await using s = await halfMade(time);
  for (const args of [["920"], ["920", "--dry-run"]]) {
    const run = await s.run(args);
    assertExit(run, 13);
    assert.match(
      run.stderr,
      /Not repairing it: it was begun less than 600 s ago, so a 'pct snapshot' may still be at work: wait for it\. Nothing was changed\. When no snapshot operation on 920 runs \(see the node's task list\), repair it by hand: 'pct unlock 920', then 'pct delsnapshot 920 vllm-base-snapshot --force', then run this again/,
    );
  }
  assert.deepEqual(await s.mutatingCalls(), []);
  assert.equal((await container920(s)).lock, "snapshot");
});

Deno.test("proxmox: a half-made snapshot of a running container is someone else's: exit 14", async () => {
  await using s = await halfMade(LONG_AGO, "running");
  const run = await s.run();
  assertExit(run, 14);
  assert.match(
    run.stderr,
    /Not repairing it: the container is running, and this setup only snapshots stopped containers/,
  );
  assert.deepEqual(await s.mutatingCalls(), []);
});

Deno.test("proxmox: a snapshot lock while this run's snapshot is complete refuses to start the stopped template", async () => {
  await using s = await template920({
    status: "stopped",
    finished: true,
    container: { lock: "snapshot", snapshots: [{ name: SNAPSHOT, time: LONG_AGO }] },
  });
  const run = await s.run();
  assertExit(run, 13);
  assert.match(run.stderr, /Container 920 is locked by Proxmox \(lock: snapshot\)/);
  assert.deepEqual(callSummary(await s.calls()), [
    "status 920 --verbose",
    "listsnapshot 920",
    `config 920 --snapshot ${SNAPSHOT}`,
  ]);
});

// --- lifecycle changes confirmed by state -------------------------------------------------------

Deno.test("proxmox: an HA-managed shutdown (a request, exit 0 at once) is waited for, then snapshotted", async () => {
  await using s = await template920({
    failures: [
      // pct queues the request and exits 0; the HA manager stops it a moment later: the run's first
      // look (true then) and the first two looks after the shutdown still see it running.
      {
        command: "shutdown",
        exit: 0,
        stderr: "",
        stdout: "Requesting HA stop for CT 920\n",
        effect: "apply",
        times: 1,
      },
      { command: "status", exit: 0, stderr: "", stdout: "status: running\n", times: 3 },
    ],
  });
  const run = await s.run();
  assertExit(run, 0);
  assert.match(
    run.stdout,
    /Waiting for container 920 to report 'stopped': attempt 2: 'running'/,
  );
  assert.doesNotMatch(run.stderr, /after its shutdown/);
  const after = await container920(s);
  assert.equal(after.status, "running");
  assert.deepEqual(after.snapshots.map((x) => x.name), [SNAPSHOT]);
});

Deno.test("proxmox: a shutdown that timed out but happened anyway is looked at again, and the run goes on", async () => {
  await using s = await template920({
    failures: [
      { command: "shutdown", stderr: "container did not stop", effect: "apply", times: 1 },
      // The run's first look (true then), and the first look after pct gave up: still running.
      { command: "status", exit: 0, stderr: "", stdout: "status: running\n", times: 2 },
    ],
  });
  const run = await s.run();
  assertExit(run, 0);
  assert.match(
    run.stderr,
    /pct shutdown of container 920 gave up after 60 s; the clean shutdown it asked for still stands, so looking again for up to 30 s before deciding/,
  );
  assert.match(
    run.stdout,
    /Waiting for container 920 to report 'stopped' after all: attempt 1: 'running'/,
  );
  assert.match(run.stdout, /Container 920 went down after its shutdown timed out; going on/);
  assert.deepEqual((await container920(s)).snapshots.map((x) => x.name), [SNAPSHOT]);
});

// --- another cluster node ------------------------------------------------------------------------

Deno.test("proxmox: a container on another cluster node names that node and the command to run there (exit 14)", async () => {
  const root = await Deno.makeTempDir({ prefix: "phoenix-pve-root-" });
  try {
    await Deno.mkdir(join(root, "etc/pve"), { recursive: true });
    await Deno.writeTextFile(
      join(root, "etc/pve/.vmlist"),
      JSON.stringify({ version: 9, ids: { "920": { node: "pve2", type: "lxc", version: 4 } } }),
    );
    await using s = await Scenario.create(
      "920",
      { node: "pve1", containers: {} },
      `{ "lxc_configs": { "920": { "name": "BaseTemplateVLLM", "is_template": true,
         "clone_from_ctid": "901", "template_snapshot_name": "${SNAPSHOT}" } } }`,
      { PHOENIX_HOST_ROOT: root },
    );
    const run = await s.run();
    assertExit(run, 14);
    assert.match(
      run.stderr,
      /Container 920 lives on cluster node 'pve2', not on this node \('pve1'\): pct only works on the node that owns a guest \(.*\/etc\/pve\/\.vmlist says so; pct said: Configuration file 'nodes\/pve1\/lxc\/920\.conf' does not exist\)\. Nothing was changed\. Run it there: ssh root@pve2 phoenix_hypervisor_setup_920\.sh 920/,
    );
    assert.deepEqual(callSummary(await s.calls()), ["status 920 --verbose"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("proxmox: an HA-managed start (a request, exit 0 at once) is waited for before the steps", async () => {
  await using s = await template920({
    status: "stopped",
    failures: [
      { command: "start", exit: 0, stderr: "", effect: "apply", times: 1 },
      // The rule answers the run's first look (`status --verbose`: stopped, which is true) and
      // the first look after the start, before the HA manager has acted.
      { command: "status", exit: 0, stderr: "", stdout: "status: stopped\n", times: 2 },
    ],
  });
  const run = await s.run();
  assertExit(run, 0);
  assert.match(
    run.stdout,
    /Waiting for container 920 to report 'running': attempt 1: 'stopped'/,
  );
  const calls = callSummary(await s.calls());
  assert.deepEqual(calls.slice(0, 5), [
    "status 920 --verbose",
    "listsnapshot 920",
    "start 920",
    "status 920",
    "status 920",
  ]);
  assert.equal((await container920(s)).status, "running");
});

// --- pending configuration -----------------------------------------------------------------------

Deno.test("proxmox: a template whose nesting=1 is only pending is restarted so that it takes effect", async () => {
  // `pct set 902 --features nesting=1` while it ran: pct config shows it, --current does not.
  await using s = await ContainerScenario.of({
    ctid: "902",
    container: {
      config: { features: "keyctl=1" },
      pending: { features: "keyctl=1,nesting=1" },
    },
  });
  const run = await s.run();
  assertExit(run, 0);
  assert.match(
    run.stderr,
    /Container 902 has nesting=1 only as a pending change \(set while it ran\): restarting the template so that it takes effect, then checking the steps again/,
  );
  const lines = callSummary(await s.calls());
  const restart = lines.indexOf("config 902");
  assert.ok(restart > 0, lines.join("\n"));
  // The configuration in effect lacks it, the one with pending values has it: restart, confirmed.
  assert.deepEqual(lines.slice(restart - 1, restart + 5), [
    "config 902 --current 1",
    "config 902",
    "shutdown 902 --timeout 60",
    "status 902",
    "start 902",
    "status 902",
  ]);
  assert.ok(lines.slice(restart + 5).includes("config 902 --current 1"), "read again");
  const after = (await s.fake.state()).containers["902"];
  assert.equal(after.config.features, "keyctl=1,nesting=1");
  assert.equal(after.pending, undefined);
  assert.deepEqual(after.snapshots.map((x) => x.name), ["docker-snapshot"]);
  assert.equal(after.status, "running");
});

Deno.test("proxmox: a standard container whose nesting=1 is only pending is told to restart, and nothing changes", async () => {
  // 910 runs its Portainer service: it is not restarted behind the user's back.
  await using s = await ContainerScenario.of({
    ctid: "910",
    container: {
      config: { features: "keyctl=1" },
      pending: { features: "keyctl=1,nesting=1" },
    },
  });
  const run = await s.run();
  assertExit(run, 8);
  assert.match(
    run.stderr,
    /Container 910 has nesting=1 only as a pending change \(its features in effect are "keyctl=1"\): .*restart the container \('pct shutdown 910', then 'pct start 910'\), then run this again/,
  );
  assert.deepEqual(await s.mutatingCalls(), []);
  const after = (await s.fake.state()).containers["910"];
  assert.equal(after.status, "running");
  assert.equal(after.pending?.features, "keyctl=1,nesting=1", "still pending, as found");
});
