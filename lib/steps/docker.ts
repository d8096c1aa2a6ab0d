/**
 * Docker inside the container: the engine (Debian/Ubuntu's `docker.io`, which needs the
 * container feature `nesting=1`), images, and long-running containers that are recreated only
 * when they differ from what is wanted.
 *
 * @module
 */

import type { CommandResult } from "../core/command_text.ts";
import type { SetupContext, Step, Verification } from "../module/container_module.ts";
import { SetupError } from "../core/errors.ts";
import { ExitCode } from "../core/exit_codes.ts";
import { aptPackages, type AptPackagesOptions } from "./apt.ts";
import { failedWith, type RetryOptions, retryTransient } from "./_retry.ts";

const TRUE = /^(1|on|yes|true)$/i;

/**
 * Whether the Proxmox `features` value (`nesting=1,keyctl=1`) turns `feature` on.
 *
 * @example
 * ```ts
 * import { hasFeature } from "./docker.ts";
 * hasFeature("keyctl=1,nesting=1", "nesting"); // true
 * ```
 */
export function hasFeature(features: string | undefined, feature: string): boolean {
  return (features ?? "").split(",").some((item) => {
    const [key, value = "1"] = item.trim().split("=");
    return key === feature && TRUE.test(value);
  });
}

/**
 * `nesting=1` is set, but only as a pending change (set while the container ran; `features` takes
 * effect at the next start). A template's flow restarts the container and checks again; for a
 * standard container, which runs a service, the run stops and says a restart is needed.
 */
export class NestingPending extends SetupError {
  /** @param message What was found and what to do. */
  constructor(message: string) {
    super(message, ExitCode.HostPrerequisite);
    this.name = "NestingPending";
  }
}

/** `docker info`: it answers only when the daemon runs (and so nesting works). */
const DOCKER_INFO: readonly string[] = ["docker", "info"];

/**
 * Fails unless the configuration in effect (`pct config --current 1`) has `features: nesting=1`,
 * which Docker inside an LXC container needs. Nesting that is only pending (set while the
 * container ran: `features` is not hot-pluggable) is not in effect yet. Read-only.
 *
 * @throws {SetupError} With {@linkcode ExitCode.HostPrerequisite} and what to change; a
 *   {@linkcode NestingPending} when nesting waits for a restart.
 */
export async function requireNesting<S>(ctx: SetupContext<S>): Promise<void> {
  const current = (await ctx.pct.config(ctx.ctid)).get("features")?.[0];
  if (hasFeature(current, "nesting")) return;
  // Not in effect: pending (shown only merged into `pct config`), or not set at all?
  const features = (await ctx.pct.configWithPending(ctx.ctid)).get("features")?.[0];
  if (hasFeature(features, "nesting")) {
    throw new NestingPending(
      `Container ${ctx.ctid} has nesting=1 only as a pending change (its features in effect are ` +
        `${current ? `"${current}"` : "not set"}): it was set while the container ran, and ` +
        "features take effect at the next start. Docker needs it in effect: restart the " +
        `container ('pct shutdown ${ctx.ctid}', then 'pct start ${ctx.ctid}'), then run this ` +
        "again",
    );
  }
  throw new SetupError(
    `Container ${ctx.ctid} does not have the feature nesting=1 (its features are ` +
      `${features ? `"${features}"` : "not set"}), which Docker needs: add nesting=1 to ` +
      `"features" in its config entry, or run "pct set ${ctx.ctid} --features nesting=1" ` +
      "and restart the container",
    ExitCode.HostPrerequisite,
  );
}

/**
 * A requirement rather than a change: the container's Proxmox config has `nesting=1`, which
 * Docker inside an LXC container needs. Its check passes, or fails the run with
 * {@linkcode ExitCode.HostPrerequisite} naming the `pct set` that fixes it; there is nothing for
 * its action to do. The `docker` feature runs it before any step, so a container without nesting
 * fails before anything changed.
 *
 * @example
 * ```ts
 * import { dockerEngine, nestingEnabled } from "./docker.ts";
 * const steps = [nestingEnabled(), dockerEngine()];
 * ```
 */
