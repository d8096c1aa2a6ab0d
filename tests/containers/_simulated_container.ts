/**
 * A simulated Debian/Ubuntu container for the fake `pct`: exec rules and flags that model dpkg
 * and apt, locales, systemd, Docker (engine, images, containers, `docker run`), Python venvs and
 * pip, vLLM, the NVIDIA driver and Container Toolkit, and curl probes, so that a container
 * module's actions flip exactly the flags its checks read. Files (`/etc/default/locale`, unit
 * files, apt sources) live in the fake's file map, written by the step library's file write
 * (a builtin of the fake) and read by its `cat`, `sha256sum` and `stat` builtins.
 *
 * Every rule is either a check (read-only) or an action, so a test can tell whether a run
 * changed anything inside the container ({@linkcode SimulatedContainer.isAction}).
 *
 * The finished state of each template ({@linkcode templateState}) is what a container cloned
 * from it starts with; the template's own first-run test proves the table right.
 *
 * @module
 */

import {
  type ExecRule,
  type FakeContainerInput,
  type FakeFile,
  literally,
} from "../fake_pct/fake_pct.ts";
import { WRITE_FILE_SCRIPT } from "../../lib/steps/files.ts";
import {
  dockerRunArgv,
  dockerSpecDigest,
  type ResolvedDockerContainerSpec,
} from "../../lib/steps/docker.ts";
import { BASE_PACKAGES } from "../../lib/catalog/features/base_setup.ts";
import { OLLAMA_ARCHIVE_URL } from "../../lib/catalog/features/ollama.ts";

/** The NVIDIA driver of the host fixture `gpu_580.76.05`. */
export const DRIVER_VERSION = "580.76.05";

/** The apt package lists the modules install, each installed by one `apt-get install`. */
export const PACKAGE_SETS = {
  base: BASE_PACKAGES,
  docker: ["docker.io"],
  toolkit: ["nvidia-container-toolkit"],
  python: ["python3-venv", "python3-pip"],
  zstd: ["zstd"],
  stepDeps: ["ca-certificates", "curl", "gnupg"],
  step: ["step-cli"],
} as const;

/** Package sets that another set's installation also installs (the base tools hold these). */
const ALSO_INSTALLED_BY: Partial<Record<keyof typeof PACKAGE_SETS, keyof typeof PACKAGE_SETS>> = {
  stepDeps: "base",
};

/** The fingerprint of smallstep's apt key in the simulation (what the tests pin). */
export const SIMULATED_STEP_KEY_FINGERPRINT = "0123456789ABCDEF0123456789ABCDEF01234567";

/** The flag saying a package set is installed. */
export function installed(set: keyof typeof PACKAGE_SETS): string {
  return `apt:${set}`;
}

/** What the simulated container runs besides the generic model. */
export interface SimulationOptions {
  /** The version the NVIDIA runfile installs and `nvidia-smi` reports. */
  readonly driverVersion?: string;
  /** The GPUs `nvidia-smi` lists once the driver is there. Default 2. */
  readonly gpus?: number;
  /** Docker containers the module creates, as `dockerContainer` resolves them. */
  readonly dockerContainers?: readonly ResolvedDockerContainerSpec[];
  /** What `/v1/models` lists while `vllm.service` runs. */
  readonly servedModels?: readonly string[];
  /** The fingerprint of the key smallstep's server hands out. */
  readonly stepKeyFingerprint?: string;
}

/** The rules of one simulated container and how to read a run's calls against them. */
export interface SimulatedContainer {
  /** The exec rules, in the order the fake tries them. */
  readonly exec: ExecRule[];
  /** Whether `argv` (inside the container) is an action: it changes the container. */
  isAction(argv: readonly string[]): boolean;
  /** Whether `argv` is a known read-only check (rule or builtin). */
  isCheck(argv: readonly string[]): boolean;
}

