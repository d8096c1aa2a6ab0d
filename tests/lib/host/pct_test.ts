import assert from "node:assert/strict";
import { CommandError } from "../../../lib/core/command_text.ts";
import { parseConfig, parseSnapshotEntries, Pct } from "../../../lib/host/pct.ts";
import { InMemoryPct } from "../../fake_pct/in_memory.ts";
import { rejectsWith } from "../../support/assertions.ts";
import { scriptedRunner } from "../../support/scripted_runner.ts";

/** The example tree of pct.md, verbatim. */
const PCT_MD_EXAMPLE = [
  "`-> base-snapshot               2026-08-29 14:02:11     no-description",
  " `-> vllm-base-snapshot         2026-08-30 09:40:55     vLLM 0.11 ready",
  "  `-> current                                           You are here!",
  "",
].join("\n");

const MISSING = "Configuration file 'nodes/pve/lxc/920.conf' does not exist\n";

const commandError = (promise: Promise<unknown>) => rejectsWith(promise, CommandError);

/** What the fake pct's `pct listsnapshot` prints for a chain of snapshots with these names. */
async function listing(names: readonly string[]): Promise<string> {
  const pct = new InMemoryPct({
    containers: {
      "920": {
        status: "stopped",
        snapshots: names.map((name) => ({ name, time: "2026-08-29 14:02:11" })),
      },
    },
  });
  return (await pct.run(["pct", "listsnapshot", "920"])).stdout;
}

// --- parseSnapshotEntries ----------------------------------------------------------------------

/** The snapshot names of a listing, as the flows match them. */
function namesOf(output: string): string[] {
  return parseSnapshotEntries(output).map((entry) => entry.name);
}

Deno.test("parseSnapshotEntries reads the pct.md example tree, oldest first, with descriptions", () => {
  assert.deepEqual(parseSnapshotEntries(PCT_MD_EXAMPLE), [
    { name: "base-snapshot" },
    { name: "vllm-base-snapshot", description: "vLLM 0.11 ready" },
  ]);
});

Deno.test("parseSnapshotEntries returns nothing for the lone current line", () => {
  const only = "`-> current                                           You are here!\n";
  assert.deepEqual(namesOf(only), []);
  assert.deepEqual(namesOf(""), []);
});

Deno.test("parseSnapshotEntries does not find base-snapshot inside vllm-base-snapshot", async () => {
  const names = namesOf(await listing(["vllm-base-snapshot"]));
  assert.deepEqual(names, ["vllm-base-snapshot"]);
  assert.equal(names.includes("base-snapshot"), false);
  // ...nor the other way round.
  assert.equal(
    namesOf(await listing(["base-snapshot"])).includes("vllm-base-snapshot"),
    false,
  );
});

Deno.test("parseSnapshotEntries reads every name of a deep chain", async () => {
  const chain = [
    "base-snapshot",
    "gpu-snapshot",
    "docker-snapshot",
    "docker-gpu-snapshot",
    "snap_2",
  ];
  assert.deepEqual(namesOf(await listing(chain)), chain);
});

Deno.test("parseSnapshotEntries reads a name as long as the name column", async () => {
  const long = "a".repeat(40);
  assert.deepEqual(namesOf(await listing([long])), [long]);
});

Deno.test("parseSnapshotEntries ignores descriptions that look like tree lines", () => {
  const text = "`-> base-snapshot               2026-08-29 14:02:11     `-> not-a-snapshot\n" +
    " `-> current                                           You are here!\n";
  assert.deepEqual(parseSnapshotEntries(text), [
    { name: "base-snapshot", description: "`-> not-a-snapshot" },
  ]);
});

Deno.test("parseSnapshotEntries tolerates CRLF line ends and unrelated lines", () => {
  const text = "WARN: something odd\r\n`-> base-snapshot   2026-08-29 14:02:11   x\r\n" +
    " `-> current   You are here!\r\n";
  assert.deepEqual(namesOf(text), ["base-snapshot"]);
});

