/**
 * The shipped executables (900, 902, 920, 950), compiled through `build.ts`, against real Debian
 * 12 containers with systemd as PID 1 and no network, driven by the LXC tier's `pct` stand-in:
 * apt and pip install from the local repositories for real, systemd really runs the vLLM stub.
 * Each test asserts the exit code, the pct calls and the state inside the container. Ignored,
 * with the reason, where the machine cannot run them (see `debianSupport`).
 *
 * @module
 */

import assert from "node:assert/strict";
import { configText } from "../../containers/_harness.ts";
import { compiledExecutable, runBuild } from "../../support/executables.ts";
import { randomToken } from "../../support/random_token.ts";
import { type LxcLab, withLab } from "../lxc/harness.ts";
import {
  assertLogged,
  containerLevelCalls,
  describe,
  pctCalls,
  SetupBench,
  type SetupRun,
} from "../lxc/_setup_runs.ts";
import { type DebianImage, debianImage } from "./image.ts";
import {
  attachOutput,
  createDebianContainer,
  type DebianContainerOptions,
  debianSupport,
  startDebian,
  unitProperties,
  waitForSystemd,
} from "./harness.ts";
import { assertExit } from "../../support/assertions.ts";

const support = await debianSupport();
if (!support.ok) console.warn(`debian: setup tests ignored: ${support.reason}`);

/** systemd shuts a container down in about a second; generous for a loaded CI machine. */
const SHUTDOWN_TIMEOUT = 60;
/** A first run of 900 installs a dozen packages; a hung run still fails its test. */
const KILL_AFTER_MS = 15 * 60_000;
const MODEL = "Qwen/Qwen3-Coder-30B-A3B-Instruct-FP8";
const OTHER_MODEL = "Qwen/Qwen2.5-Coder-7B-Instruct";
/** 900's tools the base image must lack, so that 900 has real work to do. */
const ABSENT_TOOLS = ["wget", "vim", "htop", "jq", "git", "rsync", "gnupg"];
const ALL_TOOLS = [...ABSENT_TOOLS, "curl", "locales", "ca-certificates"];

/** A `Deno.test` with a fresh lab, the image and a bench for the shipped executables. */
function debianTest(
  name: string,
  fn: (bench: SetupBench, lab: LxcLab, image: DebianImage) => Promise<void>,
): void {
  Deno.test({
    name: `debian: ${name}`,
    ignore: !support.ok,
    fn: async () => {
      const image = await debianImage();
      await withLab(async (lab) => {
        const bench = await SetupBench.create(lab, {
          configText: configText(),
          executable: (ctid) => compiledExecutable(ctid),
        });
        await fn(bench, lab, image);
      });
    },
  });
}

/** Creates container `ctid` from the image and starts it, booted (as the orchestrator leaves it). */
async function runningContainer(
  lab: LxcLab,
  image: DebianImage,
  ctid: string,
  options: DebianContainerOptions = {},
): Promise<string> {
  await createDebianContainer(lab, image, ctid, options);
  await startDebian(lab, ctid);
  const boot = await lab.bootId(ctid);
  assert.ok(boot, `container ${ctid} has no init after start`);
  return boot;
}

function runSetup(bench: SetupBench, ctid: string, env?: Record<string, string>) {
  return bench.run(ctid, { shutdownTimeout: SHUTDOWN_TIMEOUT, killAfterMs: KILL_AFTER_MS, env });
}

/** The template flow's container-level calls for a container found running. */
function templateCalls(ctid: string, snapshot: string): string[] {
  return [
    `pct status ${ctid} --verbose`,
    `pct listsnapshot ${ctid}`,
    `pct shutdown ${ctid} --timeout ${SHUTDOWN_TIMEOUT}`,
    `pct status ${ctid}`,
    `pct snapshot ${ctid} ${snapshot} --description "<stamp>"`,
    `pct start ${ctid}`,
    `pct status ${ctid}`,
  ];
}

/** dpkg's status of each package (`install ok installed`, or `not-installed`). */
async function packageStates(lab: LxcLab, ctid: string, packages: readonly string[]) {
  const states: Record<string, string> = {};
  for (const name of packages) {
    const query = await lab.attach(ctid, ["dpkg-query", "-W", "-f=${Status}", name]);
    states[name] = query.code === 0 ? query.stdout : "not-installed";
  }
  return states;
}

