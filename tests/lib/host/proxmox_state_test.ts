import assert from "node:assert/strict";
import { CommandError } from "../../../lib/core/command_text.ts";
import { ExitCode } from "../../../lib/core/exit_codes.ts";
import { Pct } from "../../../lib/host/pct.ts";
import {
  busyError,
  inspectRunSnapshot,
  lockRefusal,
  SNAPSHOT_SETTLE_SECONDS,
} from "../../../lib/host/proxmox_state.ts";
import { InMemoryPct } from "../../fake_pct/in_memory.ts";

const failed = (stderr: string) =>
  new CommandError("pct start 920", { argv: [], exitCode: 255, stdout: "", stderr, durationMs: 1 });

Deno.test("busyError words pct's lock failures, and nothing else", () => {
  const locked = busyError("920", "start container 920", failed("CT is locked (backup)\n"));
  assert.equal(locked?.exitCode, ExitCode.ContainerBusy);
  assert.match(
    locked!.message,
    /^Cannot start container 920: Container 920 is locked by Proxmox \(lock: backup\): a backup \(vzdump\)/,
  );
  const file = busyError(
    "920",
    "start container 920",
    failed("can't lock file '/run/lock/lxc/pve-config-920.lock' - got timeout\n"),
  );
  assert.equal(file?.exitCode, ExitCode.ContainerBusy);
  assert.match(
    file!.message,
    /held its configuration lock \(\/run\/lock\/lxc\/pve-config-920\.lock\) for over 10 s/,
  );
  assert.equal(busyError("920", "x", failed("container did not stop\n")), undefined);
  assert.equal(busyError("920", "x", new Error("CT is locked (backup)")), undefined);
});

Deno.test("lockRefusal names an unknown lock as it is", () => {
  const error = lockRefusal("920", "frobnicate");
  assert.equal(error.exitCode, ExitCode.ContainerBusy);
  assert.match(
    error.message,
    /\(lock: frobnicate\): a Proxmox operation holds it; wait for it to finish, then run this again/,
  );
  assert.match(lockRefusal("920", "mounted").message, /unmount it with 'pct unmount 920'/);
});

/** A stopped 920 whose snapshot was begun at `snaptime` (Unix seconds), half-made or not. */
function withSnapshot(snapstate?: "prepare" | "delete") {
  const time = "2026-03-04 05:06:07";
  const model = new InMemoryPct({
    containers: {
      "920": {
        status: "stopped",
        lock: "snapshot",
        snapshots: [{ name: "s1", time, ...(snapstate && { snapstate }) }],
      },
    },
  });
  const [d, t] = time.split(" ");
  const [y, mo, da] = d.split("-").map(Number);
  const [h, mi, se] = t.split(":").map(Number);
  const snaptime = new Date(y, mo - 1, da, h, mi, se).getTime() / 1000;
  return { pct: new Pct(model.run), model, snaptime };
}

Deno.test("inspectRunSnapshot: committed, repair, or refuse, from snapstate, the status and the age", async () => {
  const found = { status: "stopped", lock: "snapshot" };
  {
    const { pct, model, snaptime } = withSnapshot();
    assert.deepEqual(await inspectRunSnapshot(pct, "920", "s1", found, snaptime + 5000), {
      kind: "complete",
    });
    assert.deepEqual(model.argvs(), [["config", "920", "--snapshot", "s1"]]);
  }
  {
    const { pct, snaptime } = withSnapshot("delete");
    const finding = await inspectRunSnapshot(
      pct,
      "920",
      "s1",
      found,
      snaptime + SNAPSHOT_SETTLE_SECONDS,
    );
    assert.equal(finding.kind, "repair");
    assert.match(
      (finding as { description: string }).description,
      /^snapshot 's1' of container 920 is half-made \(snapstate: delete, lock: snapshot, begun 600 s ago\): a 'pct snapshot' or 'pct delsnapshot' ended/,
    );
  }
  {
    const { pct, snaptime } = withSnapshot("prepare");
    const young = await inspectRunSnapshot(pct, "920", "s1", found, snaptime + 10);
    assert.equal(young.kind, "refuse");
    assert.equal((young as { error: { exitCode: number } }).error.exitCode, ExitCode.ContainerBusy);
    const running = await inspectRunSnapshot(
      pct,
      "920",
      "s1",
      { status: "running", lock: "snapshot" },
      snaptime + 5000,
    );
    assert.equal(running.kind, "refuse");
    assert.equal(
      (running as { error: { exitCode: number } }).error.exitCode,
      ExitCode.ContainerUnusable,
    );
  }
});
