import assert from "node:assert/strict";
import { SetupError } from "../../../lib/core/errors.ts";
import { ExitCode } from "../../../lib/core/exit_codes.ts";
import { runSteps } from "../../../lib/pattern/run_steps.ts";
import {
  dockerContainer,
  type DockerContainerSpec,
  dockerEngine,
  dockerImage,
  dockerRunSucceeds,
  dockerSpecDigest,
  hasFeature,
  nestingEnabled,
  SPEC_LABEL,
} from "../../../lib/steps/docker.ts";
import { type InMemoryPct, literally } from "../../fake_pct/in_memory.ts";
import { callSummary } from "../../fake_pct/calls.ts";
import { rejectsWith } from "../../support/assertions.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { stepContext, stepPct } from "../../support/step_container.ts";
import { stepCounts } from "../../support/assertions.ts";

Deno.test("hasFeature reads Proxmox's features value", () => {
  assert.equal(hasFeature("nesting=1,keyctl=1", "nesting"), true);
  assert.equal(hasFeature("keyctl=1, nesting=on", "nesting"), true);
  assert.equal(hasFeature("nesting=0", "nesting"), false);
  assert.equal(hasFeature("keyctl=1", "nesting"), false);
  assert.equal(hasFeature(undefined, "nesting"), false);
});

/** A container with Docker whose engine answers once `docker.io` is installed. */
function engineCt(
  options: { features?: string; installed?: boolean; pending?: Record<string, string> },
) {
  let installed = options.installed ?? false;
  let enabled = installed;
  const config: Record<string, string> = { hostname: "docker", memory: "4096" };
  if (options.features !== undefined) config.features = options.features;
  return stepPct({
    ctid: "902",
    config,
    ...(options.pending && { pending: options.pending }),
    exec: [
      {
        match: literally("docker info"),
        reply: () =>
          installed && enabled ? { stdout: "Server Version: 26.1.5\n" } : {
            exit: installed ? 1 : 127,
            stderr: "Cannot connect to the Docker daemon\n",
          },
      },
      {
        match: literally("systemctl is-enabled --quiet docker.service"),
        reply: () => ({ exit: enabled ? 0 : 1 }),
      },
      {
        match: "^dpkg-query",
        reply: () => installed ? { stdout: "install ok installed\n" } : { exit: 1 },
      },
      { match: "apt-get update$" },
      {
        match: /apt-get install -y --no-install-recommends docker\.io$/.source,
        reply: () => {
          installed = true;
          return {};
        },
      },
      {
        match: literally("systemctl enable --now docker.service"),
        reply: () => {
          enabled = true;
          return {};
        },
      },
    ],
  });
}

Deno.test("dockerEngine installs docker.io and enables it, then docker info answers", async () => {
  const pct = engineCt({ features: "nesting=1,keyctl=1" });
  assert.deepEqual(
    stepCounts(await runSteps([dockerEngine()], stepContext(pct), { dryRun: false })),
    {
      ran: 1,
      skipped: 0,
    },
  );
  assert.deepEqual(pct.execLines().filter((line) => /apt-get|enable --now/.test(line)), [
    "env DEBIAN_FRONTEND=noninteractive apt-get update",
    "env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends docker.io",
    "systemctl enable --now docker.service",
  ]);
  assert.deepEqual(pct.mutatingCalls(), []);
});

Deno.test("dockerEngine is done when docker info answers and the service is enabled", async () => {
  const pct = engineCt({ features: "nesting=1", installed: true });
  assert.deepEqual(
    stepCounts(
      await runSteps([nestingEnabled(), dockerEngine()], stepContext(pct), { dryRun: false }),
    ),
    { ran: 0, skipped: 2 },
  );
  // The config in effect once, then the engine's checks in one round trip.
  assert.deepEqual(callSummary(pct.argvs()), [
    "config 902 --current 1",
    "batch: docker info; systemctl is-enabled --quiet docker.service",
  ]);
});

Deno.test("nestingEnabled: nesting that is only pending is not in effect: restart needed, in its own words", async () => {
  // `pct set --features nesting=1` while it ran: pct config shows it, --current does not.
  const pct = engineCt({ features: "keyctl=1", pending: { features: "keyctl=1,nesting=1" } });
  const error = await rejectsWith(
    runSteps([nestingEnabled(), dockerEngine()], stepContext(pct), { dryRun: true }),
    SetupError,
  );
  assert.equal(error.exitCode, ExitCode.HostPrerequisite);
  assert.match(
    error.message,
    /Container 902 has nesting=1 only as a pending change \(its features in effect are "keyctl=1"\): it was set while the container ran, and features take effect at the next start\. Docker needs it in effect: restart the container \('pct shutdown 902', then 'pct start 902'\), then run this again/,
  );
  assert.deepEqual(callSummary(pct.argvs()), ["config 902 --current 1", "config 902"]);
  assert.deepEqual(pct.execs(), [], "nothing runs in the container");
});