const APT = "env DEBIAN_FRONTEND=noninteractive apt-get";
const UPGRADE_STAMP = "/var/lib/phoenix-setup/apt-upgraded";
const UNITS = ["docker.service", "vllm.service", "ollama.service"];
const TOOLKIT_KEY = "/etc/apt/keyrings/nvidia-container-toolkit.asc";
const RUNTIME_CONFIG = "/etc/nvidia-container-runtime/config.toml";
/** What follows `docker run --rm` in 903's CUDA verification. */
const CUDA_IMAGE_RUN = "--gpus all nvidia/cuda:12.8.0-base-ubuntu24.04 nvidia-smi";
const TOOL_VERSIONS: Record<string, string> = {
  curl: "curl 8.5.0 (x86_64-pc-linux-gnu) libcurl/8.5.0 OpenSSL/3.0.13",
  wget: "GNU Wget 1.21.4 built on linux-gnu.",
  vim: "VIM - Vi IMproved 9.1 (2024 Jan 02, compiled May 20 2025 00:00:00)",
  htop: "htop 3.3.0",
  jq: "jq-1.7.1",
  git: "git version 2.43.0",
  rsync: "rsync  version 3.2.7  protocol version 31",
  gpg: "gpg (GnuPG) 2.4.4",
};

/** The read-only builtins of the fake: reading files. */
const READ_BUILTINS = [/^cat \S+$/, /^sha256sum \S+$/, /^stat -c %a \S+$/, /^test -[efx] \S+$/];

/**
 * Builds the simulated container's rules. Async only because a Docker container's spec label is
 * a digest.
 */
