import assert from "node:assert/strict";
import { FakePct, type FakePctStateInput } from "./fake_pct.ts";
import { sha256Hex } from "./_exec.ts";

/** The example of `pct listsnapshot` in pct.md, verbatim. */
const PCT_MD_LISTSNAPSHOT =
  "`-> base-snapshot               2026-08-29 14:02:11     no-description\n" +
  " `-> vllm-base-snapshot         2026-08-30 09:40:55     vLLM 0.11 ready\n" +
  "  `-> current                                           You are here!\n";

// Name padded to 30 - 3, a space, no time padded to 23, a space.
const CURRENT_ONLY = "`-> current" + " ".repeat(20 + 1 + 23 + 1) + "You are here!\n";

function fake(state: FakePctStateInput = { containers: {} }): Promise<FakePct> {
  return FakePct.create(state);
}

const running: FakePctStateInput = { containers: { "950": { status: "running" } } };
const stopped: FakePctStateInput = { containers: { "950": { status: "stopped" } } };

// --- the test helper ---

Deno.test("fake pct: the wrapper is an executable first on PATH", async () => {
  await using pct = await fake();
  const env = pct.env();
  assert.equal(env.FAKE_PCT_DIR, pct.dir);
  assert.ok(env.PATH.startsWith(`${pct.binDir}:`));
  assert.equal((await Deno.stat(pct.pctPath)).mode! & 0o111, 0o111);
  const output = await new Deno.Command("sh", {
    args: ["-c", "command -v pct"],
    env: env,
  }).output();
  assert.equal(new TextDecoder().decode(output.stdout).trim(), pct.pctPath);
});

Deno.test("fake pct: every call is recorded in order, failing ones too", async () => {
  await using pct = await fake(running);
  await pct.run(["status", "950"]);
  await pct.run(["frobnicate", "x y"]);
  await pct.run(["status", "abc"]);
  assert.deepEqual(await pct.calls(), [["status", "950"], ["frobnicate", "x y"], [
    "status",
    "abc",
  ]]);
  await pct.clearCalls();
  assert.deepEqual(await pct.calls(), []);
});

Deno.test("fake pct: update and setState change the state the program sees", async () => {
  await using pct = await fake(running);
  const after = await pct.update((state) => {
    state.containers["950"].status = "stopped";
  });
  assert.equal(after.containers["950"].status, "stopped");
  assert.equal((await pct.run(["status", "950"])).stdout, "status: stopped\n");
  await pct.setState({ node: "pve2", containers: {} });
  assert.equal(
    (await pct.run(["status", "950"])).stderr,
    "Configuration file 'nodes/pve2/lxc/950.conf' does not exist\n",
  );
});

Deno.test("fake pct: create rejects an exec rule that is not a regular expression", async () => {
  await assert.rejects(FakePct.create({ containers: {}, exec: [{ match: "(" }] }), SyntaxError);
});

Deno.test("fake pct: create rejects an exec rule whose reply is a function", async () => {
  await assert.rejects(
    FakePct.create({ containers: {}, exec: [{ match: "^true$", reply: () => ({}) }] }),
    { name: "TypeError", message: /^Cannot save exec rule "\^true\$" for the fake pct program/ },
  );
});

Deno.test("fake pct: concurrent calls do not lose each other's changes", async () => {
  const flags = Array.from({ length: 8 }, (_, i) => `flag${i}`);
  await using pct = await fake({
    containers: { "950": { status: "running" } },
    exec: flags.map((flag) => ({ match: `^touch ${flag}$`, set: [flag] })),
  });
  const results = await Promise.all(
    flags.map((flag) => pct.run(["exec", "950", "--", "touch", flag])),
  );
  assert.deepEqual(results.map((result) => result.exitCode + result.stderr), flags.map(() => "0"));
  assert.deepEqual((await pct.state()).containers["950"].flags.sort(), flags);
});

Deno.test("fake pct: a process killed while it holds the lock does not block later calls", async () => {
  await using pct = await fake(running);
  const stateModule = new URL("./state.ts", import.meta.url).href;
  const holder = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `import { withStateLock } from ${JSON.stringify(stateModule)};
       await withStateLock(${JSON.stringify(pct.dir)}, () => {
         console.log("locked");
         return new Promise(() => setInterval(() => {}, 1000));
       });`,
    ],
    stdout: "piped",
  }).spawn();
  const reader = holder.stdout.pipeThrough(new TextDecoderStream()).getReader();
  assert.equal((await reader.read()).value?.trim(), "locked");
  const blocked = pct.run(["start", "950"]);
  // While the holder lives the call waits: no answer in 300 ms (unlocked, it answers in a few), so
  // what lets it through below is the holder's death, not a lock that was never taken.
  let timer = 0;
  const early = await Promise.race([
    blocked,
    new Promise((resolve) => timer = setTimeout(resolve, 300)),
  ]);
  clearTimeout(timer);
  assert.equal(early, undefined, "pct waits while the lock is held");
  holder.kill("SIGKILL");
  await holder.status;
  await reader.cancel();
  assert.equal((await blocked).stderr, "CT 950 already running\n");
});

