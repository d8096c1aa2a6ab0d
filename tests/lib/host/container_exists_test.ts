import assert from "node:assert/strict";
import { checkContainerExists } from "../../../lib/host/container_exists.ts";
import { InvalidInputError, SetupError } from "../../../lib/core/errors.ts";
import { ExitCode } from "../../../lib/core/exit_codes.ts";
import { Pct } from "../../../lib/host/pct.ts";
import { InMemoryPct } from "../../fake_pct/in_memory.ts";
import { rejectsWith } from "../../support/assertions.ts";
import { scriptedRunner } from "../../support/scripted_runner.ts";

async function invalidInput(promise: Promise<unknown>): Promise<InvalidInputError> {
  const error = await rejectsWith(promise, InvalidInputError);
  assert.equal(error.exitCode, ExitCode.InvalidInput);
  assert.equal(error.phase, "container check");
  return error;
}

Deno.test("checkContainerExists returns the state with one pct status --verbose call", async () => {
  const model = new InMemoryPct({
    containers: {
      "920": { status: "running" },
      "950": { status: "stopped", lock: "backup" },
      "960": { status: "stopped", template: true },
    },
  });
  const pct = new Pct(model.run);
  assert.deepEqual(await checkContainerExists(pct, "920"), {
    status: "running",
    proxmoxTemplate: false,
  });
  assert.deepEqual(await checkContainerExists(pct, "950"), {
    status: "stopped",
    lock: "backup",
    proxmoxTemplate: false,
  });
  assert.deepEqual(await checkContainerExists(pct, "960"), {
    status: "stopped",
    proxmoxTemplate: true,
  });
  assert.deepEqual(model.argvs(), [
    ["status", "920", "--verbose"],
    ["status", "950", "--verbose"],
    ["status", "960", "--verbose"],
  ]);
});

Deno.test("checkContainerExists takes real pct's empty 'lock:' line for no lock", async () => {
  const runner = scriptedRunner(() => ({
    stdout: "cpus: 8\nlock: \nmaxmem: 8589934592\nname: vllm\nstatus: running\nvmid: 950\n",
  }));
  assert.deepEqual(await checkContainerExists(new Pct(runner.run), "950"), {
    status: "running",
    proxmoxTemplate: false,
  });
});

/** A host root whose /etc/pve/.vmlist holds `ids`. */
async function hostWithVmlist(ids: Record<string, unknown>): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "phoenix-pve-" });
  await Deno.mkdir(`${root}/etc/pve`, { recursive: true });
  await Deno.writeTextFile(`${root}/etc/pve/.vmlist`, JSON.stringify({ version: 3, ids }));
  return root;
}

Deno.test("checkContainerExists names the cluster node that owns the container, and what to run there", async () => {
  const root = await hostWithVmlist({ "950": { node: "pve2", type: "lxc", version: 7 } });
  try {
    const model = new InMemoryPct({ node: "pve1", containers: {} });
    const error = await rejectsWith(
      checkContainerExists(new Pct(model.run), "950", root, "phoenix_hypervisor_setup_950.sh 950"),
      SetupError,
    );
    assert.equal(error.exitCode, ExitCode.ContainerUnusable);
    assert.equal(
      error.message,
      "Container 950 lives on cluster node 'pve2', not on this node ('pve1'): pct only works on " +
        `the node that owns a guest (${root}/etc/pve/.vmlist says so; pct said: Configuration ` +
        "file 'nodes/pve1/lxc/950.conf' does not exist). Nothing was changed. Run it there: " +
        "ssh root@pve2 phoenix_hypervisor_setup_950.sh 950",
    );
    assert.deepEqual(model.argvs(), [["status", "950", "--verbose"]]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("checkContainerExists: a CTID .vmlist does not know, or knows on this node, does not exist", async () => {
  const root = await hostWithVmlist({
    "951": { node: "pve2", type: "lxc" },
    "950": { node: "pve" },
  });
  try {
    const pct = new Pct(new InMemoryPct().run);
    await invalidInput(checkContainerExists(pct, "950", root));
    await invalidInput(checkContainerExists(pct, "952", root));
    await invalidInput(checkContainerExists(pct, "950", "/nonexistent-root"));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("checkContainerExists reports a missing container quoting pct", async () => {
  const model = new InMemoryPct();
  const error = await invalidInput(checkContainerExists(new Pct(model.run), "920"));
  assert.equal(
    error.message,
    "Container 920 does not exist or pct cannot reach it: pct said: Configuration file " +
      "'nodes/pve/lxc/920.conf' does not exist. Create the container first (the orchestrator " +
      "does), then run this again",
  );
});

Deno.test("checkContainerExists falls back to stdout, then to the exit code", async () => {
  const withStdout = scriptedRunner(() => ({ exitCode: 13, stdout: "permission denied\n" }));
  assert.match(
    (await invalidInput(checkContainerExists(new Pct(withStdout.run), "920"))).message,
    /pct said: permission denied\. /,
  );
  const silent = scriptedRunner(() => ({ exitCode: 13 }));
  assert.match(
    (await invalidInput(checkContainerExists(new Pct(silent.run), "920"))).message,
    /pct said: exit code 13\. /,
  );
});

Deno.test("checkContainerExists quotes an answer pct status should never give", async () => {
  const odd = scriptedRunner(() => ({ stdout: "status: paused\n" }));
  assert.match(
    (await invalidInput(checkContainerExists(new Pct(odd.run), "920"))).message,
    /pct said: unexpected answer "status: paused"\. /,
  );
});

Deno.test("checkContainerExists lets an error that is not pct's through", async () => {
  const broken = new Pct(() => Promise.reject(new TypeError("runner bug")));
  await assert.rejects(checkContainerExists(broken, "920"), {
    name: "TypeError",
    message: "runner bug",
  });
});
