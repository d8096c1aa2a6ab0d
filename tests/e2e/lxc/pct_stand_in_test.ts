/**
 * The `pct` stand-in (`./pct`) against real busybox containers: the formats, errors and exit
 * codes of ../shared/docs/pct.md. Skipped (reported as ignored, with the reason) where LXC
 * cannot run containers.
 *
 * @module
 */

import assert from "node:assert/strict";
import { lxcSupport, lxcTest } from "./harness.ts";
import type { CommandResult } from "../../support/commands.ts";
import { assertExit } from "../../support/assertions.ts";

const support = await lxcSupport();
if (!support.ok) console.warn(`lxc: tests ignored: ${support.reason}`);

function assertFailed(result: CommandResult, stderr: RegExp, what: string): void {
  assert.notEqual(result.code, 0, `${what}: expected failure\nstdout: ${result.stdout}`);
  assert.match(result.stderr, stderr, what);
}

lxcTest(support, "status, start, exec and a clean shutdown behave like pct", async (lab) => {
  await lab.createContainer("950");
  const stopped = await lab.pct(["status", "950"]);
  assert.deepEqual([stopped.code, stopped.stdout, stopped.stderr], [0, "status: stopped\n", ""]);

  const started = await lab.pct(["start", "950"]);
  assertExit(started, 0, "pct start");
  assert.equal(started.stdout + started.stderr, "");
  await lab.waitForBoot("950");
  assertFailed(await lab.pct(["start", "950"]), /^CT 950 already running$/m, "second start");
  assert.equal((await lab.pct(["status", "950"])).stdout, "status: running\n");
  const verbose = await lab.pct(["status", "950", "--verbose"]);
  assert.match(
    verbose.stdout,
    /^name: ct950\npid: \d+\nstatus: running\ntype: lxc\nuptime: \d+\nvmid: 950\n$/,
  );

  const script = await lab.pct(["exec", "950", "--", "sh", "-c", "echo out; echo err >&2; exit 7"]);
  assert.deepEqual([script.code, script.stdout, script.stderr], [7, "out\n", "err\n"]);
  assertExit(await lab.pct(["exec", "950", "--", "no-such-command"]), 127, "missing command");
  assertExit(await lab.pct(["exec", "950", "--", "/etc/passwd"]), 126, "not executable");
  assertExit(await lab.pct(["exec", "950", "--", "sh", "-c", "kill -9 $$"]), 137, "killed");
  // Real pct passes the caller's environment (--keep-env 1) but always with its own PATH.
  const callerEnv = { env: { CALLER_VAR: "x", PATH: "/usr/local/bin:/opt/caller/bin:/usr/bin" } };
  const kept = await lab.pct(["exec", "950", "--", "env"], callerEnv);
  const keptVars = kept.stdout.split("\n").filter((line) => line !== "").sort();
  assert.ok(keptVars.includes("CALLER_VAR=x"), kept.stdout);
  assert.deepEqual(keptVars.filter((v) => v.startsWith("PATH=")), [
    "PATH=/sbin:/bin:/usr/sbin:/usr/bin",
  ]);
  assert.deepEqual(keptVars.filter((v) => /^PCT_(LXC_|NODE=)/.test(v)), [], "stand-in settings");
  const cleared = await lab.pct(["exec", "950", "--keep-env", "0", "--", "env"], callerEnv);
  // --keep-env 0: lxc-attach clears it and sets its own PATH (with /usr/local) and container=lxc.
  assert.equal(
    cleared.stdout,
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\ncontainer=lxc\n",
  );
  const stdin = await lab.pct(["exec", "950", "--", "cat"], { stdin: "via stdin\n" });
  assert.equal(stdin.stdout, "via stdin\n");
  assertFailed(
    await lab.pct(["exec", "950", "ls", "-la"]),
    /^Unknown option: la\n400 unable to parse option$/m,
    "exec without --",
  );

  // The lab's containers have loopback and a working busybox httpd.
  const http = await lab.pct([
    "exec",
    "950",
    "--",
    "sh",
    "-c",
    "httpd -p 127.0.0.1:8080 -h /www && wget -q -O - http://localhost:8080/",
  ]);
  assert.deepEqual([http.code, http.stdout], [0, "ok\n"], http.stderr);

  const shutdown = await lab.pct(["shutdown", "950", "--timeout", "10"]);
  assertExit(shutdown, 0, "pct shutdown");
  assert.equal(shutdown.stdout + shutdown.stderr, "");
  assert.equal(await lab.status("950"), "stopped");
  assert.ok(await lab.shutDownCleanly("950"), "init ran its shutdown actions");
  assertFailed(await lab.pct(["shutdown", "950"]), /^CT 950 not running$/m, "second shutdown");
  assertFailed(await lab.pct(["stop", "950"]), /^CT 950 not running$/m, "stop when stopped");
  assertFailed(
    await lab.pct(["exec", "950", "--", "true"]),
    /^container '950' not running!$/m,
    "exec when stopped",
  );

  assertExit(await lab.pct(["start", "950"]), 0, "start again");
  // The boot script clears the earlier clean-shutdown marker; stopping before it ran would
  // leave that marker and make the kill look clean.
  await lab.waitForBoot("950");
  const stop = await lab.pct(["stop", "950"]);
  assertExit(stop, 0, "pct stop");
  assert.equal(await lab.status("950"), "stopped");
  assert.equal(await lab.shutDownCleanly("950"), false, "pct stop kills");
});

