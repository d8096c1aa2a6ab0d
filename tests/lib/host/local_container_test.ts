import assert from "node:assert/strict";
import { join } from "node:path";
import type { CommandResult } from "../../../lib/core/command_text.ts";
import { InvalidInputError } from "../../../lib/core/errors.ts";
import {
  confirmLocalContainer,
  detectLocalContainer,
  localConfigFile,
  localPct,
} from "../../../lib/host/local_container.ts";

/** A machine root with the given files; removed when the test's `using` ends. */
async function root(files: Record<string, string>) {
  const dir = await Deno.makeTempDir({ prefix: "phoenix-root-" });
  for (const [path, text] of Object.entries(files)) {
    await Deno.mkdir(join(dir, path, ".."), { recursive: true });
    await Deno.writeTextFile(join(dir, path), text);
  }
  return { dir, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}

Deno.test("detectLocalContainer: LXC's mark and no pct", async () => {
  await using lxc = await root({ "proc/1/environ": "PATH=/bin\0container=lxc\0TERM=linux\0" });
  await using systemd = await root({ "run/systemd/container": "lxc\n" });
  await using host = await root({ "proc/1/environ": "PATH=/bin\0" });
  await using docker = await root({ "proc/1/environ": "container=docker\0" });
  await using bin = await root({});
  await Deno.writeTextFile(join(bin.dir, "pct"), "#!/bin/sh\n", { mode: 0o755 });
  const noPct = { PATH: join(lxc.dir, "empty") };

  assert.equal(
    await detectLocalContainer(noPct, lxc.dir),
    "no pct on PATH; container=lxc in /proc/1/environ",
  );
  assert.equal(
    await detectLocalContainer(noPct, systemd.dir),
    "no pct on PATH; /run/systemd/container says lxc",
  );
  // Not a container, or not an LXC one: a missing pct stays the error it always was.
  assert.equal(await detectLocalContainer(noPct, host.dir), undefined);
  assert.equal(await detectLocalContainer(noPct, docker.dir), undefined);
  // With pct on PATH the run is the host's, whatever the marks say (a nested Proxmox, say).
  assert.equal(await detectLocalContainer({ PATH: `/nonexistent:${bin.dir}` }, lxc.dir), undefined);
});

Deno.test("localConfigFile prefers the configured file, then the copy pushed beside the executable", async () => {
  await using run = await root({ "tmp/phoenix_run/phoenix_lxc_configs.json": "{}" });
  const pushed = join(run.dir, "tmp/phoenix_run/phoenix_lxc_configs.json");
  const exec = join(run.dir, "tmp/phoenix_run/phoenix_hypervisor_lxc_950.sh");
  const missing = "/usr/local/phoenix_hypervisor/etc/phoenix_lxc_configs.json.absent";
  assert.deepEqual(await localConfigFile(pushed, exec), { file: pushed });
  assert.deepEqual(await localConfigFile(missing, exec), {
    file: pushed,
    note: `${missing} is not in the container; reading ${pushed}, the copy pushed beside the ` +
      "executable",
  });
  // Nothing beside it either: the configured file, whose absence the config reader reports.
  assert.deepEqual(await localConfigFile(missing, "/nowhere/x.sh"), { file: missing });
});

Deno.test("confirmLocalContainer compares the host name with the entry's name", async () => {
  await using ct = await root({ "etc/hostname": "vllmQwen3Coder\n" });
  assert.equal(await confirmLocalContainer("950", "vllmQwen3Coder", ct.dir), "vllmQwen3Coder");
  await assert.rejects(
    confirmLocalContainer("950", "Portainer", ct.dir),
    (error) =>
      error instanceof InvalidInputError && error.exitCode === 1 &&
      error.message ===
        'Running inside an LXC container with no pct whose host name is "vllmQwen3Coder", but ' +
          'container 950\'s entry names "Portainer": this is not container 950. Run it inside ' +
          "container 950, or on the Proxmox host, where pct is",
  );
  await assert.rejects(
    confirmLocalContainer("950", undefined, ct.dir),
    /entry has no "name" to confirm that this is container 950 \(its host name is "vllmQwen3Coder"\)/,
  );
});

Deno.test("localPct runs pct exec's command here, answers status, refuses host-side calls", async () => {
  const ran: (readonly string[])[] = [];
  const run = (argv: readonly string[]): Promise<CommandResult> => {
    ran.push(argv);
    return Promise.resolve({ argv, exitCode: 0, stdout: "ok\n", stderr: "", durationMs: 1 });
  };
  const pct = localPct(run, "950");
  assert.equal((await pct(["pct", "exec", "950", "--", "cat", "/etc/hostname"])).stdout, "ok\n");
  assert.equal((await pct(["pct", "status", "950"])).stdout, "status: running\n");
  // A host run's first look asks --verbose (for the lock): inside, there is none.
  assert.equal((await pct(["pct", "status", "950", "--verbose"])).stdout, "status: running\n");
  for (
    const argv of [
      ["pct", "snapshot", "950", "s"],
      ["pct", "exec", "951", "--", "true"],
      ["pct", "status", "950", "--other"],
    ]
  ) {
    const result = await pct(argv);
    assert.equal(result.exitCode, 1);
    assert.match(result.stderr, /is for the Proxmox host: there is no pct inside container 950$/);
  }
  assert.deepEqual(ran, [["cat", "/etc/hostname"]]);
});