export function nestingEnabled<S>(): Step<S> {
  return {
    name: "Check that the container has nesting=1 (Docker needs it)",
    hostSide: "reading the container's Proxmox config",
    // Read from the config, not guessed from inside: `docker info` may answer without nesting,
    // and containers then fail to start.
    check: async (ctx) => {
      await requireNesting(ctx);
      return true;
    },
    action: () => Promise.resolve(),
  };
}

/**
 * Docker Engine from the distribution's `docker.io` package, enabled and running. Check:
 * `docker info` answers and `docker.service` is enabled. Action: installs `docker.io` (see
 * {@linkcode aptPackages}) and runs `systemctl enable --now docker.service`. Docker needs
 * `nesting=1`: put {@linkcode nestingEnabled} before it (the `docker` feature does).
 *
 * @example
 * ```ts
 * import { dockerEngine } from "./docker.ts";
 * const step = dockerEngine();
 * ```
 */
export function dockerEngine<S>(options: AptPackagesOptions = {}): Step<S> {
  const install = aptPackages<S>(["docker.io"], options);
  const enabled = ["systemctl", "is-enabled", "--quiet", "docker.service"];
  return {
    name: "Install Docker Engine",
    probes: () => [DOCKER_INFO, enabled],
    check: async (ctx) =>
      await ctx.container.succeeds(DOCKER_INFO, { timeoutMs: 60_000 }) &&
      await ctx.container.succeeds(enabled),
    action: async (ctx) => {
      if (!(await install.check(ctx))) await install.action(ctx);
      await ctx.container.run(["systemctl", "enable", "--now", "docker.service"], {
        timeoutMs: 300_000,
      });
    },
  };
}

/** Docker's output when a pull may succeed on a later attempt. */
export const DOCKER_TRANSIENT_ERRORS: readonly RegExp[] = [
  /TLS handshake timeout/,
  /i\/o timeout/,
  /connection reset by peer/,
  /Temporary failure in name resolution/,
  /toomanyrequests/,
  /net\/http: request canceled/,
];

const isTransient = (result: CommandResult) => failedWith(result, DOCKER_TRANSIENT_ERRORS);

function validateImage(image: string): void {
  if (image === "" || image.startsWith("-") || /\s/.test(image)) {
    throw new TypeError(
      `Cannot use Docker image "${image}": expected a reference such as "nginx:1.27"`,
    );
  }
}

/**
 * The image `image` present in the container's Docker. Check: `docker image inspect`;
 * action: `docker pull`, retried on network errors.
 *
 * @example
 * ```ts
 * import { dockerImage } from "./docker.ts";
 * const step = dockerImage("portainer/portainer-ce:2.21.4");
 * ```
 */
export function dockerImage<S>(image: string, options: RetryOptions = {}): Step<S> {
  validateImage(image);
  const inspectImage = ["docker", "image", "inspect", "--format", "{{.Id}}", image];
  return {
    name: `Pull the Docker image ${image}`,
    probes: () => [inspectImage],
    check: (ctx) => ctx.container.succeeds(inspectImage),
    action: async (ctx) => {
      await retryTransient(
        ctx,
        `docker pull ${image}`,
        () => ctx.container.exec(["docker", "pull", image], { timeoutMs: 60 * 60_000 }),
        isTransient,
        options,
      );
    },
  };
}

/** Docker's restart policies (without a retry count). */
export type RestartPolicy = "no" | "always" | "unless-stopped" | "on-failure";

/** A list of `docker run` values, fixed or derived from the context (e.g. ports from the config). */
export type DockerValues<S> = readonly string[] | ((ctx: SetupContext<S>) => readonly string[]);

