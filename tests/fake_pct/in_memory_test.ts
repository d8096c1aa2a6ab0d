import assert from "node:assert/strict";
import { FakePct, type FakePctState, type FakePctStateInput } from "./fake_pct.ts";
import { InMemoryPct, type PushCall } from "./in_memory.ts";

const running: FakePctStateInput = { containers: { "950": { status: "running" } } };

/**
 * A snapshot time, which depends on when the snapshot was taken: as `listsnapshot` prints it, or
 * as `config --snapshot` gives it (`snaptime: <epoch seconds>`). The two transports take their
 * snapshots moments apart, sometimes across a second's boundary.
 */
const TIME = /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d|(?<=snaptime: )\d+/g;

/** The state without the snapshot times. */
function timeless(state: FakePctState): unknown {
  return JSON.parse(JSON.stringify(state).replace(TIME, "TIME"));
}

Deno.test("InMemoryPct answers like the fake program, call for call, and ends in the same state", async () => {
  const state: FakePctStateInput = {
    containers: {
      "950": { status: "running", name: "vllm", files: { "/etc/a": { content: "a\n" } } },
      "951": { status: "stopped", template: true },
    },
    exec: [
      { match: "^dpkg -s jq$", when: "jq", stdout: "install ok installed\n" },
      { match: "^dpkg -s jq$", exit: 1, stderr: "package 'jq' is not installed\n" },
      { match: "^apt-get install -y jq$", set: ["jq"], times: 1 },
    ],
    failures: [{ command: "delsnapshot", stderr: "CT is locked (snapshot)", times: 1 }],
  };
  const calls: { argv: string[]; stdin?: string }[] = [
    { argv: ["list"] },
    { argv: ["status", "950", "--verbose"] },
    { argv: ["status", "9"] },
    { argv: ["frobnicate", "950"] },
    { argv: ["start", "950"] },
    { argv: ["start", "951"] },
    { argv: ["exec", "950", "--", "dpkg", "-s", "jq"] },
    { argv: ["exec", "950", "--", "apt-get", "install", "-y", "jq"] },
    { argv: ["exec", "950", "--", "apt-get", "install", "-y", "jq"] },
    { argv: ["exec", "950", "--", "dpkg", "-s", "jq"] },
    { argv: ["exec", "950", "--", "tee", "-a", "/etc/a"], stdin: "b\n" },
    { argv: ["exec", "950", "--", "sha256sum", "/etc/a", "/nope"] },
    { argv: ["exec", "950", "--", "nvidia-smi"] },
    { argv: ["exec", "950", "ls"] },
    { argv: ["snapshot", "950", "base-snapshot", "--description", "first\nsecond"] },
    { argv: ["snapshot", "950", "base-snapshot"] },
    { argv: ["listsnapshot", "950"] },
    { argv: ["shutdown", "950", "--timeout", "5"] },
    { argv: ["exec", "950", "--", "true"] },
    { argv: ["set", "950", "--memory", "2048", "--delete", "nothing"] },
    { argv: ["config", "950"] },
    { argv: ["delsnapshot", "950", "base-snapshot"] },
    { argv: ["rollback", "950", "base-snapshot", "--start", "1"] },
    { argv: ["config", "950", "--snapshot", "base-snapshot"] },
    { argv: ["status", "952"] },
  ];
  await using program = await FakePct.create(state);
  const memory = new InMemoryPct(state);
  for (const { argv, stdin } of calls) {
    const expected = await program.run(argv, { stdin });
    const actual = await memory.run(["pct", ...argv], { input: stdin });
    assert.deepEqual(
      {
        exitCode: actual.exitCode,
        stdout: actual.stdout.replace(TIME, "TIME"),
        stderr: actual.stderr,
      },
      { ...expected, stdout: expected.stdout.replace(TIME, "TIME") },
      `pct ${argv.join(" ")}`,
    );
  }
  assert.deepEqual(timeless(memory.state), timeless(await program.state()));
  assert.deepEqual(memory.argvs(), await program.calls());
});