lxcTest(
  support,
  "push copies into a running CT and exits 0 even when the copy failed",
  async (lab) => {
    await lab.createContainer("950");
    const file = `${lab.root}/payload.txt`;
    await Deno.writeTextFile(file, "payload\n");
    await Deno.chmod(file, 0o640);
    assertFailed(
      await lab.pct(["push", "950", file, "/root/payload.txt"]),
      /^can only push files to a running CT$/m,
      "push to a stopped CT",
    );

    await lab.start("950");
    const pushed = await lab.pct(["push", "950", file, "/root/payload.txt"]);
    assert.deepEqual([pushed.code, pushed.stdout, pushed.stderr], [0, "", ""]);
    assertExit(await lab.pct(["push", "950", file, "/root/run.sh", "--perms", "0755"]), 0, "push");
    const listing = await lab.attach("950", [
      "stat",
      "-c",
      "%a %U %n",
      "/root/payload.txt",
      "/root/run.sh",
    ]);
    assert.equal(listing.stdout, "640 root /root/payload.txt\n755 root /root/run.sh\n");
    assert.equal(await lab.readFile("950", "/root/payload.txt"), "payload\n");

    const failed = await lab.pct(["push", "950", file, "/no/such/dir/payload.txt"]);
    assertExit(failed, 0, "push into a missing directory");
    assert.notEqual(failed.stderr, "", "the failure is still reported on stderr");
    assertExit(await lab.attach("950", ["test", "-e", "/no/such/dir/payload.txt"]), 1, "no file");

    const pulled = `${lab.root}/pulled.txt`;
    assertExit(await lab.pct(["pull", "950", "/root/payload.txt", pulled]), 0, "pull");
    assert.equal(await Deno.readTextFile(pulled), "payload\n");
    assertExit(
      await lab.pct(["pull", "950", "/no/such/file", `${lab.root}/none`]),
      0,
      "pull fails",
    );
    await assert.rejects(Deno.stat(`${lab.root}/none`), Deno.errors.NotFound);
  },
);

