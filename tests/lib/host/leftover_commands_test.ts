import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import {
  leftoverCommands,
  leftoverCommandsFile,
  processStartTime,
  recordRunningCommands,
} from "../../../lib/host/leftover_commands.ts";

async function withDir(fn: (dir: string) => void | Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("leftoverCommands finds a recorded command whose process group still runs", async () => {
  await withDir(async (dir) => {
    const file = leftoverCommandsFile(dir, "920");
    assert.equal(file, `${dir}/phoenix_hypervisor_setup_920.commands`);
    const child = new Deno.Command("sleep", { args: ["30"], stdout: "null" }).spawn();
    try {
      const command = {
        pgid: child.pid,
        startTime: processStartTime(child.pid)!,
        command: "pct exec 920 -- sleep 30",
      };
      recordRunningCommands(file, [command]);
      assert.deepEqual(leftoverCommands(file), [command]);
      child.kill("SIGKILL");
      await child.status;
      // Ended (and reaped): nothing left, and the record is gone.
      assert.deepEqual(leftoverCommands(file), []);
      assert.equal(existsSync(file), false);
    } finally {
      try {
        child.kill("SIGKILL");
      } catch { /* ended */ }
    }
  });
});

Deno.test("leftoverCommands does not mistake a reused pid for the recorded command", async () => {
  await withDir((dir) => {
    const file = leftoverCommandsFile(dir, "920");
    // This very process, but with another start time: what a reused pid looks like.
    recordRunningCommands(file, [{ pgid: Deno.pid, startTime: "1", command: "pct start 920" }]);
    assert.deepEqual(leftoverCommands(file), []);
  });
});

Deno.test("leftoverCommands treats an unreadable or foreign record as empty", async () => {
  await withDir(async (dir) => {
    const file = leftoverCommandsFile(dir, "920");
    for (const text of ["not json", "{}", '[{"pgid": 1, "startTime": "0", "command": "init"}]']) {
      await Deno.writeTextFile(file, text);
      assert.deepEqual(leftoverCommands(file), [], text);
    }
    assert.deepEqual(leftoverCommands(`${dir}/missing.commands`), []);
  });
});

Deno.test("recordRunningCommands removes the record when nothing runs", async () => {
  await withDir((dir) => {
    const file = leftoverCommandsFile(dir, "920");
    recordRunningCommands(file, [{ pgid: 123, startTime: "5", command: "pct status 920" }]);
    assert.ok(existsSync(file));
    recordRunningCommands(file, []);
    assert.equal(existsSync(file), false);
    assert.deepEqual([...Deno.readDirSync(dir)], [], "no temporary file left");
  });
});
