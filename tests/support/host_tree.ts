/**
 * Host file trees for code that reads the Proxmox host under `hostRoot` (`/proc/driver/nvidia`,
 * `/dev/nvidia*`): the fixtures under `tests/fixtures/host/`, and temporary trees a test builds.
 *
 * @module
 */

/** The host fixture trees under `tests/fixtures/host/`, each a path ending in `/`. */
export const HOST_FIXTURES = {
  /** Driver 580.76.05 loaded; /dev/nvidia0, nvidia1, nvidiactl, nvidia-uvm, nvidia-uvm-tools. */
  gpu580: new URL("../fixtures/host/gpu_580.76.05/", import.meta.url).pathname,
  /** No NVIDIA driver, no NVIDIA device. */
  noDriver: new URL("../fixtures/host/no_nvidia_driver/", import.meta.url).pathname,
};

/**
 * A temporary host tree: `files` maps paths relative to the root to content. Removed by the
 * returned `cleanup`.
 */
export async function hostTree(
  files: Record<string, string>,
): Promise<{ root: string; cleanup: () => Promise<void> }> {
  const root = await Deno.makeTempDir({ prefix: "phoenix-host-" });
  for (const [path, content] of Object.entries(files)) {
    const full = `${root}/${path}`;
    await Deno.mkdir(full.slice(0, full.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(full, content);
  }
  return { root, cleanup: () => Deno.remove(root, { recursive: true }) };
}

/** The captures of real hosts, kept beside the repository in `../shared/real-hosts`. */
export const REAL_HOSTS_DIR: string = new URL("../../../shared/real-hosts/", import.meta.url)
  .pathname;

/** Whether the captures are there; tests that need them are ignored (saying so) otherwise. */
export const REAL_HOSTS_AVAILABLE: boolean = (() => {
  try {
    return Deno.statSync(REAL_HOSTS_DIR).isDirectory;
  } catch {
    return false;
  }
})();

/**
 * The device nodes a captured `ls -l /dev/nvidia* /dev/nvidia-caps` lists, as paths: the
 * top-level entries (`/dev/nvidia0`) and those of each listed directory (`/dev/nvidia-caps/...`).
 *
 * @example
 * ```ts
 * import { devicesOfLsCapture } from "./host_tree.ts";
 * devicesOfLsCapture(
 *   "crw-rw-rw- 1 root root 195, 0 Dec  4 13:26 /dev/nvidia0\n\n/dev/nvidia-caps:\n" +
 *     "cr-------- 1 root root 241, 1 Dec  4 13:26 nvidia-cap1\n",
 * ); // ["/dev/nvidia0", "/dev/nvidia-caps/nvidia-cap1"]
 * ```
 */
export function devicesOfLsCapture(text: string): string[] {
  const devices: string[] = [];
  let directory = "";
  for (const line of text.split("\n")) {
    const heading = /^(\/\S+):$/.exec(line);
    if (heading) directory = heading[1];
    const node = /^c\S+\s.*\s(\S+)$/.exec(line);
    if (node) devices.push(node[1].startsWith("/") ? node[1] : `${directory}/${node[1]}`);
  }
  return devices;
}

/**
 * A host tree made from the capture of a real host in `../shared/real-hosts/<name>/`: its
 * `/proc/driver/nvidia/version`, `/proc/devices`, `/sys/module/nvidia/version`, and an empty file
 * for each device node its `ls -l /dev/nvidia*` listed.
 */
export async function realHostTree(
  name: string,
): Promise<{ root: string; cleanup: () => Promise<void> }> {
  const capture = (file: string) => Deno.readTextFile(`${REAL_HOSTS_DIR}${name}/${file}`);
  const files: Record<string, string> = {
    "proc/driver/nvidia/version": await capture("proc_driver_nvidia_version"),
    "proc/devices": await capture("proc_devices.txt"),
    "sys/module/nvidia/version": await capture("sys_module_nvidia_version"),
  };
  for (const device of devicesOfLsCapture(await capture("ls_dev_nvidia.txt"))) {
    files[device.slice(1)] = "";
  }
  return await hostTree(files);
}
