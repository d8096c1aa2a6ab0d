/**
 * The simulated Proxmox cluster behaves as the tests built on it expect: Proxmox's own ssh
 * command reaches another node, `/etc/pve` is shared but `.members` is per node, each node's
 * `pct` holds only its containers, and offline nodes, lost quorum and HA moves look as on PVE.
 * Ignored (with the reason) where the cluster cannot run: not root, no sshd or overlayfs.
 *
 * @module
 */

import assert from "node:assert/strict";
import { SimulatedCluster } from "./harness.ts";
import { commandLineOf } from "./_namespace.ts";

const reason = await SimulatedCluster.available();
if (reason !== undefined) console.warn(`cluster: tests ignored: ${reason}`);

const CONTAINER_920 = { status: "running", name: "BaseTemplateVLLM" } as const;

function clusterTest(name: string, fn: () => Promise<void>): void {
  Deno.test({ name: `cluster: ${name}`, ignore: reason !== undefined, fn });
}

/** The pids whose command line or mounts mention `text`. */
async function processesMentioning(text: string): Promise<{ pids: number[]; mounts: number[] }> {
  const pids: number[] = [];
  const mounts: number[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const pid = Number(entry.name);
    if (pid === Deno.pid) continue;
    if ((await commandLineOf(pid)).includes(text)) pids.push(pid);
    const mountinfo = await Deno.readTextFile(`/proc/${pid}/mountinfo`).catch(() => "");
    if (mountinfo.includes(text)) mounts.push(pid);
  }
  return { pids, mounts };
}

clusterTest(
  "Proxmox's ssh from pve1 reaches pve2, which has its own .members, hostname and /usr/local",
  async () => {
    await using cluster = await SimulatedCluster.start({ nodes: ["pve1", "pve2"] });
    const members = await cluster.exec(
      "pve1",
      cluster.sshArgv("pve2", "cat /etc/pve/.members; echo ---; hostname; cat /etc/hostname"),
    );
    assert.equal(members.code, 0, members.stderr);
    const [json, names] = members.stdout.split("---\n");
    const parsed = JSON.parse(json);
    assert.equal(parsed.nodename, "pve2");
    assert.deepEqual(parsed.cluster, { name: "testcluster", version: 3, nodes: 2, quorate: 1 });
    assert.deepEqual(parsed.nodelist.pve1, { id: 1, online: 1, ip: "127.0.0.2" });
    assert.deepEqual(parsed.nodelist.pve2, { id: 2, online: 1, ip: "127.0.0.3" });
    assert.equal(names, "pve2\npve2\n");
    assert.equal(JSON.parse(await cluster.readFile("pve1", "/etc/pve/.members")).nodename, "pve1");
    assert.equal(await cluster.readFile("pve1", "/etc/hostname"), "pve1\n");

    await cluster.writeFile("pve1", "/etc/pve/nodes/pve1/note", "from pve1\n");
    const seen = await cluster.exec(
      "pve1",
      cluster.sshArgv("pve2", "cat /etc/pve/nodes/pve1/note"),
    );
    assert.deepEqual([seen.code, seen.stdout], [0, "from pve1\n"]);
    assert.equal(await cluster.readShared("nodes/pve1/note"), "from pve1\n");

    await cluster.writeFile("pve1", "/usr/local/phoenix_hypervisor/etc/only_here.json", "{}\n");
    const elsewhere = await cluster.exec("pve2", [
      "test",
      "-e",
      "/usr/local/phoenix_hypervisor/etc/only_here.json",
    ]);
    assert.equal(elsewhere.code, 1);
    assert.equal(
      await Deno.stat("/usr/local/phoenix_hypervisor/etc/only_here.json").then(() => 1, () => 0),
      0,
      "a node's /usr/local writes reach the host",
    );

    const env = await cluster.exec("pve1", ["env"], { env: { EXTRA: "1" } });
    assert.deepEqual(env.stdout.trim().split("\n").sort(), [
      "EXTRA=1",
      "HOME=/root",
      "LANG=C.UTF-8",
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    ]);
    assert.deepEqual(await cluster.readShared("priv/lock"), []);
    assert.deepEqual(JSON.parse(await cluster.readShared(".vmlist") as string), {
      version: 1,
      ids: {},
    });
  },
);