export async function simulatedContainer(
  options: SimulationOptions = {},
): Promise<SimulatedContainer> {
  const exec: ExecRule[] = [];
  const actions: RegExp[] = [
    /^mkdir -p /,
    /^rm -f /,
    /^rm -rf /,
    /^tee /,
    /^chmod /,
    /^touch /,
    new RegExp(literally(["bash", "-c", WRITE_FILE_SCRIPT, "bash"]).slice(0, -1) + " "),
  ];
  const checks: RegExp[] = [...READ_BUILTINS];
  const check = (match: string, rule: Omit<ExecRule, "match"> = {}) => {
    exec.push({ match, ...rule });
    checks.push(new RegExp(match));
  };
  const action = (match: string, rule: Omit<ExecRule, "match"> = {}) => {
    exec.push({ match, ...rule });
    actions.push(new RegExp(match));
  };
  const notFound = (command: string) => ({
    exit: 127,
    stderr: `lxc-attach: Failed to exec "${command}": No such file or directory\n`,
  });

  // dpkg and apt
  for (const [set, packages] of Object.entries(PACKAGE_SETS)) {
    const flag = installed(set as keyof typeof PACKAGE_SETS);
    const query = literally(["dpkg-query", "-W", "-f=${Status}\\n", ...packages]);
    check(query, { when: flag, stdout: "install ok installed\n".repeat(packages.length) });
    const also = ALSO_INSTALLED_BY[set as keyof typeof PACKAGE_SETS];
    if (also) {
      check(query, {
        when: installed(also),
        stdout: "install ok installed\n".repeat(packages.length),
      });
    }
    check(query, { exit: 1, stderr: `dpkg-query: no packages found matching ${packages[0]}\n` });
    const install = literally(`${APT} install -y --no-install-recommends ${packages.join(" ")}`);
    action(install, { when: "apt-lists", set: [flag] });
    action(install, { exit: 100, stderr: `E: Unable to locate package ${packages[0]}\n` });
  }
  action(literally(`${APT} update`), { set: ["apt-lists"] });
  check(literally(["test", "-e", UPGRADE_STAMP]), { when: "apt-upgrade-stamp" });
  check(literally(["test", "-e", UPGRADE_STAMP]), { exit: 1 });
  const simulate = literally("env LC_ALL=C apt-get -s -o Debug::NoLocking=1 upgrade");
  check(simulate, { when: "upgraded", stdout: "0 upgraded, 0 newly installed, 0 to remove.\n" });
  check(simulate, {
    stdout: "Inst libc6 [2.39-0ubuntu8] (2.39-0ubuntu8.4 Ubuntu:24.04/noble-updates [amd64])\n",
  });
  action(
    literally(
      `${APT} -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold upgrade`,
    ),
    { when: "apt-lists", set: ["upgraded"] },
  );
  action(literally(["touch", UPGRADE_STAMP]), { set: ["apt-upgrade-stamp"] });

  // Locales and the base tools
  check(literally("locale -a"), {
    when: "locale:en_US",
    stdout: "C\nC.utf8\nen_US.utf8\nPOSIX\n",
  });
  check(literally("locale -a"), { stdout: "C\nC.utf8\nPOSIX\n" });
  action(literally("locale-gen en_US.UTF-8"), { when: installed("base"), set: ["locale:en_US"] });
  action(literally("locale-gen en_US.UTF-8"), notFound("locale-gen"));
  for (const [tool, version] of Object.entries(TOOL_VERSIONS)) {
    check(literally([tool, "--version"]), { when: installed("base"), stdout: `${version}\n` });
    check(literally([tool, "--version"]), notFound(tool));
  }

  // systemd
  action(literally("systemctl daemon-reload"), { set: ["daemon-reloaded"] });
  for (const unit of UNITS) {
    const show = literally(`systemctl show --property=NeedDaemonReload --value ${unit}`);
    check(show, { when: "daemon-reloaded", stdout: "no\n" });
    check(show, { stdout: "yes\n" });
    check(literally(`systemctl is-enabled --quiet ${unit}`), { when: `enabled:${unit}` });
    check(literally(`systemctl is-enabled --quiet ${unit}`), { exit: 1 });
    check(literally(`systemctl is-active --quiet ${unit}`), { when: `active:${unit}` });
    check(literally(`systemctl is-active --quiet ${unit}`), { exit: 3 });
  }
  const enableDocker = literally("systemctl enable --now docker.service");
  action(enableDocker, {
    when: installed("docker"),
    set: ["enabled:docker.service", "active:docker.service"],
  });
  action(enableDocker, {
    exit: 1,
    stderr: "Failed to enable unit: Unit file docker.service does not exist.\n",
  });
  const restartDocker = literally("systemctl restart docker.service");
  action(restartDocker, {
    when: "ctk-runtime-configured",
    set: ["active:docker.service", "docker-nvidia-runtime"],
  });
  action(restartDocker, { set: ["active:docker.service"] });
  const enableVllm = literally("systemctl enable --now vllm.service");
  action(enableVllm, {
    when: "daemon-reloaded",
    set: ["enabled:vllm.service", "active:vllm.service"],
  });
  action(enableVllm, {
    exit: 1,
    stderr: "Failed to enable unit: Unit file vllm.service does not exist.\n",
  });
  action(literally("systemctl restart vllm.service"), { set: ["active:vllm.service"] });

  // Docker
  const noDaemon = {
    exit: 1,
    stderr: "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. " +
      "Is the docker daemon running?\n",
  };
  check(literally("docker info"), {
    when: "active:docker.service",
    stdout: "Client:\n Version:    26.1.3\n Context:    default\nServer:\n Containers: 0\n",
  });
  check(literally("docker info"), { unless: installed("docker"), ...notFound("docker") });
  check(literally("docker info"), noDaemon);
  const serverVersion = literally("docker version --format {{.Server.Version}}");
  check(serverVersion, { when: "active:docker.service", stdout: "26.1.3\n" });
  check(serverVersion, { unless: installed("docker"), ...notFound("docker") });
  check(serverVersion, noDaemon);
  const runtimes = literally("docker info --format {{json .Runtimes}}");
  const runc = '"io.containerd.runc.v2":{"path":"runc"},"runc":{"path":"runc"}';
  check(runtimes, {
    when: "docker-nvidia-runtime",
    stdout: `{${runc},"nvidia":{"path":"nvidia-container-runtime"}}\n`,
  });
  check(runtimes, { when: "active:docker.service", stdout: `{${runc}}\n` });
  check(runtimes, noDaemon);
  // `docker run --pull never` runs an image only when it is there: a check. Without it, docker
  // pulls a missing image: an action, which leaves the image (flag `image:<name>`) behind. What
  // the image then does: `outcomes`, the first that applies.
  const dockerRun = (
    image: string,
    flag: string,
    rest: string,
    outcomes: Omit<ExecRule, "match">[],
  ) => {
    const local = literally(`docker run --rm --pull never ${rest}`);
    check(local, { unless: "active:docker.service", ...noDaemon });
    check(local, {
      unless: flag,
      exit: 125,
      stderr: `docker: Error response from daemon: No such image: ${image}.\n`,
    });
    for (const outcome of outcomes) check(local, outcome);
    const pulling = literally(`docker run --rm ${rest}`);
    action(pulling, { unless: "active:docker.service", ...noDaemon });
    for (const outcome of outcomes) action(pulling, { ...outcome, set: [flag] });
  };
  dockerRun("hello-world:latest", "image:hello-world", "hello-world", [{
    stdout: "\nHello from Docker!\nThis message shows that your installation appears to be " +
      "working correctly.\n",
  }]);
  dockerRun("nvidia/cuda:12.8.0-base-ubuntu24.04", "image:cuda", CUDA_IMAGE_RUN, [
    {
      when: "docker-nvidia-runtime",
      stdout: nvidiaSmiTable(options.driverVersion ?? DRIVER_VERSION, options.gpus ?? 2),
    },
    {
      exit: 125,
      stderr: 'docker: Error response from daemon: could not select device driver "" with ' +
        "capabilities: [[gpu]].\n",
    },
  ]);
  for (const spec of options.dockerContainers ?? []) {
    await simulateDockerContainer(spec, check, action);
  }

  // NVIDIA driver and Container Toolkit
  const version = options.driverVersion ?? DRIVER_VERSION;
  const gpus = options.gpus ?? 2;
  const driverQuery = literally("nvidia-smi --query-gpu=driver_version --format=csv,noheader");
  check(driverQuery, { when: "nvidia-driver", stdout: `${version}\n`.repeat(gpus) });
  check(driverQuery, notFound("nvidia-smi"));
  const gpuQuery = literally(
    "nvidia-smi --query-gpu=index,name,driver_version --format=csv,noheader",
  );
  check(gpuQuery, {
    when: "nvidia-driver",
    stdout: Array.from({ length: gpus }, (_, i) => `${i}, NVIDIA GeForce RTX 5060 Ti, ${version}\n`)
      .join(""),
  });
  check(gpuQuery, notFound("nvidia-smi"));
  action("^curl -fsSL --retry 3 -o /tmp/NVIDIA-Linux-x86_64-[0-9.]+\\.run https://\\S+$", {
    when: installed("base"),
  });
  action(
    "^sh /tmp/NVIDIA-Linux-x86_64-[0-9.]+\\.run --no-kernel-module --silent --no-questions " +
      "--ui=none$",
    { set: ["nvidia-driver"] },
  );
  check(literally(["test", "-f", TOOLKIT_KEY]), { when: "nvidia-repo-key" });
  check(literally(["test", "-f", TOOLKIT_KEY]), { exit: 1 });
  action(`^curl -fsSL --retry 3 -o ${literally(TOOLKIT_KEY).slice(1, -1)} https://\\S+$`, {
    set: ["nvidia-repo-key"],
  });
  check(literally(["cat", RUNTIME_CONFIG]), {
    when: "no-cgroups",
    stdout: '[nvidia-container-cli]\nenvironment = []\nldconfig = "@/sbin/ldconfig.real"\n' +
      "load-kmods = true\nno-cgroups = true\n",
  });
  check(literally(["cat", RUNTIME_CONFIG]), {
    when: installed("toolkit"),
    stdout: '[nvidia-container-cli]\nenvironment = []\nldconfig = "@/sbin/ldconfig.real"\n' +
      "load-kmods = true\n#no-cgroups = false\n",
  });
  check(literally(["cat", RUNTIME_CONFIG]), {
    exit: 1,
    stderr: `cat: ${RUNTIME_CONFIG}: No such file or directory\n`,
  });
  const noCgroups = literally(
    "nvidia-ctk config --set nvidia-container-cli.no-cgroups --in-place",
  );
  action(noCgroups, { when: installed("toolkit"), set: ["no-cgroups"] });
  action(noCgroups, notFound("nvidia-ctk"));
  const configure = literally("nvidia-ctk runtime configure --runtime=docker");
  action(configure, { when: installed("toolkit"), set: ["ctk-runtime-configured"] });
  action(configure, notFound("nvidia-ctk"));

  // Python and vLLM
  check(literally("test -x /opt/vllm/bin/python"), { when: "venv" });
  check(literally("test -x /opt/vllm/bin/python"), { exit: 1 });
  action(literally("python3 -m venv /opt/vllm"), { when: installed("python"), set: ["venv"] });
  action(literally("python3 -m venv /opt/vllm"), {
    exit: 1,
    stderr: "The virtual environment was not created successfully because ensurepip is not " +
      "available.\n",
  });
  check(literally("/opt/vllm/bin/pip show vllm"), {
    when: "pip:vllm",
    stdout: "Name: vllm\nVersion: 0.11.0\nSummary: A high-throughput and memory-efficient " +
      "inference and serving engine for LLMs\n",
  });
  check(literally("/opt/vllm/bin/pip show vllm"), {
    when: "venv",
    exit: 1,
    stderr: "WARNING: Package(s) not found: vllm\n",
  });
  check(literally("/opt/vllm/bin/pip show vllm"), notFound("/opt/vllm/bin/pip"));
  action(literally("/opt/vllm/bin/pip install --no-input vllm"), {
    when: "venv",
    set: ["pip:vllm"],
  });
  check(literally("readlink /usr/bin/vllm"), {
    when: "vllm-on-path",
    stdout: "/opt/vllm/bin/vllm\n",
  });
  check(literally("readlink /usr/bin/vllm"), { exit: 1 });
  action(literally("ln -sfn /opt/vllm/bin/vllm /usr/bin/vllm"), { set: ["vllm-on-path"] });
  check(literally("vllm --version"), { when: "vllm-on-path", stdout: "0.11.0\n" });
  check(literally("vllm --version"), notFound("vllm"));
  check(literally("/opt/vllm/bin/vllm --version"), { when: "pip:vllm", stdout: "0.11.0\n" });
  check(literally("/opt/vllm/bin/vllm --version"), notFound("/opt/vllm/bin/vllm"));

  // Ollama
  const ollamaArchive = "/tmp/ollama-linux-amd64.tar.zst";
  action(literally(["curl", "-fsSL", "--retry", "3", "-o", ollamaArchive, OLLAMA_ARCHIVE_URL]), {
    when: installed("base"),
  });
  action(literally("rm -rf /usr/lib/ollama"));
  action(literally(["tar", "--zstd", "-x", "-f", ollamaArchive, "-C", "/usr"]), {
    when: installed("zstd"),
    set: ["ollama"],
  });
  action(literally(["tar", "--zstd", "-x", "-f", ollamaArchive, "-C", "/usr"]), {
    exit: 2,
    stderr: "tar: zstd: Cannot exec: No such file or directory\n",
  });
  check(literally("/usr/bin/ollama --version"), {
    when: "ollama",
    stdout: "ollama version is 0.13.0\n",
  });
  check(literally("/usr/bin/ollama --version"), notFound("/usr/bin/ollama"));
  check(literally("id -u ollama"), { when: "user:ollama", stdout: "999\n" });
  check(literally("id -u ollama"), { exit: 1, stderr: "id: 'ollama': no such user\n" });
  action(
    literally(
      "useradd --system --shell /bin/false --user-group --create-home --home-dir " +
        "/usr/share/ollama ollama",
    ),
    { set: ["user:ollama"] },
  );
  const enableOllama = literally("systemctl enable --now ollama.service");
  action(enableOllama, {
    when: "daemon-reloaded",
    set: ["enabled:ollama.service", "active:ollama.service"],
  });
  action(literally("systemctl restart ollama.service"), { set: ["active:ollama.service"] });

  // The host's root CA in the trust store
  action(literally("update-ca-certificates"), {
    when: installed("base"),
    set: ["ca-trusted"],
    stdout: "Updating certificates in /etc/ssl/certs...\n1 added, 0 removed; done.\n",
  });
  check(literally("test -e /etc/ssl/certs/phoenix_root_ca.pem"), { when: "ca-trusted" });
  check(literally("test -e /etc/ssl/certs/phoenix_root_ca.pem"), { exit: 1 });

  // smallstep's step CLI
  const stepKey = options.stepKeyFingerprint ?? SIMULATED_STEP_KEY_FINGERPRINT;
  const showKey = literally("gpg --show-keys --with-colons /etc/apt/keyrings/smallstep.asc");
  check(showKey, {
    when: "step-key",
    stdout: `pub:-:4096:1:ABCDEF0123456789:1700000000:::-:::scESC::::::23::0:\n` +
      `fpr:::::::::${stepKey}:\nuid:-::::1700000000::0::Smallstep <packages@smallstep.com>::::::::::0:\n`,
  });
  check(showKey, {
    exit: 2,
    stderr: "gpg: can't open '/etc/apt/keyrings/smallstep.asc': No such file or directory\n",
  });
  // The fetch script gets the URL, the pinned fingerprint and the key's path as $1..$3.
  action(`^bash -c set -eu\n[\\s\\S]* bash \\S+ ${stepKey} /etc/apt/keyrings/smallstep\\.asc$`, {
    when: installed("base"),
    set: ["step-key"],
  });
  action("^bash -c set -eu\n[\\s\\S]* bash \\S+ [0-9A-F]{40} /etc/apt/keyrings/smallstep\\.asc$", {
    exit: 1,
    stderr: `smallstep's apt key has fingerprint ${stepKey}, expected another; not installed\n`,
  });
  check(literally("step version"), {
    when: installed("step"),
    stdout: "Smallstep CLI/0.28.7 (linux/amd64)\nRelease Date: 2025-07-14 20:11 UTC\n",
  });
  check(literally("step version"), notFound("step"));

  // curl probes of the services
  const codeProbe = "^curl -s (-k )?--max-time 10 -o /dev/null -w %\\{http_code\\} ";
  check(`${codeProbe}http://\\S+/health$`, { when: "active:vllm.service", stdout: "200" });
  check(`${codeProbe}http://\\S+/api/version$`, { when: "active:ollama.service", stdout: "200" });
  check(`${codeProbe}https://localhost:\\d+$`, { when: "container:portainer", stdout: "200" });
  check(codeProbe, {
    exit: 7,
    stdout: "000",
    stderr: "curl: (7) Failed to connect to localhost port 8000: Connection refused\n",
  });
  const models = "^curl -fsS --max-time 30 http://\\S+/v1/models$";
  check(models, {
    when: "active:vllm.service",
    stdout: JSON.stringify({
      object: "list",
      data: (options.servedModels ?? []).map((id) => ({ id, object: "model", owned_by: "vllm" })),
    }),
  });
  check(models, {
    exit: 7,
    stderr: "curl: (7) Failed to connect to localhost: Connection refused\n",
  });

  const line = (argv: readonly string[]) => argv.join(" ");
  return {
    exec,
    isAction: (argv) => actions.some((pattern) => pattern.test(line(argv))),
    isCheck: (argv) => checks.some((pattern) => pattern.test(line(argv))),
  };
}