// --- parseConfig -------------------------------------------------------------------------------

const CONFIG_920 = [
  "arch: amd64",
  "cores: 8",
  "description: Setup: done%0Aby phoenix",
  "features: nesting=1,keyctl=1",
  "hostname: BaseTemplateVLLM",
  "memory: 40960",
  "net0: name=eth0,bridge=vmbr0,gw=10.0.0.1,ip=10.0.0.150/24,type=veth",
  "rootfs: lxc-disks:subvol-920-disk-0,size=100G",
  "unprivileged: 0",
  "lxc.cgroup2.devices.allow: c 195:* rwm",
  "lxc.cgroup2.devices.allow: c 509:* rwm",
  "lxc.mount.entry: /dev/nvidia0 dev/nvidia0 none bind,optional,create=file",
  "",
].join("\n");

Deno.test("parseConfig reads key: value lines", () => {
  const config = parseConfig(CONFIG_920);
  assert.deepEqual(config.get("hostname"), ["BaseTemplateVLLM"]);
  assert.deepEqual(config.get("memory"), ["40960"]);
  assert.deepEqual(config.get("features"), ["nesting=1,keyctl=1"]);
  assert.deepEqual(config.get("rootfs"), ["lxc-disks:subvol-920-disk-0,size=100G"]);
  assert.deepEqual(config.get("net0"), [
    "name=eth0,bridge=vmbr0,gw=10.0.0.1,ip=10.0.0.150/24,type=veth",
  ]);
});

Deno.test("parseConfig splits at the first colon only", () => {
  assert.deepEqual(parseConfig(CONFIG_920).get("description"), ["Setup: done%0Aby phoenix"]);
});

Deno.test("parseConfig keeps every value of a repeated raw lxc key, in order", () => {
  const config = parseConfig(CONFIG_920);
  assert.deepEqual(config.get("lxc.cgroup2.devices.allow"), ["c 195:* rwm", "c 509:* rwm"]);
  assert.deepEqual(config.get("lxc.mount.entry"), [
    "/dev/nvidia0 dev/nvidia0 none bind,optional,create=file",
  ]);
  assert.equal(config.size, 11);
});

Deno.test("parseConfig accepts key = value raw lines and empty values", () => {
  const config = parseConfig("lxc.apparmor.profile = unconfined\nsearchdomain:\nswap: 512  \n");
  assert.deepEqual(config.get("lxc.apparmor.profile"), ["unconfined"]);
  assert.deepEqual(config.get("searchdomain"), [""]);
  assert.deepEqual(config.get("swap"), ["512"]);
});

Deno.test("parseConfig ignores lines that are not key: value", () => {
  const config = parseConfig("# a comment\n\n  \n[base-snapshot]\nnot a pair\ncores: 4\n");
  assert.deepEqual([...config.entries()], [["cores", ["4"]]]);
});

// --- the Pct client ----------------------------------------------------------------------------

Deno.test("Pct.status runs pct status and reads running and stopped", async () => {
  let answer = "status: running\n";
  const runner = scriptedRunner(() => ({ stdout: answer }));
  const pct = new Pct(runner.run);
  assert.equal(await pct.status("920"), "running");
  answer = "status: stopped\n";
  assert.equal(await pct.status("920"), "stopped");
  answer = "cpus: 8\nname: x\nstatus: running\nuptime: 5\n";
  assert.equal(await pct.status("920"), "running");
  assert.deepEqual(runner.argvs(), [
    ["pct", "status", "920"],
    ["pct", "status", "920"],
    ["pct", "status", "920"],
  ]);
});

