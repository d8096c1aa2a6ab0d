import assert from "node:assert/strict";
import { join } from "node:path";
import { ownerOf, parseMembers, readCluster } from "../../../lib/host/cluster.ts";
import { withTempDir } from "../../support/temp_dir.ts";

/** `.members` as pmxcfs writes it on node `pve1` of a three-node cluster (status.c). */
const MEMBERS = {
  nodename: "pve1",
  version: 5,
  cluster: { name: "lab", version: 3, nodes: 3, quorate: 1 },
  nodelist: {
    pve1: { id: 1, online: 1, ip: "192.0.2.11" },
    pve2: { id: 2, online: 1, ip: "192.0.2.12" },
    pve3: { id: 3, online: 0, ip: "192.0.2.13" },
  },
};

Deno.test("parseMembers: a cluster node's member list names this node, quorum, addresses and who is online", () => {
  const cluster = parseMembers(MEMBERS)!;
  assert.equal(cluster.thisNode, "pve1");
  assert.equal(cluster.name, "lab");
  assert.equal(cluster.quorate, true);
  assert.deepEqual(cluster.nodes.get("pve2"), { name: "pve2", ip: "192.0.2.12", online: true });
  assert.deepEqual(cluster.nodes.get("pve3"), { name: "pve3", ip: "192.0.2.13", online: false });
  assert.equal(
    parseMembers({ ...MEMBERS, cluster: { ...MEMBERS.cluster, quorate: 0 } })!.quorate,
    false,
  );
});

Deno.test("parseMembers: a single host (no cluster part, or one node) and anything else is no cluster", () => {
  assert.equal(parseMembers({ nodename: "pve", version: 0 }), undefined);
  assert.equal(
    parseMembers({ ...MEMBERS, nodelist: { pve1: MEMBERS.nodelist.pve1 } }),
    undefined,
  );
  for (const junk of [undefined, null, "text", [], { cluster: {}, nodelist: {} }]) {
    assert.equal(parseMembers(junk), undefined);
  }
});

Deno.test("readCluster and ownerOf read /etc/pve under the host root; missing files mean a single host", async () => {
  await withTempDir(async (root) => {
    assert.equal(await readCluster(root), undefined);
    assert.equal(await ownerOf(root, "920"), undefined);
    await Deno.mkdir(join(root, "etc/pve"), { recursive: true });
    await Deno.writeTextFile(join(root, "etc/pve/.members"), JSON.stringify(MEMBERS));
    await Deno.writeTextFile(
      join(root, "etc/pve/.vmlist"),
      JSON.stringify({
        version: 7,
        ids: { "920": { node: "pve2", type: "lxc", version: 3 }, "100": { node: "pve1" } },
      }),
    );
    assert.equal((await readCluster(root))?.thisNode, "pve1");
    assert.deepEqual(await ownerOf(root, "920"), { node: "pve2", type: "lxc" });
    assert.deepEqual(await ownerOf(root, "100"), { node: "pve1" });
    assert.equal(await ownerOf(root, "950"), undefined);
    await Deno.writeTextFile(join(root, "etc/pve/.vmlist"), "{ not json");
    assert.equal(await ownerOf(root, "920"), undefined);
  });
});
