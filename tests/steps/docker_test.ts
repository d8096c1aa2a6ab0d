import assert from "node:assert/strict";
import { SetupError } from "../../lib/errors.ts";
import { ExitCode } from "../../lib/exit_codes.ts";
import { runSteps } from "../../lib/run_steps.ts";
import {
  dockerContainer,
  type DockerContainerSpec,
  dockerEngine,
  dockerImage,
  dockerRunSucceeds,
  hasFeature,
  SPEC_LABEL,
} from "../../lib/steps/docker.ts";
import { FakeClock, FakeCt } from "./_support.ts";

Deno.test("hasFeature reads Proxmox's features value", () => {
  assert.equal(hasFeature("nesting=1,keyctl=1", "nesting"), true);
  assert.equal(hasFeature("keyctl=1, nesting=on", "nesting"), true);
  assert.equal(hasFeature("nesting=0", "nesting"), false);
  assert.equal(hasFeature("keyctl=1", "nesting"), false);
  assert.equal(hasFeature(undefined, "nesting"), false);
});

/** A container with Docker whose engine answers once `docker.io` is installed. */
function engineCt(options: { features?: string; installed?: boolean }) {
  let installed = options.installed ?? false;
  let enabled = installed;
  const config: Record<string, string> = { hostname: "docker", memory: "4096" };
  if (options.features !== undefined) config.features = options.features;
  const ct = new FakeCt({ ctid: "902", config })
    .on("docker info", () =>
      installed && enabled ? { stdout: "Server Version: 26.1.5\n" } : {
        exitCode: installed ? 1 : 127,
        stderr: "Cannot connect to the Docker daemon\n",
      })
    .on("systemctl is-enabled --quiet docker.service", () => ({ exitCode: enabled ? 0 : 1 }))
    .on(/^dpkg-query/, () => installed ? { stdout: "install ok installed\n" } : { exitCode: 1 })
    .on(/apt-get update$/)
    .on(/apt-get install -y --no-install-recommends docker\.io$/, () => {
      installed = true;
      return {};
    })
    .on("systemctl enable --now docker.service", () => {
      enabled = true;
      return {};
    });
  return ct;
}

Deno.test("dockerEngine installs docker.io and enables it, then docker info answers", async () => {
  const ct = engineCt({ features: "nesting=1,keyctl=1" });
  assert.deepEqual(await runSteps([dockerEngine()], ct.context(), { dryRun: false }), {
    ran: 1,
    skipped: 0,
  });
  assert.deepEqual(ct.execLines().filter((line) => /apt-get|enable --now/.test(line)), [
    "env DEBIAN_FRONTEND=noninteractive apt-get update",
    "env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends docker.io",
    "systemctl enable --now docker.service",
  ]);
  assert.deepEqual(ct.mutatingCalls(), []);
});

Deno.test("dockerEngine is done when docker info answers and the service is enabled", async () => {
  const ct = engineCt({ features: "nesting=1", installed: true });
  assert.deepEqual(await runSteps([dockerEngine()], ct.context(), { dryRun: false }), {
    ran: 0,
    skipped: 1,
  });
  assert.deepEqual(ct.argvs().map((argv) => argv.slice(1, 2).concat(argv.slice(4)).join(" ")), [
    "config",
    "exec docker info",
    "exec systemctl is-enabled --quiet docker.service",
  ]);
});

Deno.test("dockerEngine fails with the host-prerequisite code when nesting is off", async () => {
  for (const features of ["keyctl=1", undefined]) {
    const ct = engineCt({ features });
    await assert.rejects(
      () => runSteps([dockerEngine()], ct.context(), { dryRun: true }),
      (error: SetupError) => {
        assert.ok(error instanceof SetupError);
        assert.equal(error.exitCode, ExitCode.HostPrerequisite);
        assert.match(error.message, /Container 902 does not have the feature nesting=1/);
        assert.match(error.message, /pct set 902 --features nesting=1/);
        return true;
      },
    );
    assert.deepEqual(ct.execs(), [], "nothing runs in the container");
  }
});

