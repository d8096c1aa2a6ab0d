/**
 * The shape of `phoenix_lxc_configs.json`, as one zod schema covering every generation of the
 * file seen in the Phoenix Hypervisor's history (2025-08 to 2025-11).
 *
 * Every object is loose: fields this schema does not know are kept, because the file keeps
 * growing. Every field of a container entry is optional: the common schema only checks the type
 * of what is there, and a container module that needs a field says so with a stricter schema
 * (`ContainerEntrySchema.required({ vllm_model: true })` or `.extend({...})`), validated by
 * `validateEntry` in `read_config.ts`.
 *
 * The `error` given to each schema is the phrase that completes "expected ..." in a
 * `ConfigError`: `expected an integer from 1 to 8, found "two"`. The `describe` text is the
 * field's meaning and ends up in `schema/phoenix_lxc_configs.schema.json`.
 *
 * @module
 */

import { z } from "../deps/zod.ts";
import { CTID_PATTERN } from "../core/ctid.ts";
import { SNAPSHOT_NAME_PATTERN } from "../core/snapshot_name.ts";

/** `none`, or GPU indices separated by commas (`0`, `0,1`, `0, 1`). */
const GPU_ASSIGNMENT_PATTERN = /^(none|[0-9]+(\s*,\s*[0-9]+)*)$/;
const MAC_ADDRESS_PATTERN = /^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$/;
const PORT_MAPPING_PATTERN = /^[0-9]+:[0-9]+$/;
const DRIVER_VERSION_PATTERN = /^[0-9]+(\.[0-9]+)+$/;
/** A Hugging Face id or a path: no white space, as it becomes one argument of `vllm serve`. */
const MODEL_PATTERN = /^\S+$/;

/** A string; `phrase` says what kind in error messages. */
function text(phrase = "a string") {
  return z.string({ error: phrase });
}

function nonEmptyText(phrase = "a non-empty string") {
  return z.string({ error: phrase }).min(1, { error: phrase });
}

function matching(pattern: RegExp, phrase: string) {
  return z.string({ error: phrase }).regex(pattern, { error: phrase });
}

/** An integer of at least `min` (and at most `max` when given). */
function integer(min: number, max?: number) {
  const phrase = max === undefined
    ? `an integer of at least ${min}`
    : `an integer from ${min} to ${max}`;
  const atLeast = z.int({ error: phrase }).min(min, { error: phrase });
  return max === undefined ? atLeast : atLeast.max(max, { error: phrase });
}

function flag() {
  return z.boolean({ error: "true or false" });
}

/**
 * A CTID; one with a leading zero (`"0950"`) is told so, since it reads like a valid CTID but
 * names no container Proxmox could have.
 */
function ctid() {
  const phrase = 'a CTID as a string of digits, e.g. "900"';
  return z.string({ error: phrase })
    .refine((value) => !/^0[0-9]/.test(value), {
      error: `${phrase}, without a leading zero`,
      abort: true,
    })
    .regex(CTID_PATTERN, { error: phrase });
}

function port() {
  return integer(1, 65535);
}

/** The network interface of a container (`network_config`, `secondary_network_config`). */
const NetworkConfigSchema = z.looseObject({
  /** Interface name inside the container, e.g. `eth0`. */
  name: text().describe("Interface name inside the container, e.g. eth0.").optional(),
  /** Proxmox bridge the interface is attached to, e.g. `vmbr0`. */
  bridge: text().describe("Proxmox bridge the interface is attached to, e.g. vmbr0.").optional(),
  /** Address in CIDR notation (`10.0.0.150/24`), or `dhcp`. */
  ip: text().describe("Address in CIDR notation (10.0.0.150/24), or dhcp.").optional(),
  /** Gateway address, e.g. `10.0.0.1`; absent with DHCP. */
  gw: text().describe("Gateway address, e.g. 10.0.0.1; absent with DHCP.").optional(),
  /** MAC address of this interface, overriding `mac_address`. */
  hwaddr: matching(MAC_ADDRESS_PATTERN, 'a MAC address such as "52:54:00:AA:BB:CC"')
    .describe("MAC address of this interface, overriding mac_address.").optional(),
  /** DNS server(s) for the container. */
  nameservers: text().describe("DNS server(s) for the container.").optional(),
}, { error: "an object with name, bridge, ip and gw" });