Deno.test("nestingEnabled fails with the host-prerequisite code when nesting is off", async () => {
  for (const features of ["keyctl=1", undefined]) {
    const pct = engineCt({ features });
    const error = await rejectsWith(
      runSteps([nestingEnabled(), dockerEngine()], stepContext(pct), { dryRun: true }),
      SetupError,
    );
    assert.equal(error.exitCode, ExitCode.HostPrerequisite);
    assert.match(error.message, /Container 902 does not have the feature nesting=1/);
    assert.match(error.message, /pct set 902 --features nesting=1/);
    assert.deepEqual(pct.execs(), [], "nothing runs in the container");
  }
});

Deno.test("dockerImage pulls a missing image and retries a network timeout", async () => {
  let pulled = false;
  const pct = stepPct({
    exec: [
      {
        match: literally("docker image inspect --format {{.Id}} hello-world"),
        reply: () =>
          pulled ? { stdout: "sha256:d2c9\n" } : { exit: 1, stderr: "Error: No such image\n" },
      },
      {
        match: literally("docker pull hello-world"),
        exit: 1,
        stderr: 'Error response from daemon: Get "https://registry-1.docker.io/v2/": net/http: ' +
          "TLS handshake timeout\n",
        times: 1,
      },
      {
        match: literally("docker pull hello-world"),
        reply: () => {
          pulled = true;
          return {};
        },
      },
    ],
  });
  const clock = new FakeClock();
  await runSteps([dockerImage("hello-world", { clock })], stepContext(pct), { dryRun: false });
  assert.deepEqual(clock.sleeps, [5000]);
  pct.clearCalls();
  assert.equal(await dockerImage("hello-world").check(stepContext(pct)), true);
  assert.throws(() => dockerImage("-v"), TypeError);
});

/** A fake Docker daemon: `docker run` records what `docker container inspect` then shows. */
function dockerCt() {
  const containers = new Map<string, Record<string, unknown>>();
  const pct = stepPct({
    ctid: "910",
    exec: [
      {
        match: "^docker container inspect ",
        reply: (argv) => {
          const found = containers.get(argv[3]);
          return found
            ? { stdout: JSON.stringify([found], null, 4) }
            : { exit: 1, stdout: "[]\n", stderr: `Error: No such container: ${argv[3]}\n` };
        },
      },
      {
        match: "^docker run -d ",
        reply: (argv) => {
          const options = argv.slice(3);
          const value = (flag: string) =>
            options.flatMap((o, i) => o === flag ? [options[i + 1]] : []);
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
        },
      },
      {
        match: "^docker rm -f ",
        reply: (argv) => {
          containers.delete(argv[3]);
          return { stdout: `${argv[3]}\n` };
        },
      },
      {
        match: "^docker start ",
        reply: (argv) => {
          (containers.get(argv[2])!.State as { Running: boolean }).Running = true;
          return {};
        },
      },
    ],
  });
  return { pct, containers };
}

const PORTAINER: DockerContainerSpec = {
  name: "portainer",
  image: "portainer/portainer-ce:2.21.4",
  ports: ["9443:9443", "9000:9000"],
  volumes: ["/var/run/docker.sock:/var/run/docker.sock", "portainer_data:/data"],
};

const dockerCommands = (pct: InMemoryPct) =>
  pct.execs().filter((argv) => argv[0] === "docker" && argv[1] !== "container");