/** A long-running Docker container. */
export interface DockerContainerSpec<S = unknown> {
  /** The container's name (`--name`). */
  readonly name: string;
  /** The image reference, compared as written with the container's `Config.Image`. */
  readonly image: string;
  /** Published ports, `[ip:]hostPort:containerPort[/tcp|udp]`, e.g. `"9443:9443"`. */
  readonly ports?: DockerValues<S>;
  /** The restart policy; default `"always"`. */
  readonly restart?: RestartPolicy;
  /** Bind mounts and volumes as given to `-v`, e.g. `"portainer_data:/data"`. */
  readonly volumes?: DockerValues<S>;
  /** Further `docker run` options, e.g. `["--gpus", "all"]`. */
  readonly runOptions?: DockerValues<S>;
  /** Arguments after the image (the container's command). */
  readonly args?: DockerValues<S>;
}

/** A {@linkcode DockerContainerSpec} with its defaults filled in and its values resolved. */
export interface ResolvedDockerContainerSpec {
  readonly name: string;
  readonly image: string;
  readonly ports: readonly string[];
  readonly restart: RestartPolicy;
  readonly volumes: readonly string[];
  readonly runOptions: readonly string[];
  readonly args: readonly string[];
}

/** The label holding a digest of the spec a container was created from. */
export const SPEC_LABEL = "phoenix-setup.spec";

const CONTAINER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]+$/;
const PORT = /^(?:(\d{1,3}(?:\.\d{1,3}){3}):)?(\d{1,5}):(\d{1,5})(?:\/(tcp|udp|sctp))?$/;

/** A port binding as `docker inspect` shows it: `9443/tcp` → `:9443`. */
function portKey(spec: string): string {
  const match = PORT.exec(spec);
  if (!match) {
    throw new TypeError(
      `Cannot use port mapping "${spec}": expected [ip:]hostPort:containerPort[/protocol], ` +
        'e.g. "9443:9443"',
    );
  }
  const [, ip = "", hostPort, containerPort, protocol = "tcp"] = match;
  return `${containerPort}/${protocol} ${ip === "0.0.0.0" ? "" : ip}:${hostPort}`;
}

/** What `docker container inspect` says about the fields compared. */
interface Inspected {
  Config?: { Image?: string; Labels?: Record<string, string> | null };
  State?: { Running?: boolean };
  HostConfig?: {
    PortBindings?: Record<string, { HostIp?: string; HostPort?: string }[] | null> | null;
    RestartPolicy?: { Name?: string };
    Binds?: string[] | null;
  };
}

function boundPorts(inspected: Inspected): string[] {
  const keys: string[] = [];
  for (const [port, bindings] of Object.entries(inspected.HostConfig?.PortBindings ?? {})) {
    for (const binding of bindings ?? []) {
      const ip = binding.HostIp === "0.0.0.0" ? "" : binding.HostIp ?? "";
      keys.push(`${port} ${ip}:${binding.HostPort ?? ""}`);
    }
  }
  return keys.sort();
}

const same = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((value, i) => value === b[i]);

/**
 * The digest of a resolved spec that {@linkcode dockerContainer} puts into the
 * {@linkcode SPEC_LABEL} label, so that a container created from another command or other run
 * options is recognised. Port and volume order does not matter.
 *
 * @example
 * ```ts
 * import { dockerSpecDigest } from "./docker.ts";
 * const digest = await dockerSpecDigest({
 *   name: "web", image: "nginx:1.27", ports: ["80:80"], restart: "always",
 *   volumes: [], runOptions: [], args: [],
 * }); // 64 hex digits
 * ```
 */
export async function dockerSpecDigest(spec: ResolvedDockerContainerSpec): Promise<string> {
  const canonical = JSON.stringify([
    spec.image,
    [...spec.ports].sort(),
    spec.restart,
    [...spec.volumes].sort(),
    spec.runOptions,
    spec.args,
  ]);
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonical));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * How the inspected container differs from `spec`, as sentences; empty when it matches.
 * Besides the visible fields it compares the spec digest label, which covers the command and
 * the further run options.
 */