// --- general rules ---

Deno.test("fake pct: an invalid VMID is a parameter error", async () => {
  await using pct = await fake(running);
  const text = await pct.run(["status", "abc"]);
  assert.equal(text.exitCode, 255);
  assert.equal(
    text.stderr,
    "400 Parameter verification failed.\n" +
      "vmid: type check ('integer') failed - got 'abc'\n" +
      "pct status <vmid> [OPTIONS]\n",
  );
  for (const vmid of ["50", "0950", "1234567890"]) {
    const result = await pct.run(["start", vmid]);
    assert.equal(result.exitCode, 255);
    assert.match(result.stderr, /^vmid: invalid format - value does not look like a valid VM ID$/m);
  }
});

Deno.test("fake pct: argument count errors", async () => {
  await using pct = await fake(running);
  assert.deepEqual(await pct.run(["status"]), {
    exitCode: 255,
    stdout: "",
    stderr: "400 not enough arguments\npct status <vmid> [OPTIONS]\n",
  });
  // pct snapshot create 950 x: "create" is taken as the VMID, and one argument is left over.
  const result = await pct.run(["snapshot", "create", "950", "x"]);
  assert.equal(result.exitCode, 255);
  assert.equal(result.stderr, "400 too many arguments\npct snapshot <vmid> <snapname> [OPTIONS]\n");
});

Deno.test("fake pct: an unknown subcommand prints the usage and exits 255", async () => {
  await using pct = await fake(running);
  const result = await pct.run(["foo", "950"]);
  assert.equal(result.exitCode, 255);
  assert.match(result.stderr, /^ERROR: unknown command 'pct foo'\nUSAGE: pct /);
  assert.match(result.stderr, /^ {7}pct listsnapshot <vmid>$/m);
  const none = await pct.run([]);
  assert.equal(none.exitCode, 255);
  assert.match(none.stderr, /^ERROR: no command specified\n/);
});

Deno.test("fake pct: a missing container exits 2 in direct commands and 255 in tasks", async () => {
  await using pct = await fake(running);
  const message = "Configuration file 'nodes/pve/lxc/951.conf' does not exist\n";
  const direct = [
    ["status", "951"],
    ["config", "951"],
    ["listsnapshot", "951"],
    ["set", "951", "--cores", "2"],
    ["exec", "951", "--", "true"],
  ];
  for (const args of direct) {
    assert.deepEqual(
      await pct.run(args),
      { exitCode: 2, stdout: "", stderr: message },
      args.join(" "),
    );
  }
  const tasks = [
    ["start", "951"],
    ["snapshot", "951", "snap"],
    ["delsnapshot", "951", "snap"],
    ["rollback", "951", "snap"],
    ["push", "951", "/etc/hostname", "/x"],
    ["pull", "951", "/x", "/tmp/x"],
  ];
  for (const args of tasks) {
    assert.deepEqual(
      await pct.run(args),
      { exitCode: 255, stdout: "", stderr: message },
      args.join(" "),
    );
  }
  for (const command of ["shutdown", "stop"]) {
    assert.deepEqual(await pct.run([command, "951"]), {
      exitCode: 255,
      stdout: "",
      stderr: "CT 951 not running\n",
    });
  }
});

Deno.test("fake pct: options are case-insensitive, take one or two dashes and =", async () => {
  await using pct = await fake(running);
  for (
    const args of [["--forceStop", "1"], ["-forcestop", "yes"], ["--FORCESTOP=on"], ["--forcestop"]]
  ) {
    await pct.update((state) => {
      state.containers["950"].status = "running";
      state.failures = [{ command: "shutdown", stderr: "container did not stop" }];
    });
    const result = await pct.run(["shutdown", "950", "-Timeout", "5", ...args]);
    assert.equal(result.exitCode, 0, `${args.join(" ")}: ${result.stderr}`);
  }
});

Deno.test("fake pct: a bad option value or an unknown option is rejected", async () => {
  await using pct = await fake(running);
  assert.deepEqual(await pct.run(["status", "950", "--verbose", "maybe"]), {
    exitCode: 255,
    stdout: "",
    stderr: "400 Parameter verification failed.\n" +
      "verbose: type check ('boolean') failed - got 'maybe'\n" +
      "pct status <vmid> [OPTIONS]\n",
  });
  const timeout = await pct.run(["shutdown", "950", "--timeout", "soon"]);
  assert.match(timeout.stderr, /^timeout: type check \('integer'\) failed - got 'soon'$/m);
  assert.deepEqual(await pct.run(["start", "950", "--bogus", "1"]), {
    exitCode: 255,
    stdout: "",
    stderr: "Unknown option: bogus\n400 unable to parse option\npct start <vmid> [OPTIONS]\n",
  });
  const missing = await pct.run(["snapshot", "950", "s1", "--description"]);
  assert.match(
    missing.stderr,
    /^Option description requires an argument\n400 unable to parse option\n/,
  );
});