Deno.test("InMemoryPct records every call with its options, and sorts them out", async () => {
  const pct = new InMemoryPct(running);
  await pct.run(["pct", "status", "950"]);
  await pct.run(["pct", "exec", "950", "--", "true"], { timeoutMs: 5000 });
  await pct.run(["pct", "shutdown", "950", "--timeout", "5"]);
  await pct.run(["pct", "start", "950"]);
  assert.deepEqual(pct.calls(), [
    { argv: ["pct", "status", "950"], options: undefined },
    { argv: ["pct", "exec", "950", "--", "true"], options: { timeoutMs: 5000 } },
    { argv: ["pct", "shutdown", "950", "--timeout", "5"], options: undefined },
    { argv: ["pct", "start", "950"], options: undefined },
  ]);
  assert.deepEqual(pct.argvs()[0], ["status", "950"]);
  assert.deepEqual(pct.subcommands(), ["status", "exec", "shutdown", "start"]);
  assert.deepEqual(pct.execs(), [["true"]]);
  assert.deepEqual(pct.execLines(), ["true"]);
  assert.deepEqual(pct.mutatingCalls(), [["shutdown", "950", "--timeout", "5"], ["start", "950"]]);
  pct.clearCalls();
  assert.deepEqual(pct.calls(), []);
  assert.equal(pct.container("950").status, "running", "the state stays");
});

Deno.test("InMemoryPct answers any other program with 127, and records it", async () => {
  const pct = new InMemoryPct(running);
  const result = await pct.run(["lxc-attach", "-n", "950"]);
  assert.deepEqual(result, {
    argv: ["lxc-attach", "-n", "950"],
    exitCode: 127,
    stdout: "",
    stderr: "lxc-attach: command not found\n",
    durationMs: 0,
  });
  assert.deepEqual(pct.argvs(), [["lxc-attach", "-n", "950"]]);
});

Deno.test("InMemoryPct runs a rule's reply with the argv and the container, after set", async () => {
  const seen: string[][] = [];
  const pct = new InMemoryPct({
    ...running,
    exec: [{
      match: "^python3 -m venv ",
      set: ["venv"],
      exit: 99,
      reply: (argv, container) => {
        seen.push([...argv, ...container.flags]);
        container.files[`${argv[3]}/bin/python`] = { content: "", mode: "0755" };
        return { stdout: "created\n" };
      },
    }],
  });
  const result = await pct.run(["pct", "exec", "950", "--", "python3", "-m", "venv", "/opt/v"]);
  assert.deepEqual([result.exitCode, result.stdout, result.stderr], [0, "created\n", ""]);
  assert.deepEqual(seen, [["python3", "-m", "venv", "/opt/v", "venv"]]);
  const test = await pct.run(["pct", "exec", "950", "--", "test", "-x", "/opt/v/bin/python"]);
  assert.equal(test.exitCode, 0);
});

Deno.test("InMemoryPct failNext fails one call and leaves the container as it was", async () => {
  const pct = new InMemoryPct({ containers: { "950": { status: "stopped" } } });
  const container = pct.container("950");
  pct.failNext("start", { stderr: "CT is locked (backup)" });
  pct.failNext("start", { stderr: "got timeout", effect: "apply" });
  const first = await pct.run(["pct", "start", "950"]);
  assert.deepEqual([first.exitCode, first.stderr], [255, "CT is locked (backup)\n"]);
  assert.equal(container.status, "stopped");
  const second = await pct.run(["pct", "start", "950"]);
  assert.deepEqual([second.exitCode, second.stderr], [255, "got timeout\n"]);
  assert.equal(container.status, "running", "effect apply: it did start");
  assert.equal((await pct.run(["pct", "stop", "950"])).exitCode, 0);
  assert.equal(pct.container("950"), container, "tests may hold on to a container");
  assert.deepEqual(pct.state.failures.map((rule) => rule.fired), [1, 1]);
});

