/** isOurExecutable: an ELF program holding the marker is ours; nothing else is. */

import assert from "node:assert/strict";
import { join } from "node:path";
import { EXECUTABLE_MARKER, isOurExecutable } from "../../../lib/build/marker.ts";
import { withTempDir } from "../../support/temp_dir.ts";

const ELF = new Uint8Array([0x7f, 0x45, 0x4c, 0x46]);
const text = (s: string) => new TextEncoder().encode(s);

/** `ELF` + `before` zero bytes + `middle` + `after` zero bytes. */
function file(before: number, middle: Uint8Array, after = 0): Uint8Array {
  const bytes = new Uint8Array(ELF.length + before + middle.length + after);
  bytes.set(ELF);
  bytes.set(middle, ELF.length + before);
  return bytes;
}

Deno.test("isOurExecutable: an ELF file holding the marker, wherever it is, even across the 1 MiB chunks", async () => {
  await withTempDir(async (dir) => {
    const marker = text(EXECUTABLE_MARKER);
    // At the start, at the end, and straddling each boundary of the chunks read from the end.
    const layouts: [number, number][] = [[0, 3 << 20], [3 << 20, 0]];
    for (const offset of [1, 10, marker.length - 1]) {
      layouts.push([(2 << 20) - ELF.length - offset, (1 << 20) - marker.length + offset]);
    }
    for (const [before, after] of layouts) {
      const path = join(dir, `exe-${before}-${after}`);
      await Deno.writeFile(path, file(before, marker, after));
      assert.equal(await isOurExecutable(path), true, `${before}+marker+${after}`);
    }
  });
});

Deno.test("isOurExecutable: a script naming the marker, an ELF file without it, a missing file: not ours", async () => {
  await withTempDir(async (dir) => {
    const script = join(dir, "script.sh");
    await Deno.writeTextFile(script, `#!/bin/bash\n# ${EXECUTABLE_MARKER}\n`);
    const other = join(dir, "other");
    await Deno.writeFile(other, file(3 << 20, text("some other program")));
    const half = join(dir, "half");
    await Deno.writeFile(half, file(100, text(EXECUTABLE_MARKER.slice(0, -1))));
    for (const path of [script, other, half, join(dir, "missing")]) {
      assert.equal(await isOurExecutable(path), false, path);
    }
  });
});

Deno.test("isOurExecutable follows a link to the file it leads to", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeFile(join(dir, "ours"), file(10, text(EXECUTABLE_MARKER)));
    await Deno.symlink("ours", join(dir, "link"));
    await Deno.symlink("missing", join(dir, "dangling"));
    assert.equal(await isOurExecutable(join(dir, "link")), true);
    assert.equal(await isOurExecutable(join(dir, "dangling")), false);
  });
});