// --- status, start, shutdown, stop ---

Deno.test("fake pct: status prints running or stopped", async () => {
  await using pct = await fake({
    containers: { "950": { status: "running" }, "951": { status: "stopped" } },
  });
  assert.deepEqual(await pct.run(["status", "950"]), {
    exitCode: 0,
    stdout: "status: running\n",
    stderr: "",
  });
  assert.equal((await pct.run(["status", "951"])).stdout, "status: stopped\n");
});

Deno.test("fake pct: status --verbose prints sorted keys, pid only when running", async () => {
  await using pct = await fake({
    containers: {
      "950": { status: "running", name: "vllm" },
      "951": { status: "stopped", lock: "backup", config: { hostname: "other" } },
    },
  });
  const verbose = (await pct.run(["status", "950", "--verbose"])).stdout;
  assert.match(verbose, /^name: vllm\npid: \d+\nstatus: running\nvmid: 950\n$/);
  assert.equal(
    (await pct.run(["status", "951", "--verbose", "1"])).stdout,
    "lock: backup\nname: other\nstatus: stopped\nvmid: 951\n",
  );
});

Deno.test("fake pct: start starts a stopped container", async () => {
  await using pct = await fake(stopped);
  assert.deepEqual(await pct.run(["start", "950"]), { exitCode: 0, stdout: "", stderr: "" });
  assert.equal((await pct.state()).containers["950"].status, "running");
});

Deno.test("fake pct: start refuses a running, locked or template container", async () => {
  await using pct = await fake({
    containers: {
      "950": { status: "running" },
      "951": { status: "stopped", lock: "backup" },
      "952": { status: "stopped", template: true },
    },
  });
  assert.deepEqual(await pct.run(["start", "950"]), {
    exitCode: 255,
    stdout: "",
    stderr: "CT 950 already running\n",
  });
  assert.equal((await pct.run(["start", "951"])).stderr, "CT is locked (backup)\n");
  assert.equal(
    (await pct.run(["start", "952"])).stderr,
    "you can't start a CT if it's a template\n",
  );
  assert.equal((await pct.run(["start", "951", "--skiplock", "1"])).exitCode, 0);
});

Deno.test("fake pct: shutdown stops a running container and refuses a stopped one", async () => {
  await using pct = await fake(running);
  assert.deepEqual(await pct.run(["shutdown", "950", "--timeout", "30"]), {
    exitCode: 0,
    stdout: "",
    stderr: "",
  });
  assert.equal((await pct.state()).containers["950"].status, "stopped");
  assert.deepEqual(await pct.run(["shutdown", "950"]), {
    exitCode: 255,
    stdout: "",
    stderr: "CT 950 not running\n",
  });
});

Deno.test("fake pct: shutdown that does not stop leaves the container running", async () => {
  await using pct = await fake({
    ...running,
    failures: [{ command: "shutdown", stderr: "container did not stop", times: 1 }],
  });
  assert.deepEqual(await pct.run(["shutdown", "950", "--timeout", "1"]), {
    exitCode: 255,
    stdout: "",
    stderr: "container did not stop\n",
  });
  assert.equal((await pct.state()).containers["950"].status, "running");
  assert.equal((await pct.state()).failures[0].fired, 1);
  assert.equal((await pct.run(["shutdown", "950"])).exitCode, 0, "works once times is used up");
});

Deno.test("fake pct: shutdown --forceStop 1 stops a container that does not shut down", async () => {
  await using pct = await fake({
    ...running,
    failures: [{ command: "shutdown", stderr: "container did not stop" }],
  });
  assert.deepEqual(await pct.run(["shutdown", "950", "--timeout", "1", "--forceStop", "1"]), {
    exitCode: 0,
    stdout: "",
    stderr: "",
  });
  assert.equal((await pct.state()).containers["950"].status, "stopped");
});

Deno.test("fake pct: stop hard-stops a running container", async () => {
  await using pct = await fake(running);
  assert.equal((await pct.run(["stop", "950"])).exitCode, 0);
  assert.equal((await pct.state()).containers["950"].status, "stopped");
  assert.equal((await pct.run(["stop", "950"])).stderr, "CT 950 not running\n");
});

// --- failure rules ---

Deno.test("fake pct: a failure rule fails without changing the state", async () => {
  await using pct = await fake({
    containers: { "950": { status: "stopped" }, "951": { status: "stopped" } },
    failures: [{
      command: "start",
      ctid: "950",
      stderr: "startup for container '950' failed",
      exit: 1,
    }],
  });
  assert.deepEqual(await pct.run(["start", "950"]), {
    exitCode: 1,
    stdout: "",
    stderr: "startup for container '950' failed\n",
  });
  assert.equal((await pct.run(["start", "951"])).exitCode, 0, "other CTIDs are not affected");
  const state = await pct.state();
  assert.equal(state.containers["950"].status, "stopped");
  assert.equal(state.containers["951"].status, "running");
});