/** `docker image inspect`, `pull`, `container inspect`, `run -d` and `rm -f` for one spec. */
async function simulateDockerContainer(
  spec: ResolvedDockerContainerSpec,
  check: (match: string, rule?: Omit<ExecRule, "match">) => void,
  action: (match: string, rule?: Omit<ExecRule, "match">) => void,
): Promise<void> {
  const digest = await dockerSpecDigest(spec);
  const image = `image:${spec.image}`;
  const container = `container:${spec.name}`;
  const imageInspect = literally(["docker", "image", "inspect", "--format", "{{.Id}}", spec.image]);
  check(imageInspect, {
    when: image,
    stdout: "sha256:5c4ea7ee3dbd8d1a2e4f1f1a5bd2c0f3f2f4b1c6a9d1e0e1c2b3a4f5e6d7c8b9\n",
  });
  check(imageInspect, { exit: 1, stderr: `Error: No such image: ${spec.image}\n` });
  action(literally(["docker", "pull", spec.image]), {
    when: "active:docker.service",
    set: [image],
  });
  const inspect = literally(["docker", "container", "inspect", spec.name]);
  check(inspect, {
    when: container,
    stdout: JSON.stringify([inspected(spec, digest)], null, 4) + "\n",
  });
  check(inspect, { exit: 1, stdout: "[]\n", stderr: `Error: No such container: ${spec.name}\n` });
  action(
    literally(dockerRunArgv(spec, digest)),
    { when: image, set: [container], stdout: `${digest.slice(0, 64)}\n` },
  );
  action(literally(["docker", "rm", "-f", spec.name]), { unset: [container] });
}