Deno.test("dockerImage pulls a missing image and retries a network timeout", async () => {
  let pulled = false;
  const ct = new FakeCt()
    .on(
      "docker image inspect --format {{.Id}} hello-world",
      () =>
        pulled ? { stdout: "sha256:d2c9\n" } : { exitCode: 1, stderr: "Error: No such image\n" },
    )
    .on("docker pull hello-world", () => {
      pulled = true;
      return {};
    })
    .on("docker pull hello-world", {
      exitCode: 1,
      stderr: 'Error response from daemon: Get "https://registry-1.docker.io/v2/": net/http: ' +
        "TLS handshake timeout\n",
    }, 1);
  const clock = new FakeClock();
  await runSteps([dockerImage("hello-world", { clock })], ct.context(), { dryRun: false });
  assert.deepEqual(clock.sleeps, [5000]);
  ct.clearCalls();
  assert.equal(await dockerImage("hello-world").check(ct.context()), true);
  assert.throws(() => dockerImage("-v"), TypeError);
});

/** A fake Docker daemon: `docker run` records what `docker container inspect` then shows. */
function dockerCt() {
  const containers = new Map<string, Record<string, unknown>>();
  const ct = new FakeCt({ ctid: "910" })
    .on(/^docker container inspect /, (argv) => {
      const found = containers.get(argv[3]);
      return found
        ? { stdout: JSON.stringify([found], null, 4) }
        : { exitCode: 1, stdout: "[]\n", stderr: `Error: No such container: ${argv[3]}\n` };
    })
    .on(/^docker run -d /, (argv) => {
      const options = argv.slice(3);
      const value = (flag: string) => options.flatMap((o, i) => o === flag ? [options[i + 1]] : []);
      const imageIndex = options.findIndex((o, i) =>
        !o.startsWith("-") &&
        !["--name", "--restart", "-p", "-v", "--label", "--gpus"].includes(options[i - 1])
      );
      const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
      for (const port of value("-p")) {
        const [host, container] = port.split(":");
        bindings[`${container}/tcp`] = [{ HostIp: "", HostPort: host }];
      }
      const [labelKey, labelValue] = value("--label")[0].split("=");
      containers.set(value("--name")[0], {
        Config: { Image: options[imageIndex], Labels: { [labelKey]: labelValue } },
        State: { Running: true },
        HostConfig: {
          PortBindings: bindings,
          RestartPolicy: { Name: value("--restart")[0], MaximumRetryCount: 0 },
          Binds: value("-v").length ? value("-v") : null,
        },
      });
      return { stdout: "3f1e2c\n" };
    })
    .on(/^docker rm -f /, (argv) => {
      containers.delete(argv[3]);
      return { stdout: `${argv[3]}\n` };
    })
    .on(/^docker start /, (argv) => {
      (containers.get(argv[2])!.State as { Running: boolean }).Running = true;
      return {};
    });
  return { ct, containers };
}

const PORTAINER: DockerContainerSpec = {
  name: "portainer",
  image: "portainer/portainer-ce:2.21.4",
  ports: ["9443:9443", "9000:9000"],
  volumes: ["/var/run/docker.sock:/var/run/docker.sock", "portainer_data:/data"],
};

const dockerCommands = (ct: FakeCt) =>
  ct.execs().filter((argv) => argv[0] === "docker" && argv[1] !== "container");

Deno.test("dockerContainer creates a missing container with docker run", async () => {
  const { ct } = dockerCt();
  assert.deepEqual(await runSteps([dockerContainer(PORTAINER)], ct.context(), { dryRun: false }), {
    ran: 1,
    skipped: 0,
  });
  const [run] = dockerCommands(ct);
  assert.deepEqual(run.slice(0, -2), [
    "docker",
    "run",
    "-d",
    "--name",
    "portainer",
    "--restart",
    "always",
    "-p",
    "9443:9443",
    "-p",
    "9000:9000",
    "-v",
    "/var/run/docker.sock:/var/run/docker.sock",
    "-v",
    "portainer_data:/data",
    "--label",
  ]);
  assert.match(run.at(-2)!, new RegExp(`^${SPEC_LABEL.replace(".", "\\.")}=[0-9a-f]{64}$`));
  assert.equal(run.at(-1), "portainer/portainer-ce:2.21.4");
});

