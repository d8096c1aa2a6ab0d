/**
 * 903 BaseTemplateDockerGPU: the Docker + GPU template, cloned from 902: the `nvidia` feature
 * (GPUs and the user-space driver of exactly the host's version) and the `docker` feature, then
 * the NVIDIA Container Toolkit from NVIDIA's apt repository (the config's `nvidia_repo_url` when
 * it has one) registered with Docker, proven by a CUDA container that sees the GPUs. A host
 * without the NVIDIA driver, or a container without nesting, fails before anything changes.
 *
 * @module
 */

import { InContainer } from "../lib/host/in_container.ts";
import { composeContainer } from "../lib/catalog/composition.ts";
import { definePart, docker, nvidia } from "../lib/catalog/features/mod.ts";
import { aptPackages, aptSourceFile, dockerRunSucceeds } from "../lib/steps/mod.ts";

/** Where NVIDIA's packages come from, and the key that signs them. */
interface Repository {
  readonly url: string;
  readonly keyUrl: string;
}

interface Settings {
  readonly repository: Repository;
}

/** NVIDIA's own repository of the toolkit, for configs without `nvidia_repo_url`. */
const TOOLKIT_REPOSITORY: Repository = {
  url: "https://nvidia.github.io/libnvidia-container/stable/deb/$(ARCH)",
  keyUrl: "https://nvidia.github.io/libnvidia-container/gpgkey",
};

/**
 * The CUDA repository of `nvidia_repo_url` (e.g. `.../cuda/repos/ubuntu2404/x86_64/`) carries
 * the toolkit too; `3bf863cc.pub` is the key NVIDIA signs its CUDA repositories with since 2022.
 */
function repositoryOf(repoUrl: string | undefined): Repository {
  if (repoUrl === undefined) return TOOLKIT_REPOSITORY;
  const base = repoUrl.endsWith("/") ? repoUrl : `${repoUrl}/`;
  return { url: base, keyUrl: `${base}3bf863cc.pub` };
}

/** An ASCII-armored key: apt reads it as it is when the name ends in `.asc`. */
const KEY = "/etc/apt/keyrings/nvidia-container-toolkit.asc";
const RUNTIME_CONFIG = "/etc/nvidia-container-runtime/config.toml";
/** Whether the repository's key is in place. */
const HAS_KEY = ["test", "-f", KEY];
/** Docker's registered runtimes, as JSON. */
const DOCKER_RUNTIMES = ["docker", "info", "--format", "{{json .Runtimes}}"];
const CUDA_IMAGE = "nvidia/cuda:12.8.0-base-ubuntu24.04";

/** The toolkit: this template's own part, after the features. */
const containerToolkit = definePart<Settings>({
  name: "nvidia_container_toolkit",
  summary: "the NVIDIA Container Toolkit, registered as Docker's nvidia runtime",
  reads: ["nvidia_repo_url (top level)"],
  settings: (config) => ({ repository: repositoryOf(config.loaded.data.nvidia_repo_url) }),
  steps: [
    {
      name: "Add the key of NVIDIA's apt repository",
      probes: () => [HAS_KEY],
      check: (ctx) => ctx.container.succeeds(HAS_KEY),
      action: async (ctx) => {
        await ctx.container.run(["mkdir", "-p", "/etc/apt/keyrings"]);
        await ctx.container.run(
          ["curl", "-fsSL", "--retry", "3", "-o", KEY, ctx.settings.repository.keyUrl],
          { timeoutMs: 300_000 },
        );
      },
    },
    aptSourceFile<Settings>({
      path: "/etc/apt/sources.list.d/nvidia-container-toolkit.list",
      content: (ctx) => `deb [signed-by=${KEY}] ${ctx.settings.repository.url} /\n`,
    }),
    aptPackages(["nvidia-container-toolkit"]),
    {
      // An LXC container may not control device cgroups: without this, every GPU container
      // fails with "bpf_prog_query(BPF_CGROUP_DEVICE) failed: operation not permitted".
      name: "Let the NVIDIA container runtime leave device cgroups alone (LXC)",
      probes: () => [InContainer.readFileArgv(RUNTIME_CONFIG)],
      check: async (ctx) =>
        /^\s*no-cgroups\s*=\s*true\s*$/m.test(await ctx.container.readFile(RUNTIME_CONFIG) ?? ""),
      action: async (ctx) => {
        await ctx.container.run(
          ["nvidia-ctk", "config", "--set", "nvidia-container-cli.no-cgroups", "--in-place"],
        );
      },
    },
    {
      name: "Register the nvidia runtime with Docker",
      probes: () => [DOCKER_RUNTIMES],
      check: async (ctx) => {
        const runtimes = await ctx.container.exec(DOCKER_RUNTIMES, { timeoutMs: 60_000 });
        return runtimes.exitCode === 0 && Object.hasOwn(JSON.parse(runtimes.stdout), "nvidia");
      },
      action: async (ctx) => {
        await ctx.container.run(["nvidia-ctk", "runtime", "configure", "--runtime=docker"]);
        await ctx.container.run(["systemctl", "restart", "docker.service"], {
          timeoutMs: 300_000,
        });
      },
    },
  ],
  verification: [
    dockerRunSucceeds({ image: CUDA_IMAGE, runOptions: ["--gpus", "all"], args: ["nvidia-smi"] }),
  ],
});

export default composeContainer({
  ctid: "903",
  kind: "template",
  description:
    "Docker with the NVIDIA Container Toolkit and the GPUs; snapshot for GPU Docker containers",
  defaultSnapshotName: "docker-gpu-snapshot",
  features: [nvidia, docker],
  own: [containerToolkit],
});