/** `vllm_engine_config`: vLLM's own configuration groups, as in the latest versions. */
const VllmEngineConfigSchema = z.looseObject({
  /** What model to serve and how to load it. */
  ModelConfig: z.looseObject({
    /** The model vLLM serves: a Hugging Face id or a path inside the container. */
    model: matching(MODEL_PATTERN, 'a model name such as "Qwen/Qwen2.5-7B-Instruct-AWQ"')
      .describe("The model vLLM serves: a Hugging Face id or a path inside the container.")
      .optional(),
    /** Whether vLLM may run code shipped with the model (`--trust-remote-code`). */
    trust_remote_code: flag()
      .describe("Whether vLLM may run code shipped with the model (--trust-remote-code).")
      .optional(),
    /** Weight and activation data type (`--dtype`), e.g. `auto`. */
    dtype: text().describe("Weight and activation data type (--dtype), e.g. auto.").optional(),
    /** Context length in tokens (`--max-model-len`). */
    max_model_len: integer(1).describe("Context length in tokens (--max-model-len).").optional(),
  }, { error: "an object" }).describe("What model to serve and how to load it.").optional(),
  /** GPU memory and quantization. */
  CacheConfig: z.looseObject({
    /** Quantization method (`--quantization`), e.g. `awq_marlin`, `fp8`. */
    quantization: text()
      .describe("Quantization method (--quantization), e.g. awq_marlin, fp8.").optional(),
    /** Fraction of each GPU's memory vLLM may use (`--gpu-memory-utilization`). */
    gpu_memory_utilization: z.number({ error: "a number greater than 0 and at most 1" })
      .gt(0, { error: "a number greater than 0 and at most 1" })
      .lte(1, { error: "a number greater than 0 and at most 1" })
      .describe("Fraction of each GPU's memory vLLM may use (--gpu-memory-utilization).")
      .optional(),
  }, { error: "an object" }).describe("GPU memory and quantization.").optional(),
  /** How the model is spread over GPUs. */
  ParallelConfig: z.looseObject({
    /** Number of GPUs the model is split over (`--tensor-parallel-size`). */
    tensor_parallel_size: integer(1, 8)
      .describe("Number of GPUs the model is split over (--tensor-parallel-size).").optional(),
  }, { error: "an object" }).describe("How the model is spread over GPUs.").optional(),
  /** The OpenAI-compatible HTTP server. */
  ServerConfig: z.looseObject({
    /** Address the server listens on, e.g. `0.0.0.0`. */
    host: text().describe("Address the server listens on, e.g. 0.0.0.0.").optional(),
    /** Port the server listens on, e.g. `8000`. */
    port: port().describe("Port the server listens on, e.g. 8000.").optional(),
    /** Model name clients use and `/v1/models` lists (`--served-model-name`). */
    served_model_name: nonEmptyText()
      .describe("Model name clients use and /v1/models lists (--served-model-name).").optional(),
  }, { error: "an object" }).describe("The OpenAI-compatible HTTP server.").optional(),
}, { error: "an object with ModelConfig, CacheConfig, ParallelConfig and ServerConfig" });

const FirewallRuleSchema = z.looseObject({
  /** Direction: `in` or `out`. */
  type: text().describe("Direction: in or out."),
  /** `ACCEPT`, `DROP` or `REJECT`. */
  action: text().describe("ACCEPT, DROP or REJECT."),
  /** Source address or network. */
  source: text().describe("Source address or network.").optional(),
  /** Destination address or network. */
  dest: text().describe("Destination address or network.").optional(),
  /** Protocol: `tcp`, `udp`, `icmp`. */
  proto: text().describe("Protocol: tcp, udp, icmp.").optional(),
  /** Destination port(s) as a string: `443`, `80,443`. */
  port: text('a string such as "443" or "80,443"')
    .describe("Destination port(s) as a string: 443, 80,443.").optional(),
  /** What the rule is for. */
  comment: text().describe("What the rule is for.").optional(),
}, { error: "an object with type and action" });