Deno.test("fake pct: a failure rule with effect apply changes the state and still fails", async () => {
  await using pct = await fake({
    ...stopped,
    failures: [{ command: "start", stderr: "something went wrong", effect: "apply" }],
  });
  assert.equal((await pct.run(["start", "950"])).exitCode, 255);
  assert.equal((await pct.state()).containers["950"].status, "running");
});

Deno.test("fake pct: a failure rule does not hide parameter errors", async () => {
  await using pct = await fake({ ...running, failures: [{ command: "status", stderr: "boom" }] });
  assert.match((await pct.run(["status", "9"])).stderr, /^400 Parameter verification failed\./);
  assert.equal((await pct.state()).failures[0].fired, undefined);
});

Deno.test("fake pct: a failure rule's stdout replaces the answer, e.g. a stale status", async () => {
  await using pct = await fake({
    ...running,
    failures: [
      { command: "status", exit: 0, stdout: "status: stopped\n", stderr: "", times: 1 },
      { command: "start", stdout: "starting\n", stderr: "got timeout", effect: "apply" },
    ],
  });
  assert.deepEqual(await pct.run(["status", "950"]), {
    exitCode: 0,
    stdout: "status: stopped\n",
    stderr: "",
  });
  assert.equal((await pct.run(["status", "950"])).stdout, "status: running\n");
  await pct.run(["stop", "950"]);
  assert.deepEqual(await pct.run(["start", "950"]), {
    exitCode: 255,
    stdout: "starting\n",
    stderr: "got timeout\n",
  });
  assert.equal((await pct.state()).containers["950"].status, "running");
});

Deno.test("fake pct: a failure rule's delay holds the answer back", async () => {
  await using pct = await fake({
    ...running,
    failures: [{ command: "stop", stderr: "timeout", delayMs: 300 }],
  });
  const started = performance.now();
  await pct.run(["stop", "950"]);
  assert.ok(performance.now() - started >= 300);
});