clusterTest("pct on each node holds only that node's containers", async () => {
  await using cluster = await SimulatedCluster.start({
    nodes: ["pve1", "pve2"],
    containers: { pve2: { "920": CONTAINER_920 } },
  });
  const onPve2 = await cluster.exec("pve2", ["pct", "status", "920"]);
  assert.deepEqual([onPve2.code, onPve2.stdout], [0, "status: running\n"]);
  const onPve1 = await cluster.exec("pve1", ["pct", "status", "920"]);
  assert.equal(onPve1.code, 2);
  assert.equal(onPve1.stderr, "Configuration file 'nodes/pve1/lxc/920.conf' does not exist\n");
  const overSsh = await cluster.exec("pve1", cluster.sshArgv("pve2", "pct", "status", "920"));
  assert.deepEqual([overSsh.code, overSsh.stdout], [0, "status: running\n"]);
  assert.deepEqual(await cluster.node("pve2").fake.calls(), [
    ["status", "920"],
    ["status", "920"],
  ]);
  assert.deepEqual(await cluster.node("pve1").fake.calls(), [["status", "920"]]);
  assert.deepEqual(JSON.parse(await cluster.readShared(".vmlist") as string).ids, {
    "920": { node: "pve2", type: "lxc", version: 1 },
  });
});

clusterTest("an offline node refuses connections and is offline in every .members", async () => {
  await using cluster = await SimulatedCluster.start({ nodes: ["pve1", "pve2", "pve3"] });
  await cluster.setOnline("pve3", false);
  const refused = await cluster.exec("pve1", cluster.sshArgv("pve3", "true"));
  assert.equal(refused.code, 255);
  assert.match(refused.stderr, /Connection refused/);
  for (const node of ["pve1", "pve2", "pve3"]) {
    const members = JSON.parse(await cluster.readFile(node, "/etc/pve/.members"));
    assert.deepEqual(
      Object.entries(members.nodelist).map((
        [name, entry],
      ) => [name, (entry as { online: number }).online]),
      [["pve1", 1], ["pve2", 1], ["pve3", 0]],
      node,
    );
  }
  const stillUp = await cluster.exec("pve1", cluster.sshArgv("pve2", "true"));
  assert.equal(stillUp.code, 0, stillUp.stderr);

  await cluster.setOnline("pve3", true);
  const back = await cluster.exec("pve2", cluster.sshArgv("pve3", "hostname"));
  assert.deepEqual([back.code, back.stdout], [0, "pve3\n"]);
});

clusterTest("a node without quorum has a read-only /etc/pve; the others keep theirs", async () => {
  await using cluster = await SimulatedCluster.start({ nodes: ["pve1", "pve2"] });
  await cluster.setQuorate("pve1", false);
  const denied = await cluster.exec("pve1", ["mkdir", "/etc/pve/priv/lock/x"]);
  assert.equal(denied.code, 1);
  assert.match(denied.stderr, /Read-only file system/);
  const members = JSON.parse(await cluster.readFile("pve1", "/etc/pve/.members"));
  assert.equal(members.cluster.quorate, 0);
  const other = JSON.parse(await cluster.readFile("pve2", "/etc/pve/.members"));
  assert.equal(other.cluster.quorate, 1);

  const allowed = await cluster.exec("pve2", ["mkdir", "/etc/pve/priv/lock/x"]);
  assert.equal(allowed.code, 0, allowed.stderr);
  assert.deepEqual(await cluster.readShared("priv/lock"), ["x"]);

  await cluster.setQuorate("pve1", true);
  const again = await cluster.exec("pve1", ["rmdir", "/etc/pve/priv/lock/x"]);
  assert.equal(again.code, 0, again.stderr);
});

