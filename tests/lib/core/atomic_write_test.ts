import assert from "node:assert/strict";
import { atomicWrite, atomicWriteSync } from "../../../lib/core/atomic_write.ts";

async function withDir(fn: (dir: string) => void | Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const names = (dir: string) => [...Deno.readDirSync(dir)].map((entry) => entry.name).sort();

Deno.test("atomicWriteSync writes through a hidden temporary file beside the target", async () => {
  await withDir((dir) => {
    const path = `${dir}/report.json`;
    Deno.writeTextFileSync(path, "old\n");
    let seen = "";
    atomicWriteSync(path, (temporary) => {
      seen = temporary;
      Deno.writeTextFileSync(temporary, "new\n");
      assert.equal(Deno.readTextFileSync(path), "old\n", "the target is untouched meanwhile");
    });
    assert.match(seen, new RegExp(`^${dir}/\\.report\\.json\\.[0-9a-f-]{36}\\.tmp$`));
    assert.equal(Deno.readTextFileSync(path), "new\n");
    assert.deepEqual(names(dir), ["report.json"], "no temporary file left");
  });
});

Deno.test("atomicWriteSync leaves the target as it was when writing fails", async () => {
  await withDir((dir) => {
    const path = `${dir}/report.json`;
    Deno.writeTextFileSync(path, "old\n");
    assert.throws(() =>
      atomicWriteSync(path, (temporary) => {
        Deno.writeTextFileSync(temporary, "half");
        throw new Error("disk full");
      }), /disk full/);
    assert.equal(Deno.readTextFileSync(path), "old\n");
    assert.deepEqual(names(dir), ["report.json"], "the temporary file is removed");
  });
});

Deno.test("atomicWriteSync passes on a failed rename and removes the temporary file", async () => {
  await withDir((dir) => {
    Deno.mkdirSync(`${dir}/taken/inside`, { recursive: true });
    // A file cannot be renamed over a non-empty directory.
    assert.throws(
      () => atomicWriteSync(`${dir}/taken`, (temporary) => Deno.writeTextFileSync(temporary, "x")),
      Deno.errors.IsADirectory,
    );
    assert.deepEqual(names(dir), ["taken"]);
  });
});

Deno.test("atomicWrite replaces the target whole, mode included, and cleans up on failure", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/run.sh`;
    await atomicWrite(path, async (temporary) => {
      await Deno.writeTextFile(temporary, "#!/bin/sh\n");
      await Deno.chmod(temporary, 0o755);
    });
    assert.equal(await Deno.readTextFile(path), "#!/bin/sh\n");
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o755);
    await assert.rejects(
      atomicWrite(path, async (temporary) => {
        await Deno.writeTextFile(temporary, "half");
        throw new Error("copy failed");
      }),
      /copy failed/,
    );
    assert.equal(await Deno.readTextFile(path), "#!/bin/sh\n");
    assert.deepEqual(names(dir), ["run.sh"]);
  });
});
