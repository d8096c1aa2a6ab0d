/**
 * The compiled executables under each calling convention of the Phoenix orchestrator's real
 * generations (`../shared/docs/phoenix.md`): the 2025-09-01 name and its five-argument form in
 * that generation's environment, the `application_script` names of the 2025-09-07 and newest
 * generations, and a run inside the container itself, where there is no `pct`.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { configText, ContainerScenario, HIERARCHY, TOP_LEVEL } from "../containers/_harness.ts";
import { assertExit } from "../support/assertions.ts";
import { compiledExecutable, runExecutable } from "../support/executables.ts";
import { MARKER_805 } from "./lxc/modules/805.ts";

const HOOK_901 = "phoenix_hypervisor_lxc_901.sh";

/** What `run_specific_setup_script` passes for 901 (`gpu_assignment` "0,1"), in its order. */
const FIVE = [
  "901",
  "0,1",
  TOP_LEVEL.nvidia_driver_version,
  TOP_LEVEL.nvidia_repo_url,
  TOP_LEVEL.nvidia_runfile_url,
];

/** The environment `phoenix_establish_hypervisor.sh` exports, over the scenario's own. */
function generation20250901(s: ContainerScenario): Record<string, string> {
  const env = s.env();
  return {
    HYPERVISOR_CONFIG_FILE: join(s.dir, "phoenix_hypervisor_config.json"),
    LXC_CONFIG_FILE: s.configFile,
    LXC_CONFIG_SCHEMA_FILE: join(s.dir, "phoenix_lxc_configs.schema.json"),
    MAIN_LOG_FILE: s.logFile,
    PHOENIX_DEBUG: "true",
    LANG: "en_US.UTF-8",
    LC_ALL: "en_US.UTF-8",
    PATH: `/usr/local/bin:${env.PATH}`,
  };
}

Deno.test("2025-09-01: its name, its five arguments and its environment; the same pct calls", async () => {
  await using s = await ContainerScenario.of({ ctid: "901" });
  const env = generation20250901(s);
  const mismatches: [number, string, RegExp][] = [
    [
      1,
      "0",
      /argument 2 \(GPU assignment\) is "0", but .*: lxc_configs\["901"\]\.gpu_assignment is "0,1"/,
    ],
    [
      2,
      "570.86.16",
      /argument 3 \(NVIDIA driver version\) is "570\.86\.16", but .*: nvidia_driver_version is "580\.76\.05"/,
    ],
    [
      3,
      "https://example.invalid/repo/",
      /argument 4 \(NVIDIA repository URL\) is "https:\/\/example\.invalid\/repo\/", but .*: nvidia_repo_url is "https:\/\/developer/,
    ],
    [
      4,
      "https://example.invalid/x.run",
      /argument 5 \(runfile URL\) is "https:\/\/example\.invalid\/x\.run", but .*: nvidia_runfile_url is "https:\/\/us\.download/,
    ],
  ];
  for (const [index, value, said] of mismatches) {
    const run = await s.run(FIVE.with(index, value), { argv0: HOOK_901, env });
    assertExit(run, 2);
    assert.match(run.stdout + run.stderr, said);
    assert.match(run.stdout + run.stderr, /disagree with the configuration/);
  }
  assert.deepEqual(await s.calls(), [], "a configuration error stops the run before any pct call");

  const first = await s.run(FIVE, { argv0: HOOK_901, env });
  assertExit(first, 0);
  assert.match(
    first.stdout,
    /Setup for template 901 completed successfully\. Snapshot 'gpu-snapshot' created\./,
  );
  // The same run as under the documented name (tests/containers/901_test.ts pins 19 and 2).
  assert.equal((await s.calls()).length, 19);
  await s.fake.clearCalls();
  assertExit(await s.run(["901"], { argv0: HOOK_901, env }), 0);
  assert.equal((await s.calls()).length, 2);
  // PHOENIX_DEBUG=true from that generation's environment: DEBUG lines, in its log format.
  assert.ok(
    (await s.logLines()).some((line) => / \[DEBUG\] phoenix_hypervisor_setup_901\.sh: /.test(line)),
  );
});

Deno.test("2025-09-01: the five arguments only under its name; another CTID's name is refused", async () => {
  await using s = await ContainerScenario.of({ ctid: "901" });
  const documented = await s.run(FIVE);
  assertExit(documented, 1);
  assert.match(
    documented.stderr + documented.stdout,
    /Expected exactly one argument, the CTID; found 5: "901" "0,1"/,
  );
  const three = await s.run(FIVE.slice(0, 3), { argv0: HOOK_901 });
  assertExit(three, 1);
  assert.match(
    three.stderr + three.stdout,
    /Expected the CTID alone, or the CTID followed by the GPU assignment/,
  );
  const other = await s.run(["901"], { argv0: "phoenix_hypervisor_lxc_902.sh" });
  assertExit(other, 1);
  assert.match(
    other.stdout + other.stderr,
    /Refusing to run: this file is the 901 executable, linked as ".*phoenix_hypervisor_lxc_902\.sh"; .*for container 902, install its own executable/,
  );
  assert.deepEqual(await s.calls(), []);
});