/** What `docker container inspect` says about a running container created from `spec`. */
function inspected(spec: ResolvedDockerContainerSpec, digest: string) {
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const port of spec.ports) {
    const [hostPort, containerPort] = port.split(":");
    bindings[`${containerPort}/tcp`] = [{ HostIp: "", HostPort: hostPort }];
  }
  return {
    Name: `/${spec.name}`,
    Config: { Image: spec.image, Labels: { "phoenix-setup.spec": digest } },
    State: { Status: "running", Running: true },
    HostConfig: {
      Binds: [...spec.volumes],
      PortBindings: bindings,
      RestartPolicy: { Name: spec.restart, MaximumRetryCount: 0 },
    },
  };
}

function nvidiaSmiTable(version: string, gpus: number): string {
  const rows = Array.from(
    { length: gpus },
    (_, i) => `|   ${i}  NVIDIA GeForce RTX 5060 Ti     On  |   00000000:0${i + 1}:00.0 Off |`,
  );
  return `| NVIDIA-SMI ${version}   Driver Version: ${version}   CUDA Version: 13.0 |\n` +
    `${rows.join("\n")}\n`;
}

/** The templates whose finished state other containers are cloned from. */
export type TemplateCtid = "900" | "901" | "902" | "903" | "920";

/** The device entries `gpuPassthrough` writes for GPUs 0 and 1 on the fixture host. */
export const GPU_DEVICES: Readonly<Record<string, string>> = {
  dev0: "/dev/nvidia0",
  dev1: "/dev/nvidia1",
  dev2: "/dev/nvidiactl",
  dev3: "/dev/nvidia-uvm",
  dev4: "/dev/nvidia-uvm-tools",
};