Deno.test("Pct.status throws a CommandError quoting pct's stderr for a missing container", async () => {
  const pct = new Pct(scriptedRunner(() => ({ exitCode: 2, stderr: MISSING })).run);
  const error = await commandError(pct.status("920"));
  assert.equal(
    error.message,
    "pct status 920 failed with exit code 2: " +
      "Configuration file 'nodes/pve/lxc/920.conf' does not exist",
  );
  assert.equal(error.result.exitCode, 2);
  assert.deepEqual(error.result.argv, ["pct", "status", "920"]);
});

Deno.test("Pct.status rejects an answer it does not understand, quoting it", async () => {
  const pct = new Pct(scriptedRunner(() => ({ stdout: "status: unknown\n" })).run);
  const error = await commandError(pct.status("920"));
  assert.match(
    error.message,
    /^pct status 920 failed with exit code 0: unexpected answer "status: unknown"$/,
  );
  const empty = new Pct(scriptedRunner(() => ({ stdout: "" })).run);
  assert.match((await commandError(empty.status("920"))).message, /unexpected answer ""/);
  // "running" must be the whole word, not a prefix.
  const prefix = new Pct(scriptedRunner(() => ({ stdout: "status: runningish\n" })).run);
  assert.match((await commandError(prefix.status("920"))).message, /unexpected answer/);
});

Deno.test("Pct.start runs pct start and quotes the failure", async () => {
  const runner = scriptedRunner(() => ({ exitCode: 255, stderr: "CT 920 already running\n" }));
  const error = await commandError(new Pct(runner.run).start("920"));
  assert.equal(error.message, "pct start 920 failed with exit code 255: CT 920 already running");
  assert.deepEqual(runner.argvs(), [["pct", "start", "920"]]);
  const ok = scriptedRunner();
  assert.equal(await new Pct(ok.run).start("950"), undefined);
  assert.deepEqual(ok.argvs(), [["pct", "start", "950"]]);
});

Deno.test("Pct.shutdown passes --timeout and bounds the process at 2N+30 s", async () => {
  const runner = scriptedRunner();
  const pct = new Pct(runner.run);
  await pct.shutdown("920", { timeoutSeconds: 60 });
  await pct.shutdown("920", { timeoutSeconds: 5, forceStop: true });
  await pct.shutdown("920", { timeoutSeconds: 7, forceStop: false });
  assert.deepEqual(runner.calls, [
    { argv: ["pct", "shutdown", "920", "--timeout", "60"], options: { timeoutMs: 150_000 } },
    {
      argv: ["pct", "shutdown", "920", "--timeout", "5", "--forceStop", "1"],
      options: { timeoutMs: 40_000 },
    },
    { argv: ["pct", "shutdown", "920", "--timeout", "7"], options: { timeoutMs: 44_000 } },
  ]);
});

Deno.test("Pct.shutdown quotes pct's 'container did not stop'", async () => {
  const runner = scriptedRunner(() => ({ exitCode: 255, stderr: "container did not stop\n" }));
  const error = await commandError(new Pct(runner.run).shutdown("920", { timeoutSeconds: 60 }));
  assert.equal(
    error.message,
    "pct shutdown 920 --timeout 60 failed with exit code 255: container did not stop",
  );
});

Deno.test("Pct.exec puts -- before the command and passes options", async () => {
  const runner = scriptedRunner(() => ({ exitCode: 1, stdout: "x\n", stderr: "y\n" }));
  const pct = new Pct(runner.run);
  const options = { input: "content", timeoutMs: 5000 };
  const result = await pct.exec(
    "920",
    ["bash", "-c", 'echo "$1" && ls -la', "bash", "a b"],
    options,
  );
  assert.equal(result.exitCode, 1, "exec never throws for the command's exit code");
  assert.equal(result.stdout, "x\n");
  assert.equal(result.stderr, "y\n");
  assert.deepEqual(runner.calls, [{
    argv: ["pct", "exec", "920", "--", "bash", "-c", 'echo "$1" && ls -la', "bash", "a b"],
    options,
  }]);
});