Deno.test("dockerContainer creates a missing container with docker run", async () => {
  const { pct } = dockerCt();
  assert.deepEqual(
    stepCounts(await runSteps([dockerContainer(PORTAINER)], stepContext(pct), { dryRun: false })),
    {
      ran: 1,
      skipped: 0,
    },
  );
  const [run] = dockerCommands(pct);
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
  const { pct } = dockerCt();
  await runSteps([dockerContainer(PORTAINER)], stepContext(pct), { dryRun: false });
  pct.clearCalls();
  const reordered = { ...PORTAINER, ports: ["9000:9000", "9443:9443"], restart: "always" as const };
  assert.deepEqual(
    stepCounts(await runSteps([dockerContainer(reordered)], stepContext(pct), { dryRun: false })),
    {
      ran: 0,
      skipped: 1,
    },
  );
  assert.deepEqual(dockerCommands(pct), []);
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
    const { pct } = dockerCt();
    await runSteps([dockerContainer(PORTAINER)], stepContext(pct), { dryRun: false });
    pct.clearCalls();
    const ctx = stepContext(pct);
    await runSteps([dockerContainer({ ...PORTAINER, ...change })], ctx, { dryRun: false });
    assert.deepEqual(dockerCommands(pct).map((argv) => argv.slice(0, 3)), [
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
  const { pct, containers } = dockerCt();
  await runSteps([dockerContainer(PORTAINER)], stepContext(pct), { dryRun: false });
  (containers.get("portainer")!.State as { Running: boolean }).Running = false;
  pct.clearCalls();
  await runSteps([dockerContainer(PORTAINER)], stepContext(pct), { dryRun: false });
  assert.deepEqual(dockerCommands(pct), [["docker", "start", "portainer"]]);
});

Deno.test("dockerContainer rejects malformed specs when the module is defined", () => {
  assert.throws(
    () => dockerContainer({ ...PORTAINER, ports: ["9443"] }),
    /Cannot use port mapping "9443"/,
  );
  assert.throws(() => dockerContainer({ ...PORTAINER, name: "-x" }), TypeError);
  assert.doesNotThrow(() => dockerContainer({ ...PORTAINER, ports: ["127.0.0.1:8000:8000/udp"] }));
});

Deno.test("dockerRunSucceeds runs a throwaway container from the local images, pulling only when it must", async () => {
  const verification = dockerRunSucceeds({
    image: "nvidia/cuda:12.4.1-base-ubuntu22.04",
    runOptions: ["--gpus", "all"],
    args: ["nvidia-smi"],
  });
  assert.equal(
    verification.name,
    "docker run --rm --gpus all nvidia/cuda:12.4.1-base-ubuntu22.04 nvidia-smi succeeds",
  );
  const local = "docker run --rm --pull never --gpus all nvidia/cuda:12.4.1-base-ubuntu22.04 " +
    "nvidia-smi";
  assert.deepEqual(verification.probes?.(stepContext(stepPct())), [local.split(" ")]);

  // The image is there: one run, without a pull.
  const present = stepPct({ exec: [{ match: literally(local) }] });
  await verification.run(stepContext(present));
  assert.deepEqual(present.execLines(), [local]);

  // It is not: the run that may pull follows, and the log says why.
  const missing = stepPct({
    exec: [
      {
        match: literally(local),
        exit: 125,
        stderr: "docker: Error response from daemon: No such image: nvidia/cuda:12.4.1.\n",
      },
      {
        match: literally(
          "docker run --rm --gpus all nvidia/cuda:12.4.1-base-ubuntu22.04 nvidia-smi",
        ),
      },
    ],
  });
  const ctx = stepContext(missing);
  await verification.run(ctx);
  assert.equal(missing.execs().length, 2);
  assert.ok(
    ctx.log.messages("info").includes(
      "nvidia/cuda:12.4.1-base-ubuntu22.04 did not run from the container's own images (exit 125): " +
        "running it again, pulling it if needed",
    ),
  );

  const failing = stepPct({
    exec: [{
      match: "^docker run",
      exit: 125,
      stderr: 'could not select device driver "" with capabilities: [[gpu]]\n',
    }],
  });
  await assert.rejects(
    () => verification.run(stepContext(failing)),
    /could not select device driver/,
  );
});

Deno.test("dockerContainer takes values derived from the context, e.g. ports from the settings", async () => {
  const { pct } = dockerCt();
  const step = dockerContainer<{ ports: string[] }>({
    name: "portainer",
    image: "portainer/portainer-ce:2.21.4",
    ports: (ctx) => ctx.settings.ports,
    volumes: ["portainer_data:/data"],
  });
  const settings = { ports: ["8443:9443"] };
  await runSteps([step], stepContext(pct, { settings }), { dryRun: false });
  const [run] = dockerCommands(pct);
  assert.deepEqual(run.slice(0, 9), [
    "docker",
    "run",
    "-d",
    "--name",
    "portainer",
    "--restart",
    "always",
    "-p",
    "8443:9443",
  ]);
  assert.equal(await step.check(stepContext(pct, { settings })), true);
  assert.equal(await step.check(stepContext(pct, { settings: { ports: ["9443:9443"] } })), false);
  await assert.rejects(
    () => step.check(stepContext(pct, { settings: { ports: ["9443"] } })),
    /Cannot use port mapping "9443"/,
  );
});

Deno.test("dockerSpecDigest ignores the order of ports and volumes, not the command", async () => {
  const spec = {
    name: "web",
    image: "nginx:1.27",
    ports: ["80:80", "443:443"],
    restart: "always" as const,
    volumes: ["a:/a", "b:/b"],
    runOptions: [],
    args: [],
  };
  const digest = await dockerSpecDigest(spec);
  assert.match(digest, /^[0-9a-f]{64}$/);
  assert.equal(
    await dockerSpecDigest({ ...spec, ports: ["443:443", "80:80"], volumes: ["b:/b", "a:/a"] }),
    digest,
  );
  assert.notEqual(
    await dockerSpecDigest({ ...spec, args: ["nginx", "-g", "daemon off;"] }),
    digest,
  );
});