Deno.test("fake pct: a delay ends early when the rule's releasedBy file appears", async () => {
  const dir = await Deno.makeTempDir({ prefix: "phoenix-release-" });
  const release = `${dir}/release`;
  try {
    await using pct = await fake({
      ...running,
      exec: [{ match: "^slow$", delayMs: 60_000, releasedBy: release, progress: "started\n" }],
    });
    const call = pct.run(["exec", "950", "--", "slow"]);
    let settled = false;
    call.finally(() => settled = true);
    // Still held back well after the fake has started and printed its progress.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    assert.equal(settled, false);
    await Deno.writeTextFile(release, "");
    assert.deepEqual(await call, { exitCode: 0, stdout: "started\n", stderr: "" });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// --- exec ---

Deno.test("fake pct: exec requires -- before the command", async () => {
  await using pct = await fake(running);
  assert.deepEqual(await pct.run(["exec", "950", "ls", "-la"]), {
    exitCode: 255,
    stdout: "",
    stderr:
      "Unknown option: la\n400 unable to parse option\npct exec <vmid> [<extra-args>] [OPTIONS]\n",
  });
  const plain = await pct.run(["exec", "950", "true"]);
  assert.equal(plain.exitCode, 255);
  assert.match(plain.stderr, /^fake pct: put "--"/);
  assert.equal((await pct.run(["exec", "950", "--"])).stderr, "missing command\n");
});

Deno.test("fake pct: exec refuses a stopped container", async () => {
  await using pct = await fake(stopped);
  assert.deepEqual(await pct.run(["exec", "950", "--", "true"]), {
    exitCode: 255,
    stdout: "",
    stderr: "container '950' not running!\n",
  });
});

Deno.test("fake pct: exec rules match in order, with when, unless, set and unset", async () => {
  await using pct = await fake({
    containers: { "950": { status: "running" }, "951": { status: "running" } },
    exec: [
      { match: "^dpkg -s jq$", when: "jq", stdout: "Status: install ok installed\n" },
      { match: "^dpkg -s jq$", exit: 1, stderr: "package 'jq' is not installed\n" },
      { match: "^apt-get install -y jq$", unless: "jq", set: ["jq"], stdout: "installed\n" },
      { match: "^apt-get install -y jq$", stdout: "already\n" },
      { match: "^apt-get remove -y jq$", unset: ["jq"] },
      { ctid: "951", match: "^hostname$", stdout: "only-951\n" },
    ],
  });
  const exec = (...argv: string[]) => pct.run(["exec", "950", "--", ...argv]);
  assert.deepEqual(await exec("dpkg", "-s", "jq"), {
    exitCode: 1,
    stdout: "",
    stderr: "package 'jq' is not installed\n",
  });
  assert.equal((await exec("apt-get", "install", "-y", "jq")).stdout, "installed\n");
  assert.equal((await exec("apt-get", "install", "-y", "jq")).stdout, "already\n");
  assert.deepEqual(await exec("dpkg", "-s", "jq"), {
    exitCode: 0,
    stdout: "Status: install ok installed\n",
    stderr: "",
  });
  assert.equal((await exec("apt-get", "remove", "-y", "jq")).exitCode, 0);
  assert.deepEqual((await pct.state()).containers["950"].flags, []);
  assert.equal((await exec("hostname")).exitCode, 127, "a rule for another CTID does not match");
  assert.equal((await pct.run(["exec", "951", "--", "hostname"])).stdout, "only-951\n");
});

Deno.test("fake pct: exec does not interpret sh -c; it needs a rule", async () => {
  await using pct = await fake({
    ...running,
    exec: [{ match: "^bash -c echo hi > /tmp/x$", stdout: "ran\n" }],
  });
  assert.equal(
    (await pct.run(["exec", "950", "--", "bash", "-c", "echo hi > /tmp/x"])).stdout,
    "ran\n",
  );
  const unknown = await pct.run(["exec", "950", "--", "sh", "-c", "true"]);
  assert.equal(unknown.exitCode, 127);
  assert.match(unknown.stderr, /^lxc-attach: 950: .*Failed to exec "sh"$/m);
});

Deno.test("fake pct: exec of an undeclared command exits 127", async () => {
  await using pct = await fake(running);
  const result = await pct.run(["exec", "950", "--", "nvidia-smi"]);
  assert.equal(result.exitCode, 127);
  assert.match(
    result.stderr,
    /^lxc-attach: 950: .*No such file or directory - Failed to exec "nvidia-smi"\n/,
  );
  assert.equal((await pct.run(["exec", "950", "--", "test", "-d", "/x"])).exitCode, 127);
});

Deno.test("fake pct: exec builtins work on the container's files", async () => {
  await using pct = await fake({
    containers: {
      "950": {
        status: "running",
        files: {
          "/etc/app.conf": { content: "a=1\n", mode: "0600" },
          "/etc/plain": { content: "x" },
        },
      },
    },
  });
  const exec = (...argv: string[]) => pct.run(["exec", "950", "--", ...argv]);
  assert.deepEqual(await exec("cat", "/etc/app.conf"), {
    exitCode: 0,
    stdout: "a=1\n",
    stderr: "",
  });
  assert.deepEqual(await exec("cat", "/nope"), {
    exitCode: 1,
    stdout: "",
    stderr: "cat: /nope: No such file or directory\n",
  });
  assert.equal((await exec("test", "-e", "/etc/app.conf")).exitCode, 0);
  assert.equal((await exec("test", "-f", "/nope")).exitCode, 1);
  assert.equal((await exec("stat", "-c", "%a", "/etc/app.conf")).stdout, "600\n");
  assert.equal((await exec("stat", "-c", "%a", "/etc/plain")).stdout, "644\n");
  assert.equal(
    (await exec("sha256sum", "/etc/app.conf")).stdout,
    `${await sha256Hex("a=1\n")}  /etc/app.conf\n`,
  );
  assert.equal((await exec("mkdir", "-p", "/opt/a/b")).exitCode, 0);
  assert.equal((await exec("rm", "-f", "/etc/app.conf", "/nope")).exitCode, 0);
  assert.equal((await exec("test", "-e", "/etc/app.conf")).exitCode, 1);
  assert.equal((await exec("true")).exitCode, 0);
  assert.equal((await exec("/bin/false")).exitCode, 1);
});

Deno.test("fake pct: touch, chmod and test -x work on the container's files", async () => {
  await using pct = await fake({
    containers: { "950": { status: "running", files: { "/etc/app.conf": { content: "a=1\n" } } } },
  });
  const exec = (...argv: string[]) => pct.run(["exec", "950", "--", ...argv]);
  assert.equal((await exec("touch", "/etc/app.conf", "/var/stamp")).exitCode, 0);
  assert.equal((await exec("test", "-x", "/var/stamp")).exitCode, 1);
  assert.equal((await exec("chmod", "755", "/var/stamp")).exitCode, 0);
  assert.equal((await exec("test", "-x", "/var/stamp")).exitCode, 0);
  assert.equal((await exec("test", "-x", "/nope")).exitCode, 1);
  assert.deepEqual(await exec("chmod", "0600", "/nope"), {
    exitCode: 1,
    stdout: "",
    stderr: "chmod: cannot access '/nope': No such file or directory\n",
  });
  assert.equal((await exec("chmod", "u+x", "/var/stamp")).exitCode, 127, "symbolic modes");
  const files = (await pct.state()).containers["950"].files;
  assert.deepEqual(files["/etc/app.conf"], { content: "a=1\n" }, "touch keeps a file as it is");
  assert.deepEqual(files["/var/stamp"], { content: "", mode: "0755" });
});

Deno.test("fake pct: ln -sfn makes a symbolic link that readlink prints and cat follows", async () => {
  await using pct = await fake({
    containers: { "950": { status: "running", files: { "/opt/a": { content: "A\n" } } } },
  });
  const exec = (...argv: string[]) => pct.run(["exec", "950", "--", ...argv]);
  assert.deepEqual(await exec("readlink", "/usr/bin/a"), { exitCode: 1, stdout: "", stderr: "" });
  assert.equal((await exec("ln", "-sfn", "/opt/a", "/usr/bin/a")).exitCode, 0);
  assert.equal((await exec("readlink", "/usr/bin/a")).stdout, "/opt/a\n");
  assert.equal((await exec("readlink", "/opt/a")).exitCode, 1, "not a link");
  assert.equal((await exec("cat", "/usr/bin/a")).stdout, "A\n");
  assert.equal((await exec("test", "-e", "/usr/bin/a")).exitCode, 0);
  await exec("ln", "-sfn", "/opt/b", "/usr/bin/a");
  assert.equal((await exec("readlink", "/usr/bin/a")).stdout, "/opt/b\n");
  assert.equal((await exec("test", "-e", "/usr/bin/a")).exitCode, 1, "a dangling link");
  assert.deepEqual((await pct.state()).containers["950"].files["/usr/bin/a"], {
    content: "",
    mode: "0777",
    symlink: "/opt/b",
  });
});

Deno.test("fake pct: an exec rule with times answers only that often", async () => {
  await using pct = await fake({
    ...running,
    exec: [
      { match: "^curl ", stdout: "503", times: 2 },
      { match: "^curl ", stdout: "200" },
    ],
  });
  const curl = async () => (await pct.run(["exec", "950", "--", "curl", "-s", "x"])).stdout;
  assert.deepEqual([await curl(), await curl(), await curl()], ["503", "503", "200"]);
  assert.deepEqual((await pct.state()).exec.map((rule) => rule.fired), [2, 1]);
});

Deno.test("fake pct: sha256sum builtin prints sha256sum's format", async () => {
  await using pct = await fake({
    containers: { "950": { status: "running", files: { "/f": { content: "" } } } },
  });
  assert.equal(
    (await pct.run(["exec", "950", "--", "sha256sum", "/f"])).stdout,
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  /f\n",
  );
});

Deno.test("fake pct: exec stdin goes into files with tee or stdinToFile", async () => {
  await using pct = await fake({
    ...running,
    exec: [{ match: "^install-config$", stdinToFile: "/etc/cfg" }],
  });
  const tee = await pct.run(["exec", "950", "--", "tee", "/etc/motd"], { stdin: "hello\n" });
  assert.deepEqual(tee, { exitCode: 0, stdout: "hello\n", stderr: "" });
  await pct.run(["exec", "950", "--", "tee", "-a", "/etc/motd"], { stdin: "again\n" });
  await pct.run(["exec", "950", "--", "install-config"], { stdin: "k=v\n" });
  const files = (await pct.state()).containers["950"].files;
  assert.deepEqual(files["/etc/motd"], { content: "hello\nagain\n", mode: "0644" });
  assert.deepEqual(files["/etc/cfg"], { content: "k=v\n", mode: "0644" });
});

Deno.test("fake pct: an exec rule's delay holds the answer back", async () => {
  await using pct = await fake({ ...running, exec: [{ match: "^slow$", delayMs: 300 }] });
  const started = performance.now();
  assert.equal((await pct.run(["exec", "950", "--", "slow"])).exitCode, 0);
  assert.ok(performance.now() - started >= 300);
});

// --- push and pull ---

Deno.test("fake pct: push copies a host file into the container", async () => {
  await using pct = await fake(running);
  const source = `${pct.dir}/source.txt`;
  await Deno.writeTextFile(source, "payload\n");
  const args = [
    "push",
    "950",
    source,
    "/etc/x",
    "--perms",
    "0600",
    "--user",
    "root",
    "--group",
    "adm",
  ];
  assert.deepEqual(await pct.run(args), { exitCode: 0, stdout: "", stderr: "" });
  assert.deepEqual((await pct.state()).containers["950"].files["/etc/x"], {
    content: "payload\n",
    mode: "0600",
    user: "root",
    group: "adm",
  });
  await pct.run(["push", "950", source, "/etc/y", "--perms", "755"]);
  assert.equal((await pct.state()).containers["950"].files["/etc/y"].mode, "0755");
});

Deno.test("fake pct: push refuses a stopped container", async () => {
  await using pct = await fake(stopped);
  assert.deepEqual(await pct.run(["push", "950", "/etc/hostname", "/x"]), {
    exitCode: 255,
    stdout: "",
    stderr: "can only push files to a running CT\n",
  });
});

Deno.test("fake pct: a push failure can exit 0 and copy nothing, like pct", async () => {
  await using pct = await fake({
    ...running,
    failures: [{
      command: "push",
      exit: 0,
      stderr: "failed to write /etc/x: No space left on device",
    }],
  });
  const source = `${pct.dir}/source.txt`;
  await Deno.writeTextFile(source, "payload\n");
  const result = await pct.run(["push", "950", source, "/etc/x"]);
  assert.equal(result.exitCode, 0);
  assert.deepEqual((await pct.state()).containers["950"].files, {});
});

Deno.test("fake pct: pull writes the container file to the host, and exits 0 when missing", async () => {
  await using pct = await fake({
    containers: { "950": { status: "running", files: { "/etc/x": { content: "inside\n" } } } },
  });
  const dest = `${pct.dir}/pulled.txt`;
  assert.deepEqual(await pct.run(["pull", "950", "/etc/x", dest]), {
    exitCode: 0,
    stdout: "",
    stderr: "",
  });
  assert.equal(await Deno.readTextFile(dest), "inside\n");
  const missing = `${pct.dir}/missing.txt`;
  assert.equal((await pct.run(["pull", "950", "/etc/nope", missing])).exitCode, 0);
  await assert.rejects(Deno.stat(missing), Deno.errors.NotFound);
});

// --- snapshots ---

Deno.test("fake pct: listsnapshot prints the tree with current last", async () => {
  await using pct = await fake({
    containers: {
      "920": {
        status: "stopped",
        snapshots: [
          { name: "base-snapshot", time: "2026-08-29 14:02:11" },
          {
            name: "vllm-base-snapshot",
            time: "2026-08-30 09:40:55",
            description: "vLLM 0.11 ready\nmore",
          },
        ],
      },
    },
  });
  assert.deepEqual(await pct.run(["listsnapshot", "920"]), {
    exitCode: 0,
    stdout: PCT_MD_LISTSNAPSHOT,
    stderr: "",
  });
});

Deno.test("fake pct: listsnapshot without snapshots prints only current", async () => {
  await using pct = await fake(stopped);
  assert.equal((await pct.run(["listsnapshot", "950"])).stdout, CURRENT_ONLY);
});

Deno.test("fake pct: snapshot appends a snapshot with the local time and description", async () => {
  await using pct = await fake({
    containers: { "950": { status: "running", config: { cores: "2" }, flags: ["ready"] } },
  });
  const before = Date.now();
  assert.deepEqual(
    await pct.run(["snapshot", "950", "base-snapshot", "--description", "Base\nline 2"]),
    {
      exitCode: 0,
      stdout: "",
      stderr: "",
    },
  );
  const [snapshot] = (await pct.state()).containers["950"].snapshots;
  assert.equal(snapshot.name, "base-snapshot");
  assert.equal(snapshot.description, "Base\nline 2");
  assert.match(snapshot.time!, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  const taken = new Date(snapshot.time!.replace(" ", "T")).getTime(); // parsed as local time
  assert.ok(taken >= before - 1000 && taken <= Date.now() + 1000, snapshot.time);
  assert.deepEqual(snapshot.config, { cores: "2" });
  assert.deepEqual(snapshot.flags, ["ready"]);
  const tree = (await pct.run(["listsnapshot", "950"])).stdout;
  assert.match(tree, /^`-> base-snapshot {15}\S+ \S+ {5}Base\n `-> current /);
});

Deno.test("fake pct: snapshot names are checked like pct does", async () => {
  await using pct = await fake({
    containers: { "950": { status: "running", snapshots: [{ name: "base-snapshot" }] } },
  });
  const invalid = await pct.run(["snapshot", "950", "1st"]);
  assert.equal(invalid.exitCode, 255);
  assert.equal(
    invalid.stderr,
    "400 Parameter verification failed.\n" +
      "snapname: invalid format - invalid configuration ID '1st'\n" +
      "pct snapshot <vmid> <snapname> [OPTIONS]\n",
  );
  for (const name of ["a", "with.dot", "x".repeat(41)]) {
    const result = await pct.run(["snapshot", "950", name]);
    assert.equal(result.exitCode, 255, name);
    assert.match(result.stderr, /^snapname: /m, name);
  }
  assert.equal((await pct.run(["snapshot", "950", "Ok_Name-2"])).exitCode, 0);
  assert.equal(
    (await pct.run(["snapshot", "950", "current"])).stderr,
    "unable to use snapshot name 'current' (reserved name)\n",
  );
  assert.equal((await pct.run(["snapshot", "950", "vzdump"])).exitCode, 255);
  assert.deepEqual(await pct.run(["snapshot", "950", "base-snapshot"]), {
    exitCode: 255,
    stdout: "",
    stderr: "snapshot name 'base-snapshot' already used\n",
  });
});

Deno.test("fake pct: snapshot fails on a locked container or with a bind mount", async () => {
  await using pct = await fake({
    containers: {
      "950": { status: "stopped", lock: "backup" },
      "951": { status: "stopped", config: { mp0: "/srv/models,mp=/models" } },
    },
  });
  assert.equal((await pct.run(["snapshot", "950", "snap"])).stderr, "CT is locked (backup)\n");
  assert.deepEqual(await pct.run(["snapshot", "951", "snap"]), {
    exitCode: 255,
    stdout: "",
    stderr: "snapshot feature is not available\n",
  });
  assert.deepEqual((await pct.state()).containers["951"].snapshots, []);
});

Deno.test("fake pct: delsnapshot removes a snapshot or says it does not exist", async () => {
  await using pct = await fake({
    containers: { "950": { status: "stopped", snapshots: [{ name: "one" }, { name: "two" }] } },
  });
  assert.deepEqual(await pct.run(["delsnapshot", "950", "one"]), {
    exitCode: 0,
    stdout: "",
    stderr: "",
  });
  assert.deepEqual((await pct.state()).containers["950"].snapshots, [{ name: "two" }]);
  assert.deepEqual(await pct.run(["delsnapshot", "950", "one"]), {
    exitCode: 255,
    stdout: "",
    stderr: "snapshot 'one' does not exist\n",
  });
});

Deno.test("fake pct: rollback restores the snapshot's state and stops the container", async () => {
  await using pct = await fake({
    containers: {
      "950": { status: "running", config: { cores: "2" }, files: { "/a": { content: "old" } } },
    },
  });
  await pct.run(["snapshot", "950", "clean"]);
  await pct.update((state) => {
    const container = state.containers["950"];
    container.config.cores = "8";
    container.files["/a"].content = "new";
    container.flags.push("dirty");
  });
  assert.deepEqual(await pct.run(["rollback", "950", "clean"]), {
    exitCode: 0,
    stdout: "",
    stderr: "",
  });
  const container = (await pct.state()).containers["950"];
  assert.equal(container.status, "stopped");
  assert.deepEqual(container.config, { cores: "2" });
  assert.deepEqual(container.files, { "/a": { content: "old" } });
  assert.deepEqual(container.flags, []);
  await pct.run(["rollback", "950", "clean", "--start", "1"]);
  assert.equal((await pct.state()).containers["950"].status, "running");
});

Deno.test("fake pct: rollback only goes to the newest snapshot, as on ZFS", async () => {
  await using pct = await fake({
    containers: { "950": { status: "stopped", snapshots: [{ name: "one" }, { name: "two" }] } },
  });
  assert.deepEqual(await pct.run(["rollback", "950", "one"]), {
    exitCode: 255,
    stdout: "",
    stderr: "can't rollback, 'one' is not most recent snapshot on 'local-zfs:subvol-950-disk-0'\n",
  });
  assert.equal(
    (await pct.run(["rollback", "950", "three"])).stderr,
    "snapshot 'three' does not exist\n",
  );
});

// --- config, list, set ---

Deno.test("fake pct: config prints sorted keys with the hostname", async () => {
  await using pct = await fake({
    containers: {
      "950": {
        status: "running",
        name: "vllmQwen3Coder",
        config: { memory: "40960", cores: "8", features: "nesting=1" },
        snapshots: [{ name: "s1", config: { cores: "4" } }],
      },
    },
  });
  assert.deepEqual(await pct.run(["config", "950"]), {
    exitCode: 0,
    stdout: "cores: 8\nfeatures: nesting=1\nhostname: vllmQwen3Coder\nmemory: 40960\nparent: s1\n",
    stderr: "",
  });
  assert.equal((await pct.run(["config", "950", "--snapshot", "s1"])).stdout, "cores: 4\n");
});

Deno.test("fake pct: list prints a table sorted by VMID", async () => {
  await using pct = await fake({
    containers: {
      "1000": { status: "stopped", name: "big" },
      "950": { status: "running", name: "vllmQwen3Coder" },
      "901": { status: "stopped", lock: "snapshot", config: { hostname: "BaseTemplateGPU" } },
    },
  });
  assert.deepEqual(await pct.run(["list"]), {
    exitCode: 0,
    stdout: "VMID       Status     Lock         Name\n" +
      "901        stopped    snapshot     BaseTemplateGPU\n" +
      "950        running                 vllmQwen3Coder\n" +
      "1000       stopped                 big\n",
    stderr: "",
  });
});

Deno.test("fake pct: list prints nothing when there are no containers", async () => {
  await using pct = await fake();
  assert.deepEqual(await pct.run(["list"]), { exitCode: 0, stdout: "", stderr: "" });
});

Deno.test("fake pct: set stores options in the config and deletes with --delete", async () => {
  await using pct = await fake({
    containers: { "950": { status: "stopped", config: { swap: "512", dev0: "/dev/nvidia0" } } },
  });
  const args = [
    "set",
    "950",
    "--Cores",
    "4",
    "-features",
    "nesting=1,keyctl=1",
    "--onboot",
    "--delete",
    "swap,dev0",
  ];
  assert.deepEqual(await pct.run(args), { exitCode: 0, stdout: "", stderr: "" });
  assert.deepEqual((await pct.state()).containers["950"].config, {
    cores: "4",
    features: "nesting=1,keyctl=1",
    onboot: "1",
  });
});

Deno.test("fake pct: set without options fails", async () => {
  await using pct = await fake(stopped);
  assert.deepEqual(await pct.run(["set", "950"]), {
    exitCode: 255,
    stdout: "",
    stderr: "no options specified\n",
  });
});

Deno.test("fake pct: set refuses a locked container", async () => {
  await using pct = await fake({ containers: { "950": { status: "stopped", lock: "mounted" } } });
  assert.equal((await pct.run(["set", "950", "--cores", "2"])).stderr, "CT is locked (mounted)\n");
  assert.deepEqual((await pct.state()).containers["950"].config, {});
});