Deno.test("Pct.exec passes empty options when none are given", async () => {
  const runner = scriptedRunner();
  await new Pct(runner.run).exec("950", ["vllm", "--version"]);
  assert.deepEqual(runner.calls, [{
    argv: ["pct", "exec", "950", "--", "vllm", "--version"],
    options: {},
  }]);
});

Deno.test("Pct.snapshot runs pct snapshot, with --description only when given", async () => {
  const runner = scriptedRunner();
  const pct = new Pct(runner.run);
  await pct.snapshot("920", "vllm-base-snapshot");
  await pct.snapshot("920", "vllm-base-snapshot", "vLLM 0.11 ready");
  await pct.snapshot("920", "x1", "");
  assert.deepEqual(runner.argvs(), [
    ["pct", "snapshot", "920", "vllm-base-snapshot"],
    ["pct", "snapshot", "920", "vllm-base-snapshot", "--description", "vLLM 0.11 ready"],
    ["pct", "snapshot", "920", "x1"],
  ]);
});

Deno.test("Pct.snapshot quotes 'snapshot feature is not available'", async () => {
  const runner = scriptedRunner(() => ({
    exitCode: 255,
    stdout: "",
    stderr: "snapshot feature is not available\n",
  }));
  const error = await commandError(new Pct(runner.run).snapshot("920", "base-snapshot"));
  assert.equal(
    error.message,
    "pct snapshot 920 base-snapshot failed with exit code 255: snapshot feature is not available",
  );
});

Deno.test("Pct.snapshots runs pct listsnapshot and parses names exactly", async () => {
  const runner = scriptedRunner(() => ({ stdout: PCT_MD_EXAMPLE }));
  assert.deepEqual((await new Pct(runner.run).snapshots("920")).map((entry) => entry.name), [
    "base-snapshot",
    "vllm-base-snapshot",
  ]);
  assert.deepEqual(runner.argvs(), [["pct", "listsnapshot", "920"]]);
});

Deno.test("Pct.snapshots quotes the error for a missing container", async () => {
  const runner = scriptedRunner(() => ({ exitCode: 2, stderr: MISSING }));
  const error = await commandError(new Pct(runner.run).snapshots("920"));
  assert.match(error.message, /^pct listsnapshot 920 failed with exit code 2: Configuration file/);
});

Deno.test("Pct.config runs pct config --current 1 (what is in effect) and parses it", async () => {
  const runner = scriptedRunner(() => ({ stdout: CONFIG_920 }));
  const config = await new Pct(runner.run).config("920");
  assert.deepEqual(runner.argvs(), [["pct", "config", "920", "--current", "1"]]);
  assert.deepEqual(config.get("cores"), ["8"]);
  assert.deepEqual(config.get("lxc.cgroup2.devices.allow"), ["c 195:* rwm", "c 509:* rwm"]);
});

Deno.test("Pct.config reads each container's config once, again after pct set or snapshot", async () => {
  let reads = 0;
  const runner = scriptedRunner((argv) =>
    argv[1] === "config" ? { stdout: `cores: ${++reads}\n` } : {}
  );
  const pct = new Pct(runner.run);
  assert.deepEqual((await pct.config("920")).get("cores"), ["1"]);
  const copy = await pct.config("920");
  copy.set("cores", ["99"]);
  assert.deepEqual((await pct.config("920")).get("cores"), ["1"], "a caller's map is its own");
  assert.deepEqual((await pct.config("901")).get("cores"), ["2"], "per container");
  await pct.set("920", { features: "nesting=1" });
  assert.deepEqual((await pct.config("920")).get("cores"), ["3"], "read again after pct set");
  await pct.snapshot("920", "s");
  assert.deepEqual((await pct.config("920")).get("cores"), ["4"], "and after pct snapshot");
  assert.deepEqual(runner.argvs().filter((argv) => argv[1] === "config").length, 4);
});