/** One container of `lxc_configs`: every field seen across the history of the file. */
export const ContainerEntrySchema = z.looseObject({
  /** Host name of the container, e.g. `BaseTemplateVLLM`. */
  name: nonEmptyText().describe("Host name of the container, e.g. BaseTemplateVLLM.").optional(),
  /** RAM in MiB. */
  memory_mb: integer(1).describe("RAM in MiB.").optional(),
  /** Number of CPU cores. */
  cores: integer(1).describe("Number of CPU cores.").optional(),
  /** Size of the root file system in GiB. */
  storage_size_gb: integer(1).describe("Size of the root file system in GiB.").optional(),
  /** Swap in MiB. */
  swap_mb: integer(0).describe("Swap in MiB.").optional(),
  /** OS template archive the container is created from (containers that are not clones). */
  template: nonEmptyText()
    .describe("OS template archive the container is created from (containers that are not clones).")
    .optional(),
  /** Prebuilt template archive (file name) to create the container from; latest versions. */
  template_file: nonEmptyText()
    .describe(
      "Prebuilt template archive (file name) to create the container from; latest versions.",
    )
    .optional(),
  /** Proxmox storage for the root file system, e.g. `lxc-disks`. */
  storage_pool: nonEmptyText()
    .describe("Proxmox storage for the root file system, e.g. lxc-disks.").optional(),
  /** The container's network interface. */
  network_config: NetworkConfigSchema.describe("The container's network interface.").optional(),
  /** A second network interface; latest versions. */
  secondary_network_config: NetworkConfigSchema
    .describe("A second network interface; latest versions.").optional(),
  /**
   * Older versions: Proxmox feature flags, `nesting=1,keyctl=1` (possibly `""`). Newer versions:
   * names of the orchestrator's feature scripts, e.g. `["docker", "vllm"]`.
   */
  features: z.union([text(), z.array(text())], {
    error: 'a string such as "nesting=1,keyctl=1" or an array of feature names',
  }).describe(
    'Older versions: Proxmox feature flags, "nesting=1,keyctl=1" (possibly ""). ' +
      'Newer versions: names of the orchestrator\'s feature scripts, e.g. ["docker", "vllm"].',
  ).optional(),
  /** MAC address of the container's interface. */
  mac_address: matching(MAC_ADDRESS_PATTERN, 'a MAC address such as "52:54:00:AA:BB:CC"')
    .describe("MAC address of the container's interface.").optional(),
  /** Address in CIDR notation; older versions, same as `network_config.ip`. */
  static_ip: text()
    .describe("Address in CIDR notation; older versions, same as network_config.ip.").optional(),
  /** GPUs passed through: `none`, or indices such as `0` or `0,1`. */
  gpu_assignment: matching(GPU_ASSIGNMENT_PATTERN, '"none" or GPU indices such as "0" or "0,1"')
    .describe("GPUs passed through: none, or indices such as 0 or 0,1.").optional(),
  /** Role in Portainer: `server`, `agent`, `none` (later also `infrastructure`). */
  portainer_role: text()
    .describe("Role in Portainer: server, agent, none (later also infrastructure).").optional(),
  /** Whether the container is unprivileged. */
  unprivileged: flag().describe("Whether the container is unprivileged.").optional(),
  /** Whether the container is a template layer other containers are cloned from. */
  is_template: flag()
    .describe("Whether the container is a template layer other containers are cloned from.")
    .optional(),
  /** Name of the snapshot taken at the end of setup, which clones start from. */
  template_snapshot_name: matching(
    SNAPSHOT_NAME_PATTERN,
    'a snapshot name: a letter, then letters, digits, "_" or "-" (2 to 40 characters)',
  ).describe("Name of the snapshot taken at the end of setup, which clones start from.")
    .optional(),
  /** CTID of the template this container is cloned from (older name of `clone_from_ctid`). */
  clone_from_template_ctid: ctid()
    .describe("CTID of the template this container is cloned from (older name of clone_from_ctid).")
    .optional(),
  /** CTID of the container whose snapshot this container is cloned from. */
  clone_from_ctid: ctid()
    .describe("CTID of the container whose snapshot this container is cloned from.").optional(),
  /** Script the orchestrator runs after the features, e.g. `phoenix_hypervisor_lxc_950.sh`. */
  application_script: nonEmptyText()
    .describe(
      "Script the orchestrator runs after the features, e.g. phoenix_hypervisor_lxc_950.sh.",
    )
    .optional(),
  /** The model vLLM serves (Hugging Face id or path), or null for none. */
  vllm_model: matching(
    MODEL_PATTERN,
    'a model name such as "Qwen/Qwen2.5-Coder-7B-Instruct-AWQ", or null',
  )
    .nullable().describe("The model vLLM serves (Hugging Face id or path), or null for none.")
    .optional(),
  /** Number of GPUs the model is split over. */
  vllm_tensor_parallel_size: integer(1, 8)
    .describe("Number of GPUs the model is split over.").optional(),
  /** Fraction of each GPU's memory vLLM may use. */
  vllm_gpu_memory_utilization: z.number({ error: "a number greater than 0 and at most 1" })
    .gt(0, { error: "a number greater than 0 and at most 1" })
    .lte(1, { error: "a number greater than 0 and at most 1" })
    .describe("Fraction of each GPU's memory vLLM may use.").optional(),
  /** Context length in tokens. */
  vllm_max_model_len: integer(1).describe("Context length in tokens.").optional(),
  /** vLLM's configuration groups; latest versions, instead of the `vllm_*` fields. */
  vllm_engine_config: VllmEngineConfigSchema
    .describe("vLLM's configuration groups; latest versions, instead of the vllm_* fields.")
    .optional(),
  /** Port mappings `host:container`, e.g. `8000:8000`. */
  ports: z.array(matching(PORT_MAPPING_PATTERN, 'a port mapping such as "8000:8000"'), {
    error: 'an array of port mappings such as "8000:8000"',
  }).describe("Port mappings host:container, e.g. 8000:8000.").optional(),
  /** The orchestrator's health check for the service. */
  health_check: z.looseObject({
    /** Command run on the host; success means healthy. */
    command: nonEmptyText().describe("Command run on the host; success means healthy."),
    /** How many times to try. */
    retries: integer(0).describe("How many times to try.").optional(),
    /** Seconds between tries. */
    interval: integer(0).describe("Seconds between tries.").optional(),
  }, { error: "an object with a command" })
    .describe("The orchestrator's health check for the service.").optional(),
  /** Proxmox firewall settings. */
  firewall: z.looseObject({
    /** Whether the firewall is on. */
    enabled: flag().describe("Whether the firewall is on."),
    /** The rules. */
    rules: z.array(FirewallRuleSchema, { error: "an array of rules" })
      .describe("The rules.").optional(),
  }, { error: "an object with enabled and rules" }).describe("Proxmox firewall settings.")
    .optional(),
  /** Host directories bind-mounted into the container. */
  mount_points: z.array(
    z.looseObject({
      /** Directory on the host. */
      host_path: nonEmptyText().describe("Directory on the host."),
      /** Where it appears in the container. */
      container_path: nonEmptyText().describe("Where it appears in the container."),
      /** Owner uid to give the host directory. */
      owner_uid: integer(0).describe("Owner uid to give the host directory.").optional(),
      /** Owner gid to give the host directory. */
      owner_gid: integer(0).describe("Owner gid to give the host directory.").optional(),
    }, { error: "an object with host_path and container_path" }),
    { error: "an array of mount points" },
  ).describe("Host directories bind-mounted into the container.").optional(),
  /** ZFS volumes created for the container and mounted into it. */
  zfs_volumes: z.array(
    z.looseObject({
      /** Volume name. */
      name: nonEmptyText().describe("Volume name."),
      /** ZFS pool it is created in. */
      pool: nonEmptyText().describe("ZFS pool it is created in."),
      /** Size in GiB. */
      size_gb: integer(1).describe("Size in GiB."),
      /** Where it is mounted in the container. */
      mount_point: nonEmptyText().describe("Where it is mounted in the container."),
    }, { error: "an object with name, pool, size_gb and mount_point" }),
    { error: "an array of volumes" },
  ).describe("ZFS volumes created for the container and mounted into it.").optional(),
  /** CTIDs that must be running before this container starts. */
  dependencies: z.array(ctid(), { error: 'an array of CTIDs such as ["103"]' })
    .describe("CTIDs that must be running before this container starts.").optional(),
  /** Extra options for `pct create`/`pct set`. */
  pct_options: z.array(text(), { error: "an array of strings" })
    .describe("Extra options for pct create/pct set.").optional(),
  /** Raw `lxc.*` lines added to the container's configuration. */
  lxc_options: z.array(text(), { error: "an array of strings" })
    .describe("Raw lxc.* lines added to the container's configuration.").optional(),
  /** AppArmor profile, e.g. `unconfined`. */
  apparmor_profile: text().describe("AppArmor profile, e.g. unconfined.").optional(),
  /** Whether the AppArmor profile handles nesting, so `nesting=1` is not set. */
  apparmor_manages_nesting: flag()
    .describe("Whether the AppArmor profile handles nesting, so nesting=1 is not set.").optional(),
  /** Whether the orchestrator takes its own lifecycle snapshots (`final-form`, ...). */
  enable_lifecycle_snapshots: flag()
    .describe("Whether the orchestrator takes its own lifecycle snapshots (final-form, ...).")
    .optional(),
  /** Whether the container starts when the host boots. */
  start_at_boot: flag().describe("Whether the container starts when the host boots.").optional(),
  /** Position in the boot sequence. */
  boot_order: integer(0).describe("Position in the boot sequence.").optional(),
  /** Seconds to wait before starting the next container at boot. */
  boot_delay: integer(0)
    .describe("Seconds to wait before starting the next container at boot.").optional(),
  /** User and group id mappings between host and container. */
  id_maps: z.array(
    z.looseObject({
      /** `uid` or `gid`. */
      type: z.enum(["uid", "gid"], { error: '"uid" or "gid"' }).describe("uid or gid."),
      /** First id on the host. */
      host_id: integer(0).describe("First id on the host."),
      /** First id in the container. */
      container_id: integer(0).describe("First id in the container."),
      /** Number of ids mapped. */
      size: integer(1).describe("Number of ids mapped."),
    }, { error: "an object with type, host_id, container_id and size" }),
    { error: "an array of id mappings" },
  ).describe("User and group id mappings between host and container.").optional(),
  /** How the Traefik reverse proxy reaches the service. */
  traefik_service: z.looseObject({
    /** Service name in Traefik. */
    name: nonEmptyText().describe("Service name in Traefik."),
    /** Port the service listens on. */
    port: port().describe("Port the service listens on."),
    /** `http` or `https`. */
    scheme: text().describe("http or https.").optional(),
  }, { error: "an object with name and port" })
    .describe("How the Traefik reverse proxy reaches the service.").optional(),
  /** URL of the step-ca certificate authority to bootstrap trust from. */
  bootstrap_ca_url: text()
    .describe("URL of the step-ca certificate authority to bootstrap trust from.").optional(),
  /** Whether the orchestrator runs `phoenix sync all` once this container is up. */
  trigger_sync_on_completion: flag()
    .describe("Whether the orchestrator runs phoenix sync all once this container is up.")
    .optional(),
  /** DNS records to create for the container. */
  dns_records: z.array(
    z.looseObject({
      /** Host name. */
      hostname: nonEmptyText().describe("Host name."),
      /** Address. */
      ip: nonEmptyText().describe("Address."),
    }, { error: "an object with hostname and ip" }),
    { error: "an array of DNS records" },
  ).describe("DNS records to create for the container.").optional(),
  /** Test suites the orchestrator can run against the container, by suite name. */
  tests: z.record(
    text(),
    z.array(
      z.looseObject({
        /** Test name. */
        name: nonEmptyText().describe("Test name."),
        /** Kind of test, e.g. `script`. */
        type: nonEmptyText().describe("Kind of test, e.g. script."),
        /** Path of the test. */
        path: nonEmptyText().describe("Path of the test."),
      }, { error: "an object with name, type and path" }),
      { error: "an array of tests" },
    ),
    { error: "an object of test suites" },
  ).describe("Test suites the orchestrator can run against the container, by suite name.")
    .optional(),
}, { error: "an object describing the container" }).meta({
  title: "Phoenix LXC container",
  description: "One container of lxc_configs. Fields not listed here are allowed.",
});