lxcTest(
  support,
  "snapshots hold the files written before them; listsnapshot prints pct's tree",
  async (lab) => {
    await lab.createContainer("950");
    assert.equal(
      (await lab.pct(["listsnapshot", "950"])).stdout,
      "`->" + " current" + " ".repeat(45) + "You are here!\n",
    );

    await lab.start("950");
    await lab.pct(["exec", "950", "--", "sh", "-c", "echo first > /root/first"]);
    assertExit(await lab.pct(["shutdown", "950", "--timeout", "10"]), 0, "shutdown");
    const taken = await lab.pct(["snapshot", "950", "base-snapshot"]);
    assert.deepEqual([taken.code, taken.stdout, taken.stderr], [0, "", ""]);
    assert.equal(await lab.readSnapshotFile("950", "base-snapshot", "/root/first"), "first\n");

    // A running CT is frozen for the copy and keeps running.
    await lab.start("950");
    await lab.pct(["exec", "950", "--", "sh", "-c", "echo second > /root/second"]);
    const running = await lab.pct([
      "snapshot",
      "950",
      "vllm-base-snapshot",
      "--description",
      "vLLM 0.11 ready\nsecond line",
    ]);
    assertExit(running, 0, "snapshot of a running CT");
    assert.equal(await lab.status("950"), "running");
    assert.equal(
      await lab.readSnapshotFile("950", "vllm-base-snapshot", "/root/second"),
      "second\n",
    );
    await assert.rejects(lab.readSnapshotFile("950", "base-snapshot", "/root/second"));

    const tree = (await lab.pct(["listsnapshot", "950"])).stdout;
    const time = "\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d";
    assert.match(
      tree,
      new RegExp(
        "^`-> base-snapshot {15}" + time + " {5}no-description\n" +
          " `-> vllm-base-snapshot {9}" + time + " {5}vLLM 0\\.11 ready\n" +
          "  `-> current {43}You are here!\n$",
      ),
    );
    assert.deepEqual((await lab.snapshots("950")).map((s) => [s.name, s.description]), [
      ["base-snapshot", ""],
      ["vllm-base-snapshot", "vLLM 0.11 ready\nsecond line"],
    ]);
    assert.match((await lab.pct(["config", "950"])).stdout, /^parent: vllm-base-snapshot$/m);

    assertFailed(
      await lab.pct(["snapshot", "950", "base-snapshot"]),
      /^snapshot name 'base-snapshot' already used$/m,
      "duplicate name",
    );
    assertFailed(
      await lab.pct(["snapshot", "950", "v1.0"]),
      /^400 Parameter verification failed\.\nsnapname: /m,
      "name with a dot",
    );
    assertFailed(
      await lab.pct(["snapshot", "create", "950", "x"]),
      /^400 (Parameter verification failed|too many arguments)/m,
      "there is no `pct snapshot create`",
    );

    // Rollback hard-stops the running CT and brings back the snapshot's files.
    await lab.pct(["exec", "950", "--", "sh", "-c", "echo third > /root/third"]);
    assertExit(await lab.pct(["rollback", "950", "base-snapshot"]), 0, "rollback");
    assert.equal(await lab.status("950"), "stopped");
    assert.equal(await lab.readFile("950", "/root/first"), "first\n");
    await assert.rejects(lab.readFile("950", "/root/second"), Deno.errors.NotFound);
    assert.match(
      (await lab.pct(["listsnapshot", "950"])).stdout,
      new RegExp(
        "^`-> base-snapshot {15}" + time + " {5}no-description\n" +
          " `-> vllm-base-snapshot {9}" + time + " {5}vLLM 0\\.11 ready\n" +
          " `-> current {44}You are here!\n$",
      ),
    );
    assert.match((await lab.pct(["config", "950"])).stdout, /^parent: base-snapshot$/m);

    assertExit(await lab.pct(["delsnapshot", "950", "base-snapshot"]), 0, "delsnapshot");
    assert.match(
      (await lab.pct(["listsnapshot", "950"])).stdout,
      new RegExp(
        "^`-> vllm-base-snapshot {10}" + time + " {5}vLLM 0\\.11 ready\n" +
          "`-> current {45}You are here!\n$",
      ),
    );
    assertFailed(
      await lab.pct(["delsnapshot", "950", "base-snapshot"]),
      /^snapshot 'base-snapshot' does not exist$/m,
      "delete twice",
    );
    await lab.kill("950");
  },
);