export function containerDifferences(
  inspected: Inspected,
  spec: ResolvedDockerContainerSpec,
  digest: string,
): string[] {
  const differences: string[] = [];
  const image = inspected.Config?.Image;
  if (image !== spec.image) differences.push(`image is "${image}", wanted "${spec.image}"`);
  const ports = boundPorts(inspected);
  const wantedPorts = spec.ports.map(portKey).sort();
  if (!same(ports, wantedPorts)) {
    differences.push(`ports are [${ports.join(", ")}], wanted [${wantedPorts.join(", ")}]`);
  }
  const restart = inspected.HostConfig?.RestartPolicy?.Name || "no";
  if (restart !== spec.restart) {
    differences.push(`restart policy is "${restart}", wanted "${spec.restart}"`);
  }
  const volumes = [...(inspected.HostConfig?.Binds ?? [])].sort();
  const wantedVolumes = [...spec.volumes].sort();
  if (!same(volumes, wantedVolumes)) {
    differences.push(`volumes are [${volumes.join(", ")}], wanted [${wantedVolumes.join(", ")}]`);
  }
  if (differences.length === 0 && inspected.Config?.Labels?.[SPEC_LABEL] !== digest) {
    differences.push("it was created with another command or other run options");
  }
  return differences;
}

function inspectArgv(name: string): string[] {
  return ["docker", "container", "inspect", name];
}

async function inspect<S>(ctx: SetupContext<S>, name: string): Promise<Inspected | undefined> {
  const result = await ctx.container.exec(inspectArgv(name));
  if (result.exitCode !== 0) return undefined;
  const parsed = JSON.parse(result.stdout) as Inspected[];
  return parsed[0];
}

/**
 * A running Docker container with the wanted image, ports, restart policy, volumes, options and
 * command. Check: `docker container inspect` matches and the container runs. Action: a missing
 * container is created with `docker run -d`; one that differs is removed (`docker rm -f`) and
 * created again; one that matches but is stopped is started. So a container is recreated only
 * when it differs. Ports, volumes, options and arguments may be functions of the context, e.g.
 * ports taken from the config's settings.
 *
 * @example
 * ```ts
 * import { dockerContainer } from "./docker.ts";
 * const step = dockerContainer({
 *   name: "portainer",
 *   image: "portainer/portainer-ce:2.21.4",
 *   ports: ["9443:9443", "9000:9000"],
 *   volumes: ["/var/run/docker.sock:/var/run/docker.sock", "portainer_data:/data"],
 * });
 * const fromSettings = dockerContainer<{ ports: string[] }>({
 *   name: "portainer",
 *   image: "portainer/portainer-ce:2.21.4",
 *   ports: (ctx) => ctx.settings.ports,
 * });
 * ```
 */
export function dockerContainer<S>(spec: DockerContainerSpec<S>): Step<S> {
  if (!CONTAINER_NAME.test(spec.name)) {
    throw new TypeError(`Cannot use Docker container name "${spec.name}"`);
  }
  validateImage(spec.image);
  const valuesOf = (values: DockerValues<S> | undefined, ctx: SetupContext<S>) =>
    typeof values === "function" ? values(ctx) : values ?? [];
  if (typeof spec.ports !== "function") spec.ports?.forEach(portKey);
  const resolve = (ctx: SetupContext<S>): ResolvedDockerContainerSpec => {
    const ports = valuesOf(spec.ports, ctx);
    ports.forEach(portKey);
    return {
      name: spec.name,
      image: spec.image,
      ports,
      restart: spec.restart ?? "always",
      volumes: valuesOf(spec.volumes, ctx),
      runOptions: valuesOf(spec.runOptions, ctx),
      args: valuesOf(spec.args, ctx),
    };
  };
  const state = async (ctx: SetupContext<S>) => {
    const full = resolve(ctx);
    const digest = await dockerSpecDigest(full);
    const inspected = await inspect(ctx, spec.name);
    if (!inspected) {
      return { full, digest, exists: false, differences: [], running: false } as const;
    }
    return {
      full,
      digest,
      exists: true,
      differences: containerDifferences(inspected, full, digest),
      running: inspected.State?.Running === true,
    } as const;
  };
  return {
    name: `Run the Docker container ${spec.name} (${spec.image})`,
    probes: () => [inspectArgv(spec.name)],
    check: async (ctx) => {
      const current = await state(ctx);
      if (current.exists && current.differences.length > 0) {
        ctx.log.info(
          `Docker container ${spec.name} in container ${ctx.ctid} differs: ` +
            current.differences.join("; "),
        );
      }
      return current.exists && current.differences.length === 0 && current.running;
    },
    action: async (ctx) => {
      const { full, digest, ...current } = await state(ctx);
      if (current.exists && current.differences.length === 0) {
        await ctx.container.run(["docker", "start", spec.name]);
        return;
      }
      if (current.exists) await ctx.container.run(["docker", "rm", "-f", spec.name]);
      await ctx.container.run(dockerRunArgv(full, digest), { timeoutMs: 60 * 60_000 });
    },
  };
}

