import assert from "node:assert/strict";
import { join } from "node:path";
import {
  FileHashes,
  type FileHashesOptions,
  RACY_MS,
  sha256File,
} from "../../../lib/build/file_hashes.ts";
import { withTempDir } from "../../support/temp_dir.ts";

const SHA256_A = "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb";

/**
 * Options whose hasher records what it reads and whose clock is far enough ahead that every file
 * counts as old (so nothing is left out as "racily clean" unless a test says so).
 */
function counting(): FileHashesOptions & { readonly read: string[] } {
  const read: string[] = [];
  return {
    read,
    hasher: (path) => (read.push(path), sha256File(path)),
    now: () => Date.now() + 10 * RACY_MS,
  };
}

Deno.test("sha256File streams a file's SHA-256 in hex", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(join(dir, "a"), "a");
    assert.equal(await sha256File(join(dir, "a")), SHA256_A);
  });
});

Deno.test("FileHashes reuses a saved hash without reading the unchanged file", async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, "a");
    const cache = join(dir, "cache", "sha256.json");
    await Deno.writeTextFile(file, "a");
    const first = counting();
    const hashes = await FileHashes.load(cache, first);
    assert.equal(await hashes.sha256(file), SHA256_A);
    await hashes.save();
    assert.deepEqual(first.read, [file]);

    const second = counting();
    const again = await FileHashes.load(cache, second);
    assert.equal(await again.sha256(file), SHA256_A);
    assert.equal(await again.sha256(file), SHA256_A);
    assert.deepEqual(second.read, []);
    assert.deepEqual(again.counts, { hashed: 0, reused: 2 });
  });
});

Deno.test("FileHashes reads a file again when its size changed", async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, "a");
    await Deno.writeTextFile(file, "a");
    const options = counting();
    const hashes = new FileHashes(options);
    await hashes.sha256(file);
    await Deno.writeTextFile(file, "bb");
    assert.equal(await hashes.sha256(file), await sha256File(file));
    assert.deepEqual(options.read, [file, file]);
  });
});

Deno.test("FileHashes reads a file again when its size is the same but its mtime is not", async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, "a");
    await Deno.writeTextFile(file, "a");
    await Deno.utime(file, 1_000_000, 1_000_000);
    const options = counting();
    const hashes = new FileHashes(options);
    await hashes.sha256(file);
    await Deno.writeTextFile(file, "b");
    await Deno.utime(file, 2_000_000, 2_000_000);
    assert.equal(await hashes.sha256(file), await sha256File(file));
    assert.deepEqual(options.read, [file, file]);
  });
});

Deno.test("FileHashes reads a file again when it was replaced with the same size and mtime", async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, "a");
    await Deno.writeTextFile(file, "a");
    await Deno.utime(file, 1_000_000, 1_000_000);
    const options = counting();
    const hashes = new FileHashes(options);
    await hashes.sha256(file);
    // What `cp -p` or an unpacked archive would leave: other content, same size and mtime.
    await Deno.writeTextFile(join(dir, "b"), "b");
    await Deno.utime(join(dir, "b"), 1_000_000, 1_000_000);
    await Deno.rename(join(dir, "b"), file);
    assert.equal(await hashes.sha256(file), await sha256File(file));
    assert.deepEqual(options.read, [file, file]);
  });
});

Deno.test("FileHashes does not remember the hash of a file changed just now", async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, "a");
    const cache = join(dir, "sha256.json");
    await Deno.writeTextFile(file, "a");
    const read: string[] = [];
    const options = { hasher: (path: string) => (read.push(path), sha256File(path)) };
    const hashes = await FileHashes.load(cache, options);
    await hashes.sha256(file);
    await hashes.sha256(file);
    await hashes.save();
    await (await FileHashes.load(cache, options)).sha256(file);
    // A write later in the same clock tick would leave the stamp as it is: nothing is trusted.
    assert.deepEqual(read, [file, file, file]);
  });
});

Deno.test("FileHashes hashes everything when its file is missing or damaged", async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, "a");
    await Deno.writeTextFile(file, "a");
    const cache = join(dir, "sha256.json");
    for (
      const content of [
        undefined,
        "{ not json",
        "[]",
        '{"files": {"x": 1}}',
        JSON.stringify({ files: { [file]: { stamp: "1:2:3:4:5", sha256: "not hex" } } }),
      ]
    ) {
      if (content === undefined) await Deno.remove(cache).catch(() => {});
      else await Deno.writeTextFile(cache, content);
      const options = counting();
      const hashes = await FileHashes.load(cache, options);
      assert.equal(await hashes.sha256(file), SHA256_A, String(content));
      assert.deepEqual(options.read, [file], String(content));
      await hashes.save();
    }
    assert.deepEqual(Object.keys(JSON.parse(await Deno.readTextFile(cache)).files), [file]);
  });
});

Deno.test("FileHashes.save keeps hashes of files not asked about and drops those of removed files", async () => {
  await withTempDir(async (dir) => {
    const [a, b] = [join(dir, "a"), join(dir, "b")];
    const cache = join(dir, "sha256.json");
    await Deno.writeTextFile(a, "a");
    await Deno.writeTextFile(b, "b");
    const hashes = await FileHashes.load(cache, counting());
    await hashes.sha256(a);
    await hashes.sha256(b);
    await hashes.save();
    await Deno.remove(b);
    await (await FileHashes.load(cache, counting())).save();
    assert.deepEqual(Object.keys(JSON.parse(await Deno.readTextFile(cache)).files), [a]);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["a", "sha256.json"]);
  });
});