Deno.test("InMemoryPct calls onPush after each push, failed ones too, while the host file exists", async () => {
  const dir = await Deno.makeTempDir({ prefix: "in_memory_push_" });
  try {
    const hostFile = `${dir}/unit`;
    await Deno.writeTextFile(hostFile, "[Service]\n");
    const pushes: Omit<PushCall, "state">[] = [];
    const pct = new InMemoryPct(running, {
      onPush: async ({ state: _state, ...push }) => {
        pushes.push(push);
        assert.equal(await Deno.readTextFile(push.hostFile), "[Service]\n");
      },
    });
    pct.failNext("push", { stderr: "failed to open /etc/x: Permission denied" });
    await pct.run(["pct", "push", "950", hostFile, "/etc/x"]);
    await pct.run(["pct", "push", "950", hostFile, "/etc/y", "--perms", "600"]);
    await pct.run(["pct", "push", "950", hostFile]);
    assert.deepEqual(
      pushes.map((push) => [push.ctid, push.hostFile, push.destination, push.result.exitCode]),
      [["950", hostFile, "/etc/x", 255], ["950", hostFile, "/etc/y", 0]],
      "a push pct refuses for its arguments reads no file",
    );
    assert.deepEqual(pct.container("950").files, {
      "/etc/y": { content: "[Service]\n", mode: "0600" },
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("InMemoryPct.container names a CTID it does not have", () => {
  assert.throws(() => new InMemoryPct(running).container("920"), {
    message: "The fake pct has no container 920",
  });
});

Deno.test("InMemoryPct rejects an exec rule that is not a regular expression", () => {
  assert.throws(() => new InMemoryPct({ containers: {}, exec: [{ match: "(" }] }), SyntaxError);
});

Deno.test("the fake models what a real host adds: template and lock in status --verbose, snapstate, unlock, pending features", async () => {
  const pct = new InMemoryPct({
    containers: {
      "920": {
        status: "stopped",
        lock: "snapshot",
        snapshots: [{
          name: "vllm-base-snapshot",
          time: "2026-01-02 03:04:05",
          snapstate: "prepare",
        }],
      },
      "960": { status: "stopped", template: true },
      "902": { status: "running", config: { features: "keyctl=1" } },
    },
  });
  const call = async (...argv: string[]) => {
    const result = await pct.run(["pct", ...argv]);
    return [result.exitCode, result.stdout, result.stderr];
  };
  assert.deepEqual(await call("status", "920", "--verbose"), [
    0,
    "lock: snapshot\nstatus: stopped\nvmid: 920\n",
    "",
  ]);
  assert.deepEqual(await call("status", "960", "--verbose"), [
    0,
    "status: stopped\ntemplate: 1\nvmid: 960\n",
    "",
  ]);
  // listsnapshot shows a half-made snapshot like any other; only config --snapshot tells.
  assert.match((await call("listsnapshot", "920"))[1] as string, /^`-> vllm-base-snapshot /);
  const section = await call("config", "920", "--snapshot", "vllm-base-snapshot");
  assert.match(section[1] as string, /^snapstate: prepare\nsnaptime: \d+\n$/);
  assert.deepEqual(await call("start", "920"), [255, "", "CT is locked (snapshot)\n"]);
  assert.deepEqual(await call("delsnapshot", "920", "vllm-base-snapshot", "--force", "1"), [
    255,
    "",
    "CT is locked (snapshot)\n",
  ]);
  assert.deepEqual(await call("unlock", "920"), [0, "", ""]);
  assert.deepEqual(await call("delsnapshot", "920", "vllm-base-snapshot", "--force", "1"), [
    0,
    "",
    "",
  ]);
  assert.deepEqual(pct.container("920").snapshots, []);
  // features set on a running container is pending until its next start.
  assert.deepEqual(await call("set", "902", "--features", "keyctl=1,nesting=1"), [0, "", ""]);
  assert.match((await call("config", "902"))[1] as string, /^features: keyctl=1,nesting=1$/m);
  assert.match(
    (await call("config", "902", "--current", "1"))[1] as string,
    /^features: keyctl=1$/m,
  );
  await call("shutdown", "902");
  await call("start", "902");
  assert.match(
    (await call("config", "902", "--current", "1"))[1] as string,
    /^features: keyctl=1,nesting=1$/m,
  );
});

Deno.test("pct exec finds a command on pct's PATH (/sbin:/bin:/usr/sbin:/usr/bin), not by its base name", async () => {
  const pct = new InMemoryPct({
    containers: {
      "950": {
        status: "running",
        files: {
          "/etc/a": { content: "a\n" },
          // A data file is no program.
          "/etc/default/python3": { content: "" },
          // Installed where pct exec's PATH does not look.
          "/usr/local/bin/vllm": { content: "", mode: "0755" },
          "/usr/bin/python3": { content: "", mode: "0755" },
        },
      },
    },
    exec: [
      { match: "^vllm --version$", stdout: "0.11.0\n" },
      { match: "^python3 --version$", stdout: "Python 3.12.3\n" },
    ],
  });
  const exec = async (...argv: string[]) => {
    const result = await pct.run(["pct", "exec", "950", "--", ...argv]);
    return [result.exitCode, result.stdout];
  };
  assert.deepEqual(await exec("cat", "/etc/a"), [0, "a\n"]);
  assert.deepEqual(await exec("/bin/cat", "/etc/a"), [0, "a\n"]);
  assert.deepEqual(await exec("/usr/bin/cat", "/etc/a"), [0, "a\n"]);
  assert.deepEqual(await exec("/usr/local/bin/cat", "/etc/a"), [127, ""]);
  assert.deepEqual(await exec("vllm", "--version"), [127, ""]);
  assert.deepEqual(await exec("python3", "--version"), [0, "Python 3.12.3\n"]);
});