/**
 * The `docker run -d` that creates the container of a resolved spec, labelled with its digest.
 *
 * @example
 * ```ts
 * import { dockerRunArgv } from "./docker.ts";
 * dockerRunArgv({
 *   name: "web", image: "nginx:1.27", ports: ["80:80"], restart: "always",
 *   volumes: [], runOptions: [], args: [],
 * }, "ab12");
 * // ["docker", "run", "-d", "--name", "web", "--restart", "always", "-p", "80:80",
 * //  "--label", "phoenix-setup.spec=ab12", "nginx:1.27"]
 * ```
 */
export function dockerRunArgv(spec: ResolvedDockerContainerSpec, digest: string): string[] {
  return [
    "docker",
    "run",
    "-d",
    "--name",
    spec.name,
    "--restart",
    spec.restart,
    ...spec.ports.flatMap((port) => ["-p", port]),
    ...spec.volumes.flatMap((volume) => ["-v", volume]),
    ...spec.runOptions,
    "--label",
    `${SPEC_LABEL}=${digest}`,
    spec.image,
    ...spec.args,
  ];
}

/**
 * A verification that `docker run --rm [runOptions] image [args]` exits 0, e.g. `hello-world`,
 * or a CUDA image running `nvidia-smi` with `--gpus all`.
 *
 * @example
 * ```ts
 * import { dockerRunSucceeds } from "./docker.ts";
 * const verification = dockerRunSucceeds({ image: "hello-world" });
 * ```
 */
export function dockerRunSucceeds<S>(spec: {
  readonly image: string;
  readonly args?: readonly string[];
  readonly runOptions?: readonly string[];
  readonly timeoutMs?: number;
}): Verification<S> {
  validateImage(spec.image);
  const argv = [
    "docker",
    "run",
    "--rm",
    ...(spec.runOptions ?? []),
    spec.image,
    ...(spec.args ?? []),
  ];
  // First without a pull: the image is usually there (a re-run; a clone of a template that ran
  // this), and then the batch of checks answers it. A pull may take minutes of progress output,
  // which a batch would hide: that run is a call of its own.
  const local = ["docker", "run", "--rm", "--pull", "never", ...argv.slice(3)];
  const options = { timeoutMs: spec.timeoutMs ?? 30 * 60_000, keepsAnswers: true };
  return {
    name: `${argv.join(" ")} succeeds`,
    probes: () => [local],
    // It changes nothing a check looks at: the answers of a batch stay valid.
    run: async (ctx) => {
      const fromLocal = await ctx.container.exec(local, options);
      if (fromLocal.exitCode === 0) return;
      ctx.log.info(
        `${spec.image} did not run from the container's own images (exit ${fromLocal.exitCode}): ` +
          "running it again, pulling it if needed",
      );
      await ctx.container.run(argv, options);
    },
  };
}