Deno.test("Pct.config does not keep a failed read", async () => {
  let failing = true;
  const runner = scriptedRunner(() =>
    failing ? { exitCode: 2, stderr: MISSING } : { stdout: CONFIG_920 }
  );
  const pct = new Pct(runner.run);
  await commandError(pct.config("920"));
  failing = false;
  assert.deepEqual((await pct.config("920")).get("cores"), ["8"]);
});

Deno.test("Pct.set passes each option as --key value, in order", async () => {
  const runner = scriptedRunner();
  await new Pct(runner.run).set("920", { features: "nesting=1,keyctl=1", memory: "4096" });
  assert.deepEqual(runner.argvs(), [
    ["pct", "set", "920", "--features", "nesting=1,keyctl=1", "--memory", "4096"],
  ]);
});

Deno.test("Pct.set quotes pct's error", async () => {
  const runner = scriptedRunner(() => ({ exitCode: 255, stderr: "CT is locked (backup)\n" }));
  const error = await commandError(new Pct(runner.run).set("920", { memory: "1" }));
  assert.equal(
    error.message,
    "pct set 920 --memory 1 failed with exit code 255: CT is locked (backup)",
  );
});

Deno.test("Pct.raw returns any result and prefixes pct", async () => {
  const runner = scriptedRunner(() => ({
    exitCode: 255,
    stderr: "ERROR: unknown command 'pct foo'\n",
  }));
  const result = await new Pct(runner.run).raw(["foo", "920"]);
  assert.equal(result.exitCode, 255);
  assert.deepEqual(runner.calls, [{ argv: ["pct", "foo", "920"], options: {} }]);
});

Deno.test("Pct against the in-memory model: snapshot, then find it by exact name", async () => {
  const model = new InMemoryPct({
    containers: { "920": { status: "stopped", snapshots: [{ name: "vllm-base-snapshot" }] } },
  });
  const pct = new Pct(model.run);
  const names = async () => (await pct.snapshots("920")).map((entry) => entry.name);
  assert.deepEqual(await names(), ["vllm-base-snapshot"]);
  await pct.snapshot("920", "base-snapshot");
  assert.deepEqual(await names(), ["vllm-base-snapshot", "base-snapshot"]);
  const again = await commandError(pct.snapshot("920", "base-snapshot"));
  assert.match(again.message, /snapshot name 'base-snapshot' already used$/);
});

// --- batched read-only commands ----------------------------------------------------------------

/** A pct client over the in-memory fake, with a running 950 holding one file. */
function batchFixture() {
  const fake = new InMemoryPct({
    containers: {
      "950": { status: "running", files: { "/etc/motd": { content: "hi\n" } } },
    },
  });
  return { fake, pct: new Pct(fake.run) };
}

Deno.test("Pct.prefetch runs the commands in one pct exec, at the first exec of one; each result answers one exec", async () => {
  const { fake, pct } = batchFixture();
  pct.prefetch("950", { checks: [["cat", "/etc/motd"], ["cat", "/nope"]], verifications: [] });
  await pct.status("950");
  await pct.exec("950", ["true"]);
  assert.equal(fake.argvs().length, 2, "not yet");
  const motd = await pct.exec("950", ["cat", "/etc/motd"]);
  assert.equal(fake.argvs().length, 3);
  assert.equal(motd.stdout, "hi\n");
  assert.notEqual((await pct.exec("950", ["cat", "/nope"])).exitCode, 0);
  assert.equal(fake.argvs().length, 3, "answered from the batch");
  await pct.exec("950", ["cat", "/etc/motd"]);
  assert.equal(fake.argvs().length, 4, "an answer is used once");
});

