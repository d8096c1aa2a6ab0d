/**
 * The real-Debian tier's image cache, with a stand-in build (no root, no network): built once,
 * reused while intact, rebuilt when corrupt or half-built, nothing left behind by a failed build.
 *
 * @module
 */

import assert from "node:assert/strict";
import { run } from "../../support/commands.ts";
import { ensureImage, hostDebianMirror, recipeKey } from "./image.ts";

/** A build that writes a tiny image with the real layout and checksums, and counts its calls. */
function fakeBuild(): { build: (out: string) => Promise<void>; calls: () => number } {
  let calls = 0;
  return {
    calls: () => calls,
    build: async (out) => {
      calls++;
      await Deno.mkdir(`${out}/repo`);
      await Deno.mkdir(`${out}/wheels`);
      await Deno.writeTextFile(`${out}/rootfs.tar.zst`, `rootfs ${calls}\n`);
      await Deno.writeTextFile(`${out}/repo/Packages`, "Package: jq\n");
      await Deno.writeTextFile(`${out}/wheels/vllm-0.0.0+stub-py3-none-any.whl`, "wheel\n");
      const sums = await run(
        ["sha256sum", "rootfs.tar.zst", "repo/Packages", "wheels/vllm-0.0.0+stub-py3-none-any.whl"],
        { cwd: out },
      );
      await Deno.writeTextFile(`${out}/SHA256SUMS`, sums.stdout);
    },
  };
}

async function withCache(fn: (root: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "phx-image-cache-" });
  try {
    await fn(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

async function entries(dir: string): Promise<string[]> {
  const names = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
}

Deno.test("image cache: built once into a directory named by the recipe key, then reused", () =>
  withCache(async (root) => {
    const { build, calls } = fakeBuild();
    const first = await ensureImage(root, build);
    const key = await recipeKey();
    assert.equal(first.dir, `${root}/debian-12-${key}`);
    assert.equal(first.built, true);
    assert.equal(await Deno.readTextFile(first.rootfsTarball), "rootfs 1\n");
    assert.equal(await Deno.readTextFile(`${first.dir}/COMPLETE`), `${key}\n`);
    assert.deepEqual(await entries(root), [`debian-12-${key}`, `debian-12-${key}.lock`]);

    const second = await ensureImage(root, build);
    assert.equal(second.built, false);
    assert.equal(calls(), 1);
  }));

Deno.test("image cache: concurrent callers build it once", () =>
  withCache(async (root) => {
    const { build, calls } = fakeBuild();
    const images = await Promise.all([ensureImage(root, build), ensureImage(root, build)]);
    assert.equal(calls(), 1);
    assert.equal(images.filter((i) => i.built).length, 1);
  }));

Deno.test("image cache: a corrupt file is detected and the image rebuilt", () =>
  withCache(async (root) => {
    const { build, calls } = fakeBuild();
    const image = await ensureImage(root, build);
    await Deno.writeTextFile(image.rootfsTarball, "truncated");
    const again = await ensureImage(root, build);
    assert.equal(again.built, true);
    assert.equal(calls(), 2);
    assert.equal(await Deno.readTextFile(again.rootfsTarball), "rootfs 2\n");
  }));

Deno.test("image cache: an entry without its marker, or a killed build's leftovers, is rebuilt", () =>
  withCache(async (root) => {
    const { build, calls } = fakeBuild();
    const image = await ensureImage(root, build);
    await Deno.remove(`${image.dir}/COMPLETE`);
    const key = await recipeKey();
    await Deno.mkdir(`${root}/.tmp-debian-12-${key}-killed`);
    const again = await ensureImage(root, build);
    assert.equal(again.built, true);
    assert.equal(calls(), 2);
    assert.deepEqual(await entries(root), [`debian-12-${key}`, `debian-12-${key}.lock`]);
  }));

Deno.test("image cache: a failed build leaves nothing behind and says why", () =>
  withCache(async (root) => {
    await assert.rejects(
      ensureImage(root, async (out) => {
        await Deno.writeTextFile(`${out}/rootfs.tar.zst`, "half");
        throw new Error("debootstrap failed");
      }),
      /debootstrap failed/,
    );
    const key = await recipeKey();
    assert.deepEqual(await entries(root), [`debian-12-${key}.lock`]);
  }));

Deno.test("image cache: a build that lists no checksums is not taken as complete", () =>
  withCache(async (root) => {
    await assert.rejects(
      ensureImage(root, async (out) => {
        await Deno.writeTextFile(`${out}/rootfs.tar.zst`, "x");
        await Deno.writeTextFile(`${out}/SHA256SUMS`, "");
      }),
      /fails its own checksums/,
    );
  }));

Deno.test("hostDebianMirror reads the bookworm archive from the host's apt sources", async () => {
  const etc = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${etc}/sources.list.d`);
    await Deno.writeTextFile(
      `${etc}/sources.list.d/debian.sources`,
      "Types: deb\nURIs: http://security.example/debian-security\nSuites: bookworm-security\n\n" +
        "Types: deb\nURIs: http://archive.example/debian\nSuites: bookworm bookworm-updates\n",
    );
    assert.equal(await hostDebianMirror(etc), "http://archive.example/debian");
    await Deno.remove(`${etc}/sources.list.d/debian.sources`);
    await Deno.writeTextFile(
      `${etc}/sources.list`,
      "deb [arch=amd64] http://old.example/debian bookworm main\n",
    );
    assert.equal(await hostDebianMirror(etc), "http://old.example/debian");
    await Deno.writeTextFile(`${etc}/sources.list`, "");
    await assert.rejects(hostDebianMirror(etc), /Cannot find a Debian bookworm archive/);
  } finally {
    await Deno.remove(etc, { recursive: true });
  }
});
