import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { SetupError } from "../../../lib/core/errors.ts";
import { ExitCode } from "../../../lib/core/exit_codes.ts";
import {
  guardAgainstLeftovers,
  leftoverCommands,
  leftoverCommandsFile,
  processStartTime,
  recordRunningCommands,
} from "../../../lib/host/leftover_commands.ts";
import { RunSupervisor } from "../../../lib/host/run_supervisor.ts";
import { throwsWith } from "../../support/assertions.ts";

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

/** Runs `fn` with a `sleep 30` child, killed and reaped afterwards. */
async function withSleeper(fn: (child: Deno.ChildProcess) => void | Promise<void>): Promise<void> {
  const child = new Deno.Command("sleep", { args: ["30"], stdout: "null" }).spawn();
  try {
    await fn(child);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* ended */ }
    await child.status;
  }
}

Deno.test("guardAgainstLeftovers refuses while a killed run's command still runs", async () => {
  await withDir(async (dir) => {
    await withSleeper((child) => {
      const command = "pct exec 920 -- /opt/vllm/bin/pip install --no-input vllm";
      const startTime = processStartTime(child.pid)!;
      recordRunningCommands(leftoverCommandsFile(dir, "920"), [
        { pgid: child.pid, startTime, command },
      ]);
      let observed = 0;
      const error = throwsWith(
        () => guardAgainstLeftovers({ observe: () => observed++ }, dir, "920"),
        SetupError,
      );
      assert.equal(
        error.message,
        "A command started by an earlier run for container 920, which was killed, is still " +
          `running: ${command} (process group ${child.pid}). Wait for it to end, or stop it with ` +
          `'kill -TERM -- -${child.pid}', then run again`,
      );
      assert.equal(error.exitCode, ExitCode.Locked);
      assert.equal(error.phase, "locking");
      assert.equal(observed, 0, "the killed run's record is left for the next run to check");
      assert.ok(existsSync(leftoverCommandsFile(dir, "920")));
    });
  });
});

Deno.test("guardAgainstLeftovers records the run's running commands beside the lock", async () => {
  await withDir(async (dir) => {
    const file = leftoverCommandsFile(dir, "920");
    // A killed run's record whose commands have all ended is no reason to refuse.
    recordRunningCommands(file, [{ pgid: Deno.pid, startTime: "1", command: "pct start 920" }]);
    const supervisor = new RunSupervisor();
    guardAgainstLeftovers(supervisor, dir, "920");
    assert.equal(existsSync(file), false);
    await withSleeper((child) => {
      const running = supervisor.begin(["pct", "exec", "920", "--", "sleep", "30"]);
      running.started(child.pid);
      assert.deepEqual(JSON.parse(Deno.readTextFileSync(file)), [{
        pgid: child.pid,
        startTime: processStartTime(child.pid),
        command: "pct exec 920 -- sleep 30",
      }]);
      running.ended();
      assert.equal(existsSync(file), false, "nothing runs: nothing recorded");
    });
  });
});

Deno.test("guardAgainstLeftovers leaves out a command whose process is already gone", async () => {
  await withDir(async (dir) => {
    const gone = new Deno.Command("true").spawn();
    await gone.status;
    const supervisor = new RunSupervisor();
    guardAgainstLeftovers(supervisor, dir, "920");
    await withSleeper((child) => {
      supervisor.begin(["pct", "status", "920"]).started(child.pid);
      supervisor.begin(["pct", "exec", "920", "--", "true"]).started(gone.pid);
      const recorded = JSON.parse(Deno.readTextFileSync(leftoverCommandsFile(dir, "920")));
      assert.deepEqual(recorded.map((c: { command: string }) => c.command), ["pct status 920"]);
    });
  });
});
