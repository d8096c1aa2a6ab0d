/**
 * The runtime (`denort`) that `deno compile` copies into every executable, and where it comes
 * from: Deno's own download (real hosts), `DENORT_BIN` when set, or a pinned npm package
 * verified by checksum (offline machines; see `../shared/docs/toolchain.md`).
 *
 * @module
 */

import { join } from "node:path";
import {
  type CommandResult,
  type CommandRunner,
  displayCommand,
  outputTail,
} from "../core/command_text.ts";
import { zxRunner } from "../host/command.ts";
import { FileHashes, sha256File } from "./file_hashes.ts";

/** The pinned offline `denort`: an official denort 2.6.10 carrying a program we replace. */
const FALLBACK_DENORT = {
  npmPackage: "@mcp-stress/linux-x64@0.2.1",
  pathInTarball: "package/bin/mcp-stress",
  sha256: "257898aee9a507fd3a899a902c465223f4554da362e813132f024570a545edb7",
} as const;

/** Where the runtime for `deno compile` comes from. */
export type DenortSource =
  | { readonly kind: "download" }
  | { readonly kind: "env"; readonly path: string }
  | { readonly kind: "fallback"; readonly path: string };

/** Where the runtime came from, in words for the build's log. */
export function describeDenortSource(source: DenortSource): string {
  switch (source.kind) {
    case "download":
      return "Deno's own download (or its cache)";
    case "env":
      return `DENORT_BIN=${source.path}`;
    case "fallback":
      return `the pinned fallback from npm package ${FALLBACK_DENORT.npmPackage} ` +
        `(sha256 ${FALLBACK_DENORT.sha256.slice(0, 12)}…), ${source.path}`;
  }
}

async function must(run: CommandRunner, argv: string[], cwd?: string): Promise<CommandResult> {
  const result = await run(cwd ? ["env", "-C", cwd, ...argv] : argv);
  if (result.exitCode !== 0) {
    throw new Error(
      `${displayCommand(argv)} failed (exit ${result.exitCode}): ${
        outputTail(result.stderr || result.stdout)
      }`,
    );
  }
  return result;
}

/**
 * Fetches (once, then cached in `workDir`) and verifies the pinned fallback runtime. The cached
 * copy is verified through `hashes`, so it is read again only when it changed.
 */
export async function fallbackDenort(
  workDir: string,
  run: CommandRunner = zxRunner,
  hashes: FileHashes = new FileHashes(),
): Promise<string> {
  const dir = join(workDir, "denort");
  const path = join(dir, "denort");
  try {
    if (await hashes.sha256(path) === FALLBACK_DENORT.sha256) return path;
  } catch { /* not cached yet */ }
  await Deno.mkdir(dir, { recursive: true });
  // Fetched into a private directory and renamed into place, so that builds running at the
  // same time (tests compile several executables at once) never see half a file.
  const scratch = await Deno.makeTempDir({ dir, prefix: "fetch-" });
  try {
    const packed = await must(
      run,
      ["npm", "pack", "--silent", FALLBACK_DENORT.npmPackage],
      scratch,
    );
    const tarball = join(scratch, packed.stdout.trim().split("\n").at(-1)!);
    await must(run, ["tar", "-xzf", tarball, "-C", scratch, FALLBACK_DENORT.pathInTarball]);
    const extracted = join(scratch, FALLBACK_DENORT.pathInTarball);
    const actual = await sha256File(extracted);
    if (actual !== FALLBACK_DENORT.sha256) {
      throw new Error(
        `The fallback runtime from ${FALLBACK_DENORT.npmPackage} has sha256 ${actual}, expected ` +
          `${FALLBACK_DENORT.sha256}; refusing to use it. Set DENORT_BIN to a denort 2.6.x`,
      );
    }
    // Never executed by us: deno compile only copies it and swaps the embedded program.
    await Deno.rename(extracted, path);
  } finally {
    await Deno.remove(scratch, { recursive: true });
  }
  return path;
}

/** Deno's own runtime download is not reachable from here. */
export class DenortUnavailable extends Error {
  constructor(detail: string) {
    super(`Cannot download denort from Deno's servers (${detail}); falling back`);
    this.name = "DenortUnavailable";
  }
}
