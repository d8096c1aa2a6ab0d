/**
 * The environment of a real NVIDIA GPU host's root shell, for running the executables as such a
 * host would: none of it may reach `pct` or a container (issue 15).
 *
 * @module
 */

import { existsSync } from "node:fs";

/** A library every glibc host has: preloading it changes nothing, unlike a missing one. */
const HARMLESS_PRELOAD =
  ["/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib64/libc.so.6"].find((p) => existsSync(p)) ??
    "/lib/libc.so.6";

/** What a CUDA host's root shell typically has, and interpreter paths of the host's own. */
export const GPU_HOST_ENVIRONMENT: Readonly<Record<string, string>> = {
  LD_LIBRARY_PATH: "/usr/local/nvidia/lib64:/usr/local/nvidia/lib",
  LD_PRELOAD: HARMLESS_PRELOAD,
  DYLD_LIBRARY_PATH: "/usr/local/nvidia/lib",
  PYTHONPATH: "/opt/host/python",
  PERL5LIB: "/opt/host/perl",
  NODE_OPTIONS: "--max-old-space-size=64",
};
