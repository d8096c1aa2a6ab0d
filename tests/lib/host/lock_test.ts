import assert from "node:assert/strict";
import { join } from "node:path";
import { SetupError } from "../../../lib/core/errors.ts";
import { ExitCode } from "../../../lib/core/exit_codes.ts";
import { acquireLock, lockFile } from "../../../lib/host/lock.ts";
import { processStartTime } from "../../../lib/host/leftover_commands.ts";
import { throwsWith } from "../../support/assertions.ts";
import { RecordingLog } from "../../support/recording_log.ts";
import { pathExists, withTempDir } from "../../support/temp_dir.ts";
import { deadPid } from "../../support/processes.ts";

function failure(fn: () => unknown, code: ExitCode): SetupError {
  const error = throwsWith(fn, SetupError);
  assert.equal(error.exitCode, code, error.message);
  assert.equal(error.phase, "locking");
  return error;
}

/** The lock file's note for process `pid`: its pid and start time. */
function noteOf(pid: number): string {
  return `${pid} ${processStartTime(pid)}\n`;
}

/**
 * Another process holding `path` with `flock(LOCK_EX)` through Deno's own (blocking) lock, and
 * the note it wrote; it holds it until killed.
 */
async function holder(path: string): Promise<Deno.ChildProcess> {
  const script = `
    const file = Deno.openSync(${JSON.stringify(path)}, { read: true, write: true, create: true });
    file.lockSync(true);
    const stat = Deno.readTextFileSync("/proc/self/stat");
    const start = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
    Deno.writeTextFileSync(${JSON.stringify(path)}, Deno.pid + " " + start + "\\n");
    console.log("locked");
    setTimeout(() => {}, 600_000);
  `;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-config", script],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.getReader();
  const { value } = await reader.read();
  assert.equal(new TextDecoder().decode(value).trim(), "locked");
  reader.releaseLock();
  return child;
}

async function kill(child: Deno.ChildProcess): Promise<void> {
  child.kill("SIGKILL");
  await child.status;
  await child.stdout.cancel();
}

Deno.test("acquireLock writes this process's pid and start time into the lock file", () =>
  withTempDir((dir) => {
    const log = new RecordingLog();
    const lock = acquireLock(dir, "920", log);
    try {
      assert.equal(lock.path, `${dir}/phoenix_hypervisor_setup_920.lock`);
      assert.equal(lock.path, lockFile(dir, "920"));
      assert.equal(Deno.readTextFileSync(lock.path), noteOf(Deno.pid));
      assert.deepEqual(log.entries, [], "a fresh lock is not a takeover");
    } finally {
      lock.release();
    }
    assert.equal(pathExists(lock.path), false, "release removes the file");
  }));

Deno.test("acquireLock creates a missing lock directory", () =>
  withTempDir((dir) => {
    const nested = join(dir, "run", "lock", "phoenix_hypervisor");
    const lock = acquireLock(nested, "950", new RecordingLog());
    assert.ok(pathExists(lock.path));
    lock.release();
  }));

Deno.test("a second acquireLock for the same CTID fails at once with Locked and names the pid", () =>
  withTempDir((dir) => {
    const first = acquireLock(dir, "920", new RecordingLog());
    try {
      const started = Date.now();
      const error = failure(() => acquireLock(dir, "920", new RecordingLog()), ExitCode.Locked);
      assert.ok(Date.now() - started < 500, "no waiting for a holder that wrote its note");
      assert.equal(
        error.message,
        `Another setup run for container 920 is in progress (pid ${Deno.pid}, lock ${first.path}); ` +
          "wait for it to finish, then run again if needed",
      );
      assert.equal(Deno.readTextFileSync(first.path), noteOf(Deno.pid), "the lock is left alone");
    } finally {
      first.release();
    }
  }));

Deno.test("acquireLock refuses a lock another process holds, and takes it over, once and logged, after a SIGKILL", () =>
  withTempDir(async (dir) => {
    const path = lockFile(dir, "920");
    const other = await holder(path);
    try {
      const error = failure(() => acquireLock(dir, "920", new RecordingLog()), ExitCode.Locked);
      assert.match(error.message, new RegExp(`\\(pid ${other.pid}, lock `));
      assert.equal(Deno.readTextFileSync(path), noteOf(other.pid));
    } finally {
      await kill(other);
    }
    // The kernel dropped the lock with the process; its note is still there.
    const log = new RecordingLog();
    const lock = acquireLock(dir, "920", log);
    assert.equal(Deno.readTextFileSync(lock.path), noteOf(Deno.pid));
    assert.deepEqual(log.entries, [[
      "warn",
      `Took over the lock ${path} of an earlier run for container 920 (pid ${other.pid}), ` +
      "which ended without releasing it (killed?)",
    ]]);
    lock.release();
    const again = new RecordingLog();
    acquireLock(dir, "920", again).release();
    assert.deepEqual(again.entries, [], "a released lock is not taken over");
  }));