Deno.test("2025-09-07: the application_script its own entry names, and no other entry's", async () => {
  const config = configText({
    "900": { ...HIERARCHY["900"], application_script: "phoenix_base_setup.sh" },
    "901": { ...HIERARCHY["901"], application_script: "phoenix_gpu_setup.sh" },
  });
  await using s = await ContainerScenario.of({ ctid: "901", config });
  const other = await s.run(["901"], { argv0: "phoenix_base_setup.sh" });
  assertExit(other, 1);
  assert.match(
    other.stdout + other.stderr,
    /this file is the 901 executable, linked as ".*phoenix_base_setup\.sh"; .* or as phoenix_gpu_setup\.sh \(the application_script of its config entry\)/,
  );
  assert.deepEqual(await s.calls(), []);
  // `run_application_script`: bin/<application_script> with the CTID alone.
  const own = await s.run(["901"], { argv0: "phoenix_gpu_setup.sh" });
  assertExit(own, 0);
  assert.equal((await s.calls()).length, 19);
});

/** A machine root that says "LXC container named `hostname`", with files of its own. */
async function containerRoot(hostname: string, mark = "container=lxc"): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "phoenix-ct-root-" });
  await Deno.mkdir(join(root, "proc/1"), { recursive: true });
  await Deno.mkdir(join(root, "etc"));
  await Deno.writeTextFile(join(root, "proc/1/environ"), `PATH=/sbin:/bin\0${mark}\0`);
  await Deno.writeTextFile(join(root, "etc/hostname"), `${hostname}\n`);
  return root;
}

const MODULES = new URL("./lxc/modules/", import.meta.url).pathname;
const CONFIG = JSON.stringify({
  lxc_configs: {
    "805": { name: "TestMarker", application_script: "phoenix_marker.sh" },
    "806": { name: "TestMarker", is_template: true },
  },
});

Deno.test("newest: inside the container, without pct, its own steps run there", async () => {
  const root = await containerRoot("TestMarker");
  try {
    // As lxc-manager.sh leaves it: the script and the config pushed into /tmp/phoenix_run, and
    // the host's LXC_CONFIG_FILE (a path the container lacks) passed by pct exec.
    const runDir = join(root, "tmp/phoenix_run");
    await Deno.mkdir(runDir, { recursive: true });
    const script = join(runDir, "phoenix_marker.sh");
    await Deno.copyFile(await compiledExecutable("805", `${MODULES}805.ts`), script);
    await Deno.writeTextFile(join(runDir, "phoenix_lxc_configs.json"), CONFIG);
    const env = {
      PATH: "/usr/sbin:/usr/bin:/sbin:/bin",
      PHOENIX_HOST_ROOT: root,
      LXC_CONFIG_FILE: join(root, "usr/local/phoenix_hypervisor/etc/phoenix_lxc_configs.json"),
      MAIN_LOG_FILE: join(root, "phoenix.log"),
      PHOENIX_LOCK_DIR: join(root, "lock"),
    };
    const first = await runExecutable(script, ["805"], env);
    assertExit(first, 0);
    assert.match(
      first.stdout,
      /reading .*\/tmp\/phoenix_run\/phoenix_lxc_configs\.json, the copy pushed beside the executable/,
    );
    assert.match(
      first.stdout,
      /Running inside container 805 \(no pct on PATH; container=lxc in \/proc\/1\/environ\): its own steps run here; .* This entry needs none of them/,
    );
    assert.match(
      first.stdout,
      /Step 1\/1 "Write the marker": check: not done yet \(test -f .*: exit code 1\); running/,
    );
    assert.match(first.stdout, /Setup for container 805 completed successfully\./);
    assert.ok((await Deno.stat(join(root, MARKER_805))).isFile);
    const again = await runExecutable(script, ["805"], env);
    assertExit(again, 0);
    assert.match(again.stdout, /Step 1\/1 "Write the marker": check: already done, skipping/);

    // Another container's host name: not container 805.
    await Deno.writeTextFile(join(root, "etc/hostname"), "Portainer\n");
    const elsewhere = await runExecutable(script, ["805"], env);
    assertExit(elsewhere, 1);
    assert.match(
      elsewhere.stdout + elsewhere.stderr,
      /host name is "Portainer", but container 805's entry names "TestMarker": this is not container 805/,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("newest: a template inside the container leaves its snapshot to the host: exit 11", async () => {
  const root = await containerRoot("TestMarker");
  try {
    await Deno.writeTextFile(join(root, "config.json"), CONFIG);
    const env = {
      PATH: "/usr/sbin:/usr/bin:/sbin:/bin",
      PHOENIX_HOST_ROOT: root,
      LXC_CONFIG_FILE: join(root, "config.json"),
      MAIN_LOG_FILE: join(root, "phoenix.log"),
      PHOENIX_LOCK_DIR: join(root, "lock"),
    };
    const executable = await compiledExecutable("806", `${MODULES}806.ts`);
    const run = await runExecutable(executable, ["806"], env);
    assertExit(run, 11);
    assert.match(
      run.stdout,
      /This entry needs: shutdown, snapshot 'marker-snapshot' and start \(a template\)/,
    );
    assert.match(
      run.stdout + run.stderr,
      /Container 806's own steps are done and verified, but its entry needs what cannot be done from inside the container: shutdown, snapshot 'marker-snapshot' and start \(a template\)\. Run phoenix_hypervisor_setup_806\.sh 806 on the Proxmox host to finish/,
    );
    assert.ok((await Deno.stat(join(root, MARKER_805))).isFile);

    // Not an LXC container (no mark), and no pct: the missing pct is the error it always was.
    await Deno.writeTextFile(join(root, "proc/1/environ"), "PATH=/sbin:/bin\0container=docker\0");
    const host = await runExecutable(executable, ["806"], env);
    assertExit(host, 1);
    assert.doesNotMatch(host.stdout, /Running inside container/);
    assert.match(
      host.stdout + host.stderr,
      /Container 806 does not exist or pct cannot reach it: pct said: timeout: failed to run command .pct.: No such file or directory/,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