async function localeList(lab: LxcLab, ctid: string): Promise<string[]> {
  return (await attachOutput(lab, ctid, ["locale", "-a"])).trim().split("\n");
}

/** Asserts a re-run of a finished template: exit 0, only the two read-only calls, same boot. */
async function assertIdleRerun(bench: SetupBench, lab: LxcLab, ctid: string): Promise<SetupRun> {
  await waitForSystemd(lab, ctid);
  const boot = await lab.bootId(ctid);
  const snapshots = await lab.snapshots(ctid);
  const again = await runSetup(bench, ctid);
  assertExit(again, 0);
  assert.match(again.stdout, /already complete: snapshot '.*' exists\. Nothing to do\.\n$/);
  assert.deepEqual(pctCalls(again), [`pct status ${ctid} --verbose`, `pct listsnapshot ${ctid}`]);
  assert.deepEqual(await lab.snapshots(ctid), snapshots, "no new snapshot");
  assert.equal(await lab.bootId(ctid), boot, "never stopped or restarted");
  return again;
}

debianTest("the base image leaves 900 real work: no en_US locale, no jq, htop, vim, git", async (
  _bench,
  lab,
  image,
) => {
  await runningContainer(lab, image, "900");
  const states = await packageStates(lab, "900", ABSENT_TOOLS);
  assert.deepEqual(
    Object.values(states).filter((s) => s === "install ok installed"),
    [],
    JSON.stringify(states),
  );
  assert.ok(!(await localeList(lab, "900")).includes("en_US.utf8"));
  assert.match(await lab.readFile("900", "/etc/locale.gen"), /^# en_US\.UTF-8 UTF-8$/m);
  assert.notEqual((await lab.attach("900", ["test", "-e", "/opt/vllm"])).code, 0);
  // Offline: the only apt source is the read-only local repository.
  assert.equal(
    await lab.readFile("900", "/etc/apt/sources.list"),
    "deb [trusted=yes] file:/srv/repo ./\n",
  );
  assert.notEqual((await lab.attach("900", ["touch", "/srv/repo/x"])).code, 0, "read-only");
});

debianTest(
  "900: a first run installs the tools, generates en_US.UTF-8, snapshots, restarts",
  async (
    bench,
    lab,
    image,
  ) => {
    await runningContainer(lab, image, "900");
    const run = await runSetup(bench, "900");
    assertExit(run, 0);
    assert.ok(
      run.stdout.includes(
        "Setup for template 900 completed successfully. Snapshot 'base-snapshot' created.",
      ),
      describe(run),
    );
    assertLogged(run, "INFO", 'Step 3/4 "Generate the en_US.UTF-8 locale": done');
    assert.deepEqual(containerLevelCalls(run), templateCalls("900", "base-snapshot"));

    assert.equal(await lab.status("900"), "running");
    await waitForSystemd(lab, "900");
    const states = await packageStates(lab, "900", ALL_TOOLS);
    assert.deepEqual(
      Object.entries(states).filter(([, s]) => s !== "install ok installed"),
      [],
      "every tool installed",
    );
    assert.ok((await localeList(lab, "900")).includes("en_US.utf8"));
    assert.match(await lab.readFile("900", "/etc/locale.gen"), /^en_US\.UTF-8 UTF-8$/m);
    assert.equal(await lab.readFile("900", "/etc/default/locale"), "LANG=en_US.UTF-8\n");
    // A login shell gets the locale, and it really works.
    const login = await lab.attach("900", [
      "bash",
      "-lc",
      ". /etc/default/locale; export LANG; locale",
    ]);
    assert.match(login.stdout, /^LC_CTYPE="en_US\.UTF-8"$/m, login.stdout + login.stderr);
    assert.doesNotMatch(login.stderr, /Cannot set/);

    // The snapshot was taken after the steps, from the stopped container.
    assert.deepEqual((await lab.snapshots("900")).map((s) => s.name), ["base-snapshot"]);
    assert.equal(
      await lab.readSnapshotFile("900", "base-snapshot", "/etc/default/locale"),
      "LANG=en_US.UTF-8\n",
    );
    assert.match(
      await lab.readSnapshotFile("900", "base-snapshot", "/var/lib/dpkg/status"),
      /^Package: jq$/m,
    );

    await assertIdleRerun(bench, lab, "900");
  },
);

debianTest("920: vLLM installed with real pip, `vllm --version` works through pct exec", async (
  bench,
  lab,
  image,
) => {
  await runningContainer(lab, image, "920");
  const run = await runSetup(bench, "920");
  assertExit(run, 0);
  assert.deepEqual(containerLevelCalls(run), templateCalls("920", "vllm-base-snapshot"));
  assert.equal(await lab.status("920"), "running");
  await waitForSystemd(lab, "920");

  const states = await packageStates(lab, "920", ["python3-venv", "python3-pip"]);
  assert.deepEqual(Object.values(states), ["install ok installed", "install ok installed"]);
  const shown = await attachOutput(lab, "920", ["/opt/vllm/bin/pip", "show", "vllm"]);
  assert.match(shown, /^Version: 0\.0\.0\+stub$/m);
  // As the orchestrator and later runs call it: pct's PATH, which has no /usr/local/bin.
  const version = await lab.pct(["exec", "920", "--", "vllm", "--version"]);
  assert.deepEqual([version.code, version.stdout], [0, "0.0.0+stub\n"], version.stderr);
  assert.match(
    await lab.readSnapshotFile("920", "vllm-base-snapshot", "/opt/vllm/pyvenv.cfg"),
    /^home = /m,
  );

  await assertIdleRerun(bench, lab, "920");
});

/**
 * Gives container 950 what it is cloned from 920 with: python3-venv and vLLM in `/opt/vllm`,
 * installed directly (920's own run is the previous test).
 */
async function asClonedFrom920(lab: LxcLab): Promise<void> {
  await attachOutput(lab, "950", ["apt-get", "update", "-qq"]);
  await attachOutput(lab, "950", [
    "env",
    "DEBIAN_FRONTEND=noninteractive",
    "apt-get",
    "install",
    "-qq",
    "-y",
    "--no-install-recommends",
    "python3-venv",
  ]);
  await attachOutput(lab, "950", ["python3", "-m", "venv", "/opt/vllm"]);
  await attachOutput(lab, "950", ["/opt/vllm/bin/pip", "install", "--no-input", "-q", "vllm"]);
}

/** 950's config with `model` as its vLLM model (on one GPU). */
function config950(model: string): string {
  return configText({
    "950": {
      name: "vllmQwen3Coder",
      clone_from_ctid: "920",
      vllm_model: model,
      vllm_tensor_parallel_size: 1,
      gpu_assignment: "0",
    },
  });
}

async function servedModels(lab: LxcLab): Promise<string[]> {
  const body = await attachOutput(lab, "950", [
    "curl",
    "-fsS",
    "http://localhost:8000/v1/models",
  ]);
  return JSON.parse(body).data.map((m: { id: string }) => m.id);
}

debianTest(
  "950: vllm.service enabled and active under real systemd; re-runs keep it, a new model restarts it once",
  async (
    bench,
    lab,
    image,
  ) => {
    await runningContainer(lab, image, "950");
    await asClonedFrom920(lab);
    await bench.writeConfig(config950(MODEL));
    const token = randomToken();

    const run = await runSetup(bench, "950", { HF_TOKEN: token });
    assertExit(run, 0);
    assert.match(run.stdout, /Setup for container 950 completed successfully\./);
    assert.deepEqual(containerLevelCalls(run), ["pct status 950 --verbose"]);
    assert.ok(!run.stdout.includes(token) && !run.stderr.includes(token), "token never printed");
    assert.ok(!run.log.some((e) => e.message.includes(token)), "token never logged");

    const first = await unitProperties(lab, "950", "vllm.service", [
      "ActiveState",
      "UnitFileState",
      "MainPID",
    ]);
    assert.equal(first.ActiveState, "active");
    assert.equal(first.UnitFileState, "enabled");
    assert.match(first.MainPID, /^[1-9]\d*$/);
    assert.deepEqual(await servedModels(lab), [MODEL]);
    assert.equal(
      (await attachOutput(lab, "950", ["stat", "-c", "%a %U", "/etc/vllm/vllm.env"])).trim(),
      "600 root",
    );
    assert.equal(
      await lab.readFile("950", "/etc/vllm/vllm.env"),
      `# The Hugging Face token vLLM downloads gated models with.\nHF_TOKEN=${token}\n`,
    );

    // A re-run: nothing changes, the server keeps running as it was.
    const again = await runSetup(bench, "950", { HF_TOKEN: token });
    assertExit(again, 0);
    assert.ok(!pctCalls(again).some((c) => / systemctl (restart|enable|daemon-reload)/.test(c)));
    assert.ok(!pctCalls(again).some((c) => c.startsWith("pct push ")), describe(again));
    const kept = await unitProperties(lab, "950", "vllm.service", ["MainPID"]);
    assert.equal(kept.MainPID, first.MainPID, "same server process");

    // Another model in the config: the unit changes and the server restarts once.
    await bench.writeConfig(config950(OTHER_MODEL));
    const changed = await runSetup(bench, "950", { HF_TOKEN: token });
    assertExit(changed, 0);
    assert.deepEqual(
      pctCalls(changed).filter((c) => / systemctl restart /.test(c)),
      ["pct exec 950 -- systemctl restart vllm.service"],
    );
    const restarted = await unitProperties(lab, "950", "vllm.service", ["ActiveState", "MainPID"]);
    assert.equal(restarted.ActiveState, "active");
    assert.notEqual(restarted.MainPID, first.MainPID, "a new server process");
    assert.deepEqual(await servedModels(lab), [OTHER_MODEL]);
  },
);

debianTest(
  "a step that cannot reach the apt repository: exit 3, no snapshot, still running",
  async (
    bench,
    lab,
    image,
  ) => {
    const boot = await runningContainer(lab, image, "900", { aptRepository: false });
    const run = await runSetup(bench, "900");
    assertExit(run, 3);
    // Not retried: a missing local repository does not come back by waiting.
    assert.match(
      run.stderr,
      /\[ERROR\] .*Step 1\/4 "Upgrade the installed packages" failed: In container 900: apt-get update failed with exit code 100: E: Failed to fetch file:\/srv\/repo\/.*File not found/,
    );
    assert.doesNotMatch(run.stderr, /retrying/);
    assert.deepEqual(containerLevelCalls(run), [
      "pct status 900 --verbose",
      "pct listsnapshot 900",
    ]);
    assert.deepEqual(await lab.snapshots("900"), []);
    assert.equal(await lab.status("900"), "running");
    assert.equal(await lab.bootId("900"), boot, "never stopped");
  },
);

debianTest("a template found stopped is started, set up, snapshotted and left running", async (
  bench,
  lab,
  image,
) => {
  await createDebianContainer(lab, image, "920");
  assert.equal(await lab.status("920"), "stopped");
  const run = await runSetup(bench, "920");
  assertExit(run, 0);
  assertLogged(run, "INFO", "Container 920 is stopped; starting it");
  assert.deepEqual(containerLevelCalls(run), [
    "pct status 920 --verbose",
    "pct listsnapshot 920",
    "pct start 920",
    "pct status 920",
    ...templateCalls("920", "vllm-base-snapshot").slice(2),
  ]);
  assert.deepEqual((await lab.snapshots("920")).map((s) => s.name), ["vllm-base-snapshot"]);
  assert.equal(await lab.status("920"), "running");
  await waitForSystemd(lab, "920");
  const version = await lab.pct(["exec", "920", "--", "vllm", "--version"]);
  assert.equal(version.stdout, "0.0.0+stub\n", version.stderr);
});

/**
 * Makes a local image named `hello-world` in the container's Docker (Docker Hub is unreachable):
 * the host's static busybox, saying hello.
 */
async function localHelloWorldImage(lab: LxcLab, ctid: string): Promise<void> {
  const dir = await Deno.makeTempDir({ dir: lab.root });
  await Deno.copyFile("/bin/busybox", `${dir}/busybox`);
  const tarball = `${lab.rootfs(ctid)}/root/hello-world.tar`;
  const packed = await lab.attach(ctid, ["true"]).then(() =>
    new Deno.Command("tar", { args: ["-C", dir, "-cf", tarball, "busybox"] }).output()
  );
  assert.equal(packed.code, 0, new TextDecoder().decode(packed.stderr));
  await attachOutput(lab, ctid, [
    "docker",
    "import",
    "--change",
    'CMD ["/busybox", "echo", "Hello from Docker!"]',
    "/root/hello-world.tar",
    "hello-world:latest",
  ]);
}

debianTest("902: Docker Engine from the local repository runs in a nesting container", async (
  bench,
  lab,
  image,
) => {
  await runningContainer(lab, image, "902", { docker: true });
  const set = await lab.pct(["set", "902", "--features", "nesting=1"]);
  assert.equal(set.code, 0, set.stderr);

  // Docker Hub is unreachable here: the engine is installed and answers, only the pull fails.
  const first = await runSetup(bench, "902");
  assertExit(first, 4);
  assertLogged(first, "INFO", 'Step 2/2 "Install Docker Engine": done');
  assert.match(
    first.stderr,
    /Verification "docker run --rm hello-world succeeds" failed: .*docker run --rm hello-world failed/,
  );
  assert.deepEqual(await lab.snapshots("902"), []);
  assert.deepEqual(await packageStates(lab, "902", ["docker.io"]), {
    "docker.io": "install ok installed",
  });
  const docker = await unitProperties(lab, "902", "docker.service", [
    "ActiveState",
    "UnitFileState",
  ]);
  assert.deepEqual(docker, { ActiveState: "active", UnitFileState: "enabled" });

  // With the image made locally, a re-run skips the installed engine and finishes the template.
  await localHelloWorldImage(lab, "902");
  const second = await runSetup(bench, "902");
  assertExit(second, 0);
  assertLogged(second, "INFO", 'Step 2/2 "Install Docker Engine": check: already done, skipping');
  // Nothing has to change: the nesting requirement is left to the verification, which proves
  // it (no pct config), and docker run --rm hello-world ran in the batch with the checks.
  assertLogged(
    second,
    "INFO",
    'Step 1/2 "Check that the container has nesting=1 (Docker needs it)": a requirement',
  );
  assert.deepEqual(containerLevelCalls(second), templateCalls("902", "docker-snapshot"));
  assert.equal(await lab.status("902"), "running");
  await waitForSystemd(lab, "902");
  const hello = await attachOutput(lab, "902", ["docker", "run", "--rm", "hello-world"]);
  assert.equal(hello, "Hello from Docker!\n");
});

/**
 * A user's own numbering: containers with no module of their own, composed from their entries by
 * `deno task build --config FILE`, as the latest real generation describes them (a `features`
 * array; the server's options in `vllm_engine_config`; `ports` as "host:container").
 */
const COMPOSED_ENTRIES = {
  "801": {
    name: "ComposedBase",
    features: ["base_setup"],
    is_template: true,
    template_snapshot_name: "composed-base-snapshot",
  },
  "812": {
    name: "ComposedCoder",
    features: ["vllm"],
    ports: ["8001:8002"],
    gpu_assignment: "0",
    vllm_engine_config: {
      ModelConfig: { model: MODEL },
      ServerConfig: { port: 8002, served_model_name: "coder" },
    },
  },
};

/**
 * Builds the composed executables of {@linkcode COMPOSED_ENTRIES} into `out` with `build.ts`, in
 * one build (a build leaves in `out` only what it made).
 */
async function buildComposed(configFile: string, out: string): Promise<void> {
  const ctids = Object.keys(COMPOSED_ENTRIES);
  const built = await runBuild([
    "--config",
    configFile,
    ...ctids.flatMap((ctid) => ["--ctid", ctid]),
    "--out",
    out,
  ]);
  const text = built.stdout + built.stderr;
  assert.equal(built.code, 0, text);
  for (const ctid of ctids) {
    assert.match(text, new RegExp(`^ {2}${ctid}: composed from the entry`, "m"), text);
  }
}

Deno.test({
  name: "debian: composed from a user's config: a base_setup template and a vLLM server entry",
  ignore: !support.ok,
  fn: async () => {
    const image = await debianImage();
    const out = await Deno.makeTempDir({ prefix: "phoenix-composed-debian-" });
    try {
      const config = configText(COMPOSED_ENTRIES);
      const configFile = `${out}/phoenix_lxc_configs.json`;
      await Deno.writeTextFile(configFile, config);
      await buildComposed(configFile, out);
      await withLab(async (lab) => {
        const bench = await SetupBench.create(lab, {
          configText: config,
          executable: (ctid) => Promise.resolve(`${out}/phoenix_hypervisor_setup_${ctid}.sh`),
        });

        // The template: base_setup for real (apt, the locale), then its own snapshot name.
        await runningContainer(lab, image, "801");
        const base = await runSetup(bench, "801");
        assertExit(base, 0);
        assert.deepEqual(containerLevelCalls(base), templateCalls("801", "composed-base-snapshot"));
        assert.ok(localeListOk(await localeList(lab, "801")), describe(base));
        assert.deepEqual(
          Object.values(await packageStates(lab, "801", ["jq", "locales"])),
          ["install ok installed", "install ok installed"],
        );
        await assertIdleRerun(bench, lab, "801");

        // The server: the vllm feature installs the stub with real pip, then the application
        // serves it under its served name on the port the entry maps.
        await runningContainer(lab, image, "812");
        const server = await runSetup(bench, "812");
        assertExit(server, 0);
        assert.match(
          server.stdout,
          /Setup for container 812 completed successfully\. vLLM serves "coder" at http:\/\/localhost:8002\/v1/,
        );
        assert.deepEqual(containerLevelCalls(server), ["pct status 812 --verbose"]);
        const unit = await unitProperties(lab, "812", "vllm.service", ["ActiveState", "MainPID"]);
        assert.equal(unit.ActiveState, "active");
        const models = await attachOutput(lab, "812", [
          "curl",
          "-fsS",
          "http://localhost:8002/v1/models",
        ]);
        assert.deepEqual(JSON.parse(models).data.map((m: { id: string }) => m.id), ["coder"]);
        const again = await runSetup(bench, "812");
        assertExit(again, 0);
        assert.ok(
          !pctCalls(again).some((c) => / (apt-get|pip install|systemctl (restart|enable))/.test(c)),
          describe(again),
        );
        const kept = await unitProperties(lab, "812", "vllm.service", ["MainPID"]);
        assert.equal(kept.MainPID, unit.MainPID, "same server process");
      });
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});

/** Whether `locale -a` lists en_US.UTF-8 (as glibc names it). */
function localeListOk(locales: string[]): boolean {
  return locales.includes("en_US.utf8");
}

debianTest(
  "900: the snapshot says what made it and holds the record; --check 0, then 12 once drifted; " +
    "--refresh rebuilds it for real",
  async (bench, lab, image) => {
    await runningContainer(lab, image, "900");
    assertExit(await runSetup(bench, "900"), 0);
    const [made] = await lab.snapshots("900");
    assert.match(
      made.description,
      /^phoenix-setup \S+ plan=[0-9a-f]{12} entry=[0-9a-f]{12} parts=base_setup$/,
    );
    const recorded = (text: string) => JSON.parse(text).stamp;
    assert.equal(
      recorded(
        await lab.readSnapshotFile("900", "base-snapshot", "/etc/phoenix-setup/provenance.json"),
      ),
      made.description,
      "the snapshot holds the record",
    );
    assert.equal(
      recorded(await lab.readFile("900", "/etc/phoenix-setup/provenance.json")),
      made.description,
      "so does the running template, and every clone of it",
    );

    await waitForSystemd(lab, "900");
    const inSync = await bench.run("900", { args: ["--check", "900"], killAfterMs: KILL_AFTER_MS });
    assertExit(inSync, 0);
    assert.deepEqual(containerLevelCalls(inSync).slice(0, 2).map((c) => c.split(" ")[1]), [
      "status",
      "listsnapshot",
    ]);

    // An older phoenix-setup made it: the stamp's version differs. The lab writes the
    // description as pct would have stored it.
    await lab.setSnapshotDescription(
      "900",
      "base-snapshot",
      made.description.replace(/^phoenix-setup \S+/, "phoenix-setup 0.0.1"),
    );
    const drifted = await bench.run("900", {
      args: ["--check", "900"],
      killAfterMs: KILL_AFTER_MS,
    });
    assertExit(drifted, 12);
    assert.match(drifted.stderr, /Check: snapshot 'base-snapshot': made by phoenix-setup 0\.0\.1/);

    const boot = await lab.bootId("900");
    const refreshed = await bench.run("900", {
      args: ["--refresh", "900"],
      shutdownTimeout: SHUTDOWN_TIMEOUT,
      killAfterMs: KILL_AFTER_MS,
    });
    assertExit(refreshed, 0);
    assert.match(refreshed.stdout, /Snapshot 'base-snapshot' replaced\./);
    const [now] = await lab.snapshots("900");
    assert.equal(now.description, made.description, "stamped by this version again");
    assert.notEqual(await lab.bootId("900"), boot, "it was shut down for the new snapshot");
    assert.equal(await lab.status("900"), "running");
    await assertIdleRerun(bench, lab, "900");
  },
);