lxcTest(support, "shutdown times out when init ignores it, and forceStop kills", async (lab) => {
  await lab.createContainer("951", { initIgnoresShutdown: true });
  await lab.start("951");
  const timedOut = await lab.pct(["shutdown", "951", "--timeout", "1"]);
  assertFailed(timedOut, /^container did not stop$/m, "shutdown without forceStop");
  assert.ok(timedOut.durationMs >= 1000 && timedOut.durationMs < 5000, `${timedOut.durationMs} ms`);
  assert.equal(await lab.status("951"), "running", "the CT is left running");

  const forced = await lab.pct(["shutdown", "951", "--timeout", "1", "--forceStop", "1"]);
  assertExit(forced, 0, "shutdown with forceStop");
  assert.equal(await lab.status("951"), "stopped");
  assert.equal(await lab.shutDownCleanly("951"), false);
});

lxcTest(support, "missing containers, parameter errors and unknown commands", async (lab) => {
  const node = { env: { PCT_NODE: "pve2" } };
  const missing = /^Configuration file 'nodes\/pve2\/lxc\/999\.conf' does not exist$/m;
  for (const args of [["status", "999"], ["exec", "999", "--", "true"], ["start", "999"]]) {
    assertFailed(await lab.pct(args, node), missing, `pct ${args.join(" ")}`);
  }
  assertFailed(await lab.pct(["listsnapshot", "999"], node), missing, "listsnapshot");
  assertFailed(await lab.pct(["shutdown", "999"]), /^CT 999 not running$/m, "shutdown");

  const badVmid = await lab.pct(["status", "95"]);
  assertExit(badVmid, 255, "vmid 95");
  assert.match(badVmid.stderr, /^400 Parameter verification failed\.\nvmid: .+\n/);
  assertFailed(await lab.pct(["status", "abc"]), /^vmid: type check \('integer'\) failed/m, "abc");
  assertFailed(await lab.pct(["status"]), /^400 not enough arguments$/m, "no vmid");
  assertFailed(await lab.pct(["status", "950", "951"]), /^400 too many arguments$/m, "two vmids");

  const unknown = await lab.pct(["foo"]);
  assertExit(unknown, 255, "pct foo");
  assert.match(unknown.stderr, /^ERROR: unknown command 'pct foo'$/m);
});

lxcTest(support, "list, set, config and locks", async (lab) => {
  const empty = await lab.pct(["list"]);
  assert.deepEqual([empty.code, empty.stdout], [0, ""], "nothing at all without containers");

  await lab.createContainer("951", { hostname: "web" });
  await lab.createContainer("950");
  await lab.start("951");
  await lab.setLock("950", "backup");
  assert.deepEqual((await lab.pct(["list"])).stdout.split("\n").map((l) => l.trimEnd()), [
    "VMID       Status     Lock         Name",
    "950        stopped    backup       ct950",
    "951        running                 web",
    "",
  ]);
  assertFailed(await lab.pct(["start", "950"]), /^CT is locked \(backup\)$/m, "locked start");
  assertFailed(await lab.pct(["set", "951"]), /^no options specified$/m, "set without options");
  assertExit(await lab.pct(["set", "951", "--hostname", "web2", "--onboot", "1"]), 0, "pct set");
  assert.match((await lab.pct(["status", "950", "--verbose"])).stdout, /^lock: backup$/m);
  await lab.setLock("950", null);
  assertExit(await lab.pct(["start", "950"]), 0, "unlocked start");

  const config = await lab.pct(["config", "951"]);
  assertExit(config, 0, "pct config");
  const lines = config.stdout.trimEnd().split("\n");
  const plain = lines.filter((l) => !l.startsWith("lxc."));
  assert.deepEqual(plain, [...plain].sort(), "sorted key: value lines");
  assert.ok(plain.includes("hostname: web2") && plain.includes("onboot: 1"), config.stdout);
  assert.ok(plain.some((l) => /^arch: \S+$/.test(l)), config.stdout);
  assert.ok(lines.includes("lxc.net.0.type: empty"), config.stdout);
  assert.equal(lines.findIndex((l) => l.startsWith("lxc.")), plain.length, "raw lxc.* lines last");

  await lab.setSnapshotFeature("951", false);
  assertFailed(
    await lab.pct(["snapshot", "951", "base"]),
    /^snapshot feature is not available$/m,
    "dir storage",
  );
  await lab.kill("950");
  await lab.kill("951");
});