/** `/etc/locale.gen` as the `locales` package ships it: every locale commented out. */
const LOCALE_GEN_SHIPPED = "# de_DE.UTF-8 UTF-8\n# en_US.UTF-8 UTF-8\n";

const DEFAULT_LOCALE: Record<string, FakeFile> = {
  "/etc/locale.gen": { content: "# de_DE.UTF-8 UTF-8\nen_US.UTF-8 UTF-8\n", mode: "0644" },
  "/etc/default/locale": { content: "LANG=en_US.UTF-8\n", mode: "0644" },
};

/**
 * The flags, files and Proxmox config a finished template has: what its clones start with.
 * `null` is a container created from the OS template (nothing installed).
 */
export function templateState(
  template: TemplateCtid | null,
): Pick<FakeContainerInput, "flags" | "files" | "config"> {
  const base = ["apt-lists", "upgraded", "apt-upgrade-stamp", installed("base"), "locale:en_US"];
  // The docker feature's verification pulled hello-world: every clone has it.
  const docker = [
    installed("docker"),
    "enabled:docker.service",
    "active:docker.service",
    "image:hello-world",
  ];
  switch (template) {
    case null:
      return {
        flags: [],
        files: { "/etc/locale.gen": { content: LOCALE_GEN_SHIPPED, mode: "0644" } },
        config: {},
      };
    case "900":
      return { flags: base, files: { ...DEFAULT_LOCALE }, config: {} };
    case "901":
      return {
        flags: [...base, "nvidia-driver"],
        files: { ...DEFAULT_LOCALE },
        config: { ...GPU_DEVICES },
      };
    case "902":
      return {
        flags: [...base, ...docker],
        files: { ...DEFAULT_LOCALE },
        config: { features: "nesting=1" },
      };
    case "903":
      return {
        flags: [
          ...base,
          ...docker,
          "nvidia-driver",
          "nvidia-repo-key",
          installed("toolkit"),
          "no-cgroups",
          "ctk-runtime-configured",
          "docker-nvidia-runtime",
          "image:cuda",
        ],
        files: {
          ...DEFAULT_LOCALE,
          "/etc/apt/sources.list.d/nvidia-container-toolkit.list": {
            content: "deb [signed-by=/etc/apt/keyrings/nvidia-container-toolkit.asc] " +
              "https://developer.download.nvidia.com/compute/cuda/repos/ubuntu2404/x86_64/ /\n",
            mode: "0644",
          },
        },
        config: { features: "nesting=1", ...GPU_DEVICES },
      };
    case "920":
      return {
        flags: [...base, "nvidia-driver", installed("python"), "venv", "pip:vllm", "vllm-on-path"],
        files: { ...DEFAULT_LOCALE },
        config: { ...GPU_DEVICES },
      };
  }
}
