import assert from "node:assert/strict";
import { join } from "node:path";
import { SetupError } from "../../lib/errors.ts";
import { ExitCode } from "../../lib/exit_codes.ts";
import { acquireLock } from "../../lib/lock.ts";
import { throwsWith } from "../support/assertions.ts";

async function withTempDir(fn: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "phoenix_lock_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function lockError(fn: () => unknown): SetupError {
  const error = throwsWith(fn, SetupError);
  assert.equal(error.exitCode, ExitCode.Locked);
  assert.equal(error.exitCode, 7);
  assert.equal(error.phase, "locking");
  return error;
}

/** The pid of a process that has already exited (and been reaped). */
async function deadPid(): Promise<number> {
  const child = new Deno.Command("true").spawn();
  await child.status;
  return child.pid;
}

const exists = (path: string) => {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
};

Deno.test("acquireLock creates the lock file holding this process's pid", () =>
  withTempDir((dir) => {
    const lock = acquireLock(dir, "920");
    try {
      assert.equal(lock.path, `${dir}/phoenix_hypervisor_setup_920.lock`);
      assert.equal(Deno.readTextFileSync(lock.path), `${Deno.pid}\n`);
    } finally {
      lock.release();
    }
    assert.equal(exists(lock.path), false, "release removes the file");
  }));

Deno.test("acquireLock creates a missing lock directory", () =>
  withTempDir((dir) => {
    const nested = join(dir, "run", "lock", "phoenix_hypervisor");
    const lock = acquireLock(nested, "950");
    assert.ok(exists(lock.path));
    lock.release();
  }));

Deno.test("a second acquireLock for the same CTID fails with Locked and names the pid", () =>
  withTempDir((dir) => {
    const first = acquireLock(dir, "920");
    try {
      const error = lockError(() => acquireLock(dir, "920"));
      assert.equal(
        error.message,
        `Another setup run for container 920 is in progress (pid ${Deno.pid}, lock ${first.path}); ` +
          "wait for it to finish, then run again if needed",
      );
      assert.equal(Deno.readTextFileSync(first.path), `${Deno.pid}\n`, "the lock is left alone");
    } finally {
      first.release();
    }
  }));

Deno.test("acquireLock refuses a lock held by another live process", () =>
  withTempDir(async (dir) => {
    const holder = new Deno.Command("sleep", { args: ["30"] }).spawn();
    try {
      const path = `${dir}/phoenix_hypervisor_setup_920.lock`;
      Deno.writeTextFileSync(path, `${holder.pid}\n`);
      const error = lockError(() => acquireLock(dir, "920"));
      assert.match(error.message, new RegExp(`\\(pid ${holder.pid}, lock `));
      assert.equal(Deno.readTextFileSync(path), `${holder.pid}\n`);
    } finally {
      holder.kill("SIGKILL");
      await holder.status;
    }
    // Its holder gone, the same lock is now stale and taken over.
    const lock = acquireLock(dir, "920");
    assert.equal(Deno.readTextFileSync(lock.path), `${Deno.pid}\n`);
    lock.release();
  }));

Deno.test("acquireLock takes over the stale lock of a dead process", () =>
  withTempDir(async (dir) => {
    const path = `${dir}/phoenix_hypervisor_setup_920.lock`;
    const pid = await deadPid();
    Deno.writeTextFileSync(path, `${pid}\n`);
    const lock = acquireLock(dir, "920");
    assert.equal(lock.path, path);
    assert.equal(Deno.readTextFileSync(path), `${Deno.pid}\n`);
    lock.release();
  }));

Deno.test("acquireLock takes over a lock file with no usable pid", () =>
  withTempDir((dir) => {
    const path = `${dir}/phoenix_hypervisor_setup_920.lock`;
    for (const content of ["", "\n", "not a pid\n", "-5\n", "0\n", "999999999999999999999\n"]) {
      Deno.writeTextFileSync(path, content);
      const lock = acquireLock(dir, "920");
      assert.equal(Deno.readTextFileSync(path), `${Deno.pid}\n`, JSON.stringify(content));
      lock.release();
    }
  }));

Deno.test("locks for different CTIDs do not conflict", () =>
  withTempDir((dir) => {
    const a = acquireLock(dir, "920");
    const b = acquireLock(dir, "950");
    assert.notEqual(a.path, b.path);
    a.release();
    b.release();
  }));

Deno.test("release is idempotent and tolerates a lock file already removed", () =>
  withTempDir((dir) => {
    const lock = acquireLock(dir, "920");
    lock.release();
    lock.release();
    const again = acquireLock(dir, "920");
    Deno.removeSync(again.path);
    again.release();
    assert.equal(exists(again.path), false);
  }));

Deno.test("a released lock can be taken again, and a second release leaves the new holder's lock", () =>
  withTempDir((dir) => {
    const first = acquireLock(dir, "920");
    first.release();
    const second = acquireLock(dir, "920");
    first.release();
    assert.ok(exists(second.path), "the old handle must not remove the new lock");
    second.release();
  }));

Deno.test("acquireLock reports a lock directory it cannot create", () =>
  withTempDir((dir) => {
    const file = join(dir, "a-file");
    Deno.writeTextFileSync(file, "");
    const lockDir = join(file, "locks");
    const error = lockError(() => acquireLock(lockDir, "920"));
    assert.ok(
      error.message.startsWith(`Cannot create lock directory ${JSON.stringify(lockDir)}: `),
      error.message,
    );
    assert.ok(error.message.endsWith("; set PHOENIX_LOCK_DIR to a writable directory"));
    assert.ok(error.cause instanceof Error);
  }));