/** The whole of `phoenix_lxc_configs.json`. */
export const LxcConfigFileSchema = z.looseObject({
  /** Where the file's JSON Schema is. */
  $schema: text().describe("Where the file's JSON Schema is.").optional(),
  /** The host's NVIDIA driver version, which containers must match, e.g. `580.76.05`. */
  nvidia_driver_version: matching(DRIVER_VERSION_PATTERN, 'a driver version such as "580.76.05"')
    .describe("The host's NVIDIA driver version, which containers must match, e.g. 580.76.05.")
    .optional(),
  /** NVIDIA's CUDA apt repository. */
  nvidia_repo_url: z.url({ protocol: /^https?$/, error: "an http(s) URL" })
    .describe("NVIDIA's CUDA apt repository.").optional(),
  /** NVIDIA's driver installer (`.run`) for `nvidia_driver_version`. */
  nvidia_runfile_url: z.url({ protocol: /^https?$/, error: "an http(s) URL" })
    .describe("NVIDIA's driver installer (.run) for nvidia_driver_version.").optional(),
  /** The containers, keyed by CTID as a string (`"950"`), in any order. */
  lxc_configs: z.record(ctid(), ContainerEntrySchema, { error: "an object keyed by CTID" })
    .describe('The containers, keyed by CTID as a string ("950"), in any order.'),
}, { error: "an object with lxc_configs" }).meta({
  title: "Phoenix Hypervisor LXC configuration",
  description: "phoenix_lxc_configs.json: the containers the Phoenix Hypervisor provisions. " +
    "Generated from lib/config/schema.ts by `deno task schema`; do not edit by hand.",
});

/** One container of `lxc_configs`, as validated by {@linkcode ContainerEntrySchema}. */
export type ContainerEntry = z.infer<typeof ContainerEntrySchema>;

/** The whole configuration file, as validated by {@linkcode LxcConfigFileSchema}. */
export type LxcConfigFile = z.infer<typeof LxcConfigFileSchema>;