Deno.test("Pct.prefetch: a call that may change the container forgets the batch; status does not", async () => {
  const { fake, pct } = batchFixture();
  pct.prefetch("950", { checks: [["cat", "/etc/motd"], ["cat", "/etc/motd"]], verifications: [] });
  assert.equal((await pct.exec("950", ["cat", "/etc/motd"])).stdout, "hi\n");
  await pct.status("950");
  assert.equal((await pct.exec("950", ["cat", "/etc/motd"])).stdout, "hi\n");
  assert.equal(fake.argvs().length, 2);
  pct.prefetch("950", { checks: [["cat", "/etc/motd"], ["cat", "/etc/motd"]], verifications: [] });
  await pct.exec("950", ["cat", "/etc/motd"]);
  await pct.exec("950", ["touch", "/etc/other"]);
  await pct.exec("950", ["cat", "/etc/motd"]);
  assert.equal(fake.argvs().length, 5, "the second cat ran for real");
});

Deno.test("Pct.prefetch: the verification's commands answer only when every check succeeded", async () => {
  const fake = new InMemoryPct({
    containers: { "950": { status: "running", files: { "/etc/motd": { content: "hi\n" } } } },
    // Exit 124 is what the batch's deadline for one command gives.
    exec: [{ match: "^docker run --rm hello-world$", exit: 124 }],
  });
  const pct = new Pct(fake.run);
  const verifications = [["cat", "/etc/motd"], ["docker", "run", "--rm", "hello-world"]];
  pct.prefetch("950", { checks: [["true"], ["false"]], verifications });
  await pct.exec("950", ["true"]);
  assert.equal(pct.waiting("950", ["cat", "/etc/motd"]), 0, "a check failed: not run");
  pct.prefetch("950", { checks: [["true"]], verifications });
  await pct.exec("950", ["true"]);
  assert.equal(pct.waiting("950", ["cat", "/etc/motd"]), 1);
  assert.equal(pct.waiting("950", verifications[1]), 0, "cut off: it runs alone, as asked");
  assert.equal(fake.argvs().length, 2);
  await pct.exec("950", verifications[1]);
  assert.equal(fake.argvs().length, 3);
});

Deno.test("Pct.prefetch: a batch that fails as a whole is forgotten, and the observer told why", async () => {
  const fake = new InMemoryPct({ containers: { "950": { status: "stopped" } } });
  const unusable: string[] = [];
  const pct = new Pct(fake.run, {
    answered: () => {},
    unusable: (ctid, commands, why) => unusable.push(`${ctid}: ${commands}: ${why}`),
  });
  pct.prefetch("950", { checks: [["true"], ["false"]], verifications: [] });
  await pct.exec("950", ["true"]);
  assert.equal(pct.waiting("950", ["false"]), 0);
  assert.equal(fake.argvs().length, 2, "the batch, then the command itself");
  assert.equal(unusable.length, 1);
  assert.match(unusable[0], /^950: 2: exit code \d+: .+/);
  // No batch is tried there again: it would most likely fail the same way.
  pct.prefetch("950", { checks: [["true"], ["false"]], verifications: [] });
  await pct.exec("950", ["true"]);
  assert.equal(fake.argvs().length, 3, "the command alone");
  assert.equal(unusable.length, 1);
});

Deno.test("Pct.prefetch: a batch whose output cannot be read is forgotten, and the observer told why", async () => {
  const runner = scriptedRunner(() => ({ stdout: "not base64 at all\n" }));
  const unusable: string[] = [];
  const pct = new Pct(runner.run, {
    answered: () => {},
    unusable: (_ctid, commands, why) => unusable.push(`${commands}: ${why}`),
  });
  pct.prefetch("950", { checks: [["true"], ["false"]], verifications: [["vllm", "--version"]] });
  await pct.exec("950", ["true"]);
  assert.deepEqual(unusable, ["2: Expected 2 or 3 probe results, got 1"]);
  // The batch's own call says what it asks, in words; its script is for DEBUG.
  assert.equal(
    runner.calls[0].options?.label,
    "2 checks in one call in container 950, then 1 of the verification's if all pass",
  );
});
