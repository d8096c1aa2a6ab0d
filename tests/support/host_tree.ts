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
