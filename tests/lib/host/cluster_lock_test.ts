import assert from "node:assert/strict";
import { join } from "node:path";
import { SetupError } from "../../../lib/core/errors.ts";
import { ExitCode } from "../../../lib/core/exit_codes.ts";
import { parseMembers } from "../../../lib/host/cluster.ts";
import { acquireClusterLock, clusterLockPath } from "../../../lib/host/cluster_lock.ts";
import { throwsWith } from "../../support/assertions.ts";
import { pathExists, withTempDir } from "../../support/temp_dir.ts";
import { deadPid } from "../../support/processes.ts";

function clusterOf(thisNode: string) {
  return parseMembers({
    nodename: thisNode,
    cluster: { name: "lab", nodes: 2, quorate: 1 },
    nodelist: { pve1: { id: 1, online: 1, ip: "192.0.2.11" }, pve2: { id: 2, online: 1 } },
  })!;
}

Deno.test("cluster lock: a directory under etc/pve/priv/lock with a note beside it, both gone on release", async () => {
  await withTempDir((root) => {
    const lock = acquireClusterLock(root, "920", clusterOf("pve1"));
    const path = clusterLockPath(root, "920");
    assert.equal(lock.path, path);
    assert.equal(path, join(root, "etc/pve/priv/lock/phoenix-setup-920"));
    assert.ok(Deno.statSync(path).isDirectory);
    assert.deepEqual(Deno.readDirSync(path).toArray(), [], "the lock directory stays empty");
    const note = JSON.parse(Deno.readTextFileSync(`${path}.holder`));
    assert.equal(note.node, "pve1");
    assert.equal(note.pid, Deno.pid);
    lock.release();
    lock.release();
    assert.equal(pathExists(path), false);
    assert.equal(pathExists(`${path}.holder`), false);
  });
});

Deno.test("cluster lock: a second run, on this node or another, is refused naming the node and pid (exit 7)", async () => {
  await withTempDir((root) => {
    const lock = acquireClusterLock(root, "920", clusterOf("pve1"));
    try {
      for (const node of ["pve1", "pve2"]) {
        const error = throwsWith(
          () => acquireClusterLock(root, "920", clusterOf(node)),
          SetupError,
        );
        assert.equal(error.exitCode, ExitCode.Locked);
        assert.match(
          error.message,
          new RegExp(
            `^Another setup run for container 920 is in progress on node 'pve1' \\(pid ${Deno.pid}, since \\d{4}-.*Z\\): the cluster-wide lock .*/etc/pve/priv/lock/phoenix-setup-920 is held\\. Wait for it to finish, then run again if needed\\. A lock left by a run that was killed expires 120 s after its last refresh$`,
          ),
        );
      }
      // Another container's lock is another lock.
      acquireClusterLock(root, "950", clusterOf("pve2")).release();
    } finally {
      lock.release();
    }
  });
});

Deno.test("cluster lock: a dead run's lock is taken over on its own node, never on another", async () => {
  await withTempDir(async (root) => {
    const dead = await deadPid();
    // What a killed run of pve1 leaves: the directory and its note.
    const path = clusterLockPath(root, "920");
    Deno.mkdirSync(path, { recursive: true });
    Deno.writeTextFileSync(
      `${path}.holder`,
      JSON.stringify({ node: "pve1", pid: dead, since: new Date().toISOString() }),
    );
    const error = throwsWith(() => acquireClusterLock(root, "920", clusterOf("pve2")), SetupError);
    assert.match(error.message, new RegExp(`on node 'pve1' \\(pid ${dead},`));
    const lock = acquireClusterLock(root, "920", clusterOf("pve1"));
    assert.equal(JSON.parse(Deno.readTextFileSync(`${lock.path}.holder`)).pid, Deno.pid);
    lock.release();
    assert.equal(pathExists(lock.path), false);
  });
});

Deno.test("cluster lock: refreshed while held (utime to now), as the cluster expires a lock after 120 s", async () => {
  await withTempDir(async (root) => {
    const lock = acquireClusterLock(root, "920", clusterOf("pve1"), { refreshIntervalMs: 20 });
    try {
      Deno.utimeSync(lock.path, 0, 1000);
      await new Promise((resolve) => setTimeout(resolve, 100));
      const mtime = Deno.statSync(lock.path).mtime!.getTime();
      assert.ok(Date.now() - mtime < 5000, `refreshed: ${new Date(mtime).toISOString()}`);
    } finally {
      lock.release();
    }
  });
});