Deno.test("a lock file naming a live process that holds no lock (a reused pid) does not block", () =>
  withTempDir(async (dir) => {
    const path = lockFile(dir, "920");
    const unrelated = new Deno.Command("sleep", { args: ["30"] }).spawn();
    try {
      Deno.writeTextFileSync(path, noteOf(unrelated.pid));
      const log = new RecordingLog();
      const lock = acquireLock(dir, "920", log);
      assert.equal(Deno.readTextFileSync(path), noteOf(Deno.pid));
      assert.equal(log.messages("warn").length, 1);
      lock.release();
    } finally {
      unrelated.kill("SIGKILL");
      await unrelated.status;
    }
  }));

Deno.test("acquireLock takes over the lock file of a dead process, and says so", () =>
  withTempDir(async (dir) => {
    const path = lockFile(dir, "920");
    const pid = await deadPid();
    Deno.writeTextFileSync(path, `${pid} 12345\n`);
    const log = new RecordingLog();
    const lock = acquireLock(dir, "920", log);
    assert.equal(Deno.readTextFileSync(path), noteOf(Deno.pid));
    assert.match(log.messages("warn")[0], new RegExp(`\\(pid ${pid}\\), which ended without`));
    lock.release();
  }));

Deno.test("acquireLock takes over a lock file with no usable note, silently", () =>
  withTempDir((dir) => {
    const path = lockFile(dir, "920");
    for (const content of ["", "\n", "not a pid\n", "-5 1\n", "12", "999999999999999999999 1\n"]) {
      Deno.writeTextFileSync(path, content);
      const log = new RecordingLog();
      const lock = acquireLock(dir, "920", log);
      assert.equal(Deno.readTextFileSync(path), noteOf(Deno.pid), JSON.stringify(content));
      assert.deepEqual(log.entries, [], JSON.stringify(content));
      lock.release();
    }
  }));

Deno.test("locks for different CTIDs do not conflict", () =>
  withTempDir((dir) => {
    const a = acquireLock(dir, "920", new RecordingLog());
    const b = acquireLock(dir, "950", new RecordingLog());
    assert.notEqual(a.path, b.path);
    a.release();
    b.release();
  }));

Deno.test("release is idempotent, and an old handle never removes a newer holder's lock", () =>
  withTempDir((dir) => {
    const first = acquireLock(dir, "920", new RecordingLog());
    first.release();
    first.release();
    const second = acquireLock(dir, "920", new RecordingLog());
    first.release();
    assert.ok(pathExists(second.path), "the old handle must not remove the new lock");
    failure(() => acquireLock(dir, "920", new RecordingLog()), ExitCode.Locked);
    second.release();
  }));

Deno.test("a lock file removed from under its holder is not removed again by a later run's release", () =>
  withTempDir((dir) => {
    const first = acquireLock(dir, "920", new RecordingLog());
    Deno.removeSync(first.path);
    // The file is gone, so the lock can be taken again on a new file.
    const second = acquireLock(dir, "920", new RecordingLog());
    first.release();
    assert.ok(pathExists(second.path));
    second.release();
    assert.equal(pathExists(second.path), false);
  }));

Deno.test("an unusable lock directory is its own failure, exit 10, saying what is wrong", async (t) => {
  const hint = ". Set PHOENIX_LOCK_DIR to a directory on a local file system that root can " +
    "write to (the default is /run/lock/phoenix_hypervisor)";
  await withTempDir(async (dir) => {
    const file = join(dir, "a-file");
    Deno.writeTextFileSync(file, "");
    const cases: [string, string, string][] = [
      [
        "below a file",
        join(file, "locks"),
        "cannot create it: a part of the path is not a directory",
      ],
      ["a file", file, "it is a file, not a directory"],
      ["on /sys", "/sys", "cannot create the lock file in it: permission denied"],
      ["below /sys", "/sys/phoenix", "cannot create it: operation not permitted"],
    ];
    for (const [name, lockDir, what] of cases) {
      await t.step(name, () => {
        const error = failure(() => acquireLock(lockDir, "920"), ExitCode.LockDirUnusable);
        assert.equal(error.exitCode, 10);
        assert.equal(
          error.message,
          `Cannot use the lock directory ${lockDir} (PHOENIX_LOCK_DIR): ${what}${hint}`,
        );
      });
    }
    await t.step("a symbolic link planted at the lock's name is not followed", () => {
      const target = join(dir, "elsewhere");
      Deno.symlinkSync(target, lockFile(dir, "920"));
      const error = failure(() => acquireLock(dir, "920"), ExitCode.LockDirUnusable);
      assert.match(
        error.message,
        /cannot create the lock file in it: too many levels of symbolic links/,
      );
      assert.equal(pathExists(target), false, "nothing was created where the link points");
    });
  });
});