Deno.test("dockerContainer leaves a matching running container alone, in any port order", async () => {
  const { ct } = dockerCt();
  await runSteps([dockerContainer(PORTAINER)], ct.context(), { dryRun: false });
  ct.clearCalls();
  const reordered = { ...PORTAINER, ports: ["9000:9000", "9443:9443"], restart: "always" as const };
  assert.deepEqual(await runSteps([dockerContainer(reordered)], ct.context(), { dryRun: false }), {
    ran: 0,
    skipped: 1,
  });
  assert.deepEqual(dockerCommands(ct), []);
});

Deno.test("dockerContainer recreates a container whose restart policy, image or ports differ", async () => {
  const changes: [Partial<DockerContainerSpec>, RegExp][] = [
    [{ restart: "unless-stopped" }, /restart policy is "always", wanted "unless-stopped"/],
    [{ image: "portainer/portainer-ce:2.22.0" }, /image is "portainer\/portainer-ce:2\.21\.4"/],
    [
      { ports: ["9443:9443"] },
      /ports are \[9000\/tcp :9000, 9443\/tcp :9443\], wanted \[9443\/tcp :9443\]/,
    ],
    [{ volumes: ["portainer_data:/data"] }, /volumes are/],
    [{ args: ["--http-disabled"] }, /created with another command or other run options/],
  ];
  for (const [change, reason] of changes) {
    const { ct } = dockerCt();
    await runSteps([dockerContainer(PORTAINER)], ct.context(), { dryRun: false });
    ct.clearCalls();
    const ctx = ct.context();
    await runSteps([dockerContainer({ ...PORTAINER, ...change })], ctx, { dryRun: false });
    assert.deepEqual(dockerCommands(ct).map((argv) => argv.slice(0, 3)), [
      ["docker", "rm", "-f"],
      ["docker", "run", "-d"],
    ]);
    assert.ok(
      ctx.log.messages("info").some((m) =>
        m.startsWith("Docker container portainer in container 910 differs") && reason.test(m)
      ),
      `${JSON.stringify(change)} is logged as a difference`,
    );
  }
});

Deno.test("dockerContainer starts a matching container that is stopped, without recreating it", async () => {
  const { ct, containers } = dockerCt();
  await runSteps([dockerContainer(PORTAINER)], ct.context(), { dryRun: false });
  (containers.get("portainer")!.State as { Running: boolean }).Running = false;
  ct.clearCalls();
  await runSteps([dockerContainer(PORTAINER)], ct.context(), { dryRun: false });
  assert.deepEqual(dockerCommands(ct), [["docker", "start", "portainer"]]);
});

Deno.test("dockerContainer rejects malformed specs when the module is defined", () => {
  assert.throws(
    () => dockerContainer({ ...PORTAINER, ports: ["9443"] }),
    /Cannot use port mapping "9443"/,
  );
  assert.throws(() => dockerContainer({ ...PORTAINER, name: "-x" }), TypeError);
  assert.doesNotThrow(() => dockerContainer({ ...PORTAINER, ports: ["127.0.0.1:8000:8000/udp"] }));
});

Deno.test("dockerRunSucceeds runs a throwaway container", async () => {
  const ct = new FakeCt().on(
    "docker run --rm --gpus all nvidia/cuda:12.4.1-base-ubuntu22.04 nvidia-smi",
  );
  const verification = dockerRunSucceeds({
    image: "nvidia/cuda:12.4.1-base-ubuntu22.04",
    runOptions: ["--gpus", "all"],
    args: ["nvidia-smi"],
  });
  assert.equal(
    verification.name,
    "docker run --rm --gpus all nvidia/cuda:12.4.1-base-ubuntu22.04 nvidia-smi succeeds",
  );
  await verification.run(ct.context());
  const failing = new FakeCt().on(/^docker run/, {
    exitCode: 125,
    stderr: 'could not select device driver "" with capabilities: [[gpu]]\n',
  });
  await assert.rejects(() => verification.run(failing.context()), /could not select device driver/);
});