clusterTest("moveContainer moves a container to another node's pct and .vmlist", async () => {
  await using cluster = await SimulatedCluster.start({
    nodes: ["pve1", "pve2", "pve3"],
    containers: { pve2: { "920": CONTAINER_920 } },
  });
  await cluster.moveContainer("920", "pve2", "pve3");
  const onPve3 = await cluster.exec("pve1", cluster.sshArgv("pve3", "pct", "status", "920"));
  assert.deepEqual([onPve3.code, onPve3.stdout], [0, "status: running\n"]);
  const onPve2 = await cluster.exec("pve1", cluster.sshArgv("pve2", "pct", "status", "920"));
  assert.equal(onPve2.code, 2);
  assert.equal(onPve2.stderr, "Configuration file 'nodes/pve2/lxc/920.conf' does not exist\n");
  const vmlist = JSON.parse(await cluster.readFile("pve1", "/etc/pve/.vmlist"));
  assert.deepEqual(vmlist, {
    version: 2,
    ids: { "920": { node: "pve3", type: "lxc", version: 2 } },
  });
  assert.equal(
    (await cluster.node("pve3").fake.state()).containers["920"].name,
    "BaseTemplateVLLM",
  );
  await assert.rejects(cluster.moveContainer("920", "pve2", "pve1"), RangeError);
});

clusterTest("spawn's child is the program itself, so a signal reaches it", async () => {
  await using cluster = await SimulatedCluster.start({ nodes: ["pve1", "pve2"] });
  const child = cluster.spawn("pve1", ["sh", "-c", "echo $$; hostname; exec sleep 30"]);
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (text.split("\n").length < 3) text += (await reader.read()).value ?? "";
  assert.equal(text, `${child.pid}\npve1\n`);
  child.kill("SIGTERM");
  const status = await child.status;
  assert.equal(status.signal, "SIGTERM");
  await reader.cancel();
  await child.stderr.cancel();
});

clusterTest("with port 22 taken, sshd uses another port that ssh on the nodes finds", async () => {
  // Taken by this test unless something else already holds it.
  let blocker: Deno.Listener | undefined;
  try {
    blocker = Deno.listen({ hostname: "0.0.0.0", port: 22 });
  } catch {
    // Port 22 is taken already: the fallback is what this test checks either way.
  }
  try {
    await using cluster = await SimulatedCluster.start({
      nodes: ["pve1", "pve2"],
      perNodeKnownHosts: true,
    });
    const port = cluster.node("pve2").port;
    assert.notEqual(port, 22);
    // PVE 8's form: the target node's own known-hosts file.
    const result = await cluster.exec("pve1", [
      "/usr/bin/ssh",
      "-e",
      "none",
      "-o",
      "BatchMode=yes",
      "-o",
      "HostKeyAlias=pve2",
      "-o",
      "UserKnownHostsFile=/etc/pve/nodes/pve2/ssh_known_hosts",
      "-o",
      "GlobalKnownHostsFile=none",
      "root@127.0.0.3",
      "hostname",
    ]);
    assert.deepEqual([result.code, result.stdout], [0, "pve2\n"], result.stderr);
    assert.match(
      await cluster.readShared("nodes/pve2/ssh_known_hosts") as string,
      /^pve2 ssh-ed25519 \S+\n$/,
    );
  } finally {
    blocker?.close();
  }
});

clusterTest("stop leaves no sshd, process or mount of the cluster behind", async () => {
  const cluster = await SimulatedCluster.start({
    nodes: ["pve1", "pve2"],
    containers: { pve2: { "920": CONTAINER_920 } },
  });
  const root = cluster.root;
  // A session left running on pve2 must go too.
  const session = cluster.spawn("pve1", cluster.sshArgv("pve2", "sleep", "60"));
  const running = await processesMentioning(root);
  assert.ok(running.pids.length >= 2, "the sshds run with the cluster's config");
  assert.ok(running.mounts.length >= 2, "the nodes mount the cluster's directories");
  await cluster.stop();
  await session.status;
  await session.stdout.cancel();
  await session.stderr.cancel();
  assert.deepEqual(await processesMentioning(root), { pids: [], mounts: [] });
  const findmnt = await new Deno.Command("findmnt", { args: ["-rn"], stdout: "piped" }).output();
  assert.doesNotMatch(new TextDecoder().decode(findmnt.stdout), new RegExp(root));
  assert.equal(await Deno.stat(root).then(() => 1, () => 0), 0);
  const sshds = await new Deno.Command("pgrep", { args: ["-af", "sshd"], stdout: "piped" })
    .output();
  assert.doesNotMatch(new TextDecoder().decode(sshds.stdout), new RegExp(root));
});
