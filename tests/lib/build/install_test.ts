/**
 * planInstall (which names, and which application_script names are left out and why),
 * checkInstall and installPlan on stand-in executables (an ELF header and the marker): what they
 * refuse, what they replace and say, and the backups they keep. The command line's own tests,
 * with real executables, are in tests/build_test.ts.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  checkInstall,
  InstallError,
  installPlan,
  planInstall,
} from "../../../lib/build/install.ts";
import { EXECUTABLE_MARKER } from "../../../lib/build/marker.ts";
import { withTempDir } from "../../support/temp_dir.ts";

/** Writes a stand-in for an executable of this build: an ELF header, `content`, the marker. */
async function ourExecutable(path: string, content: string): Promise<void> {
  await Deno.writeTextFile(path, `\x7fELF${content}${EXECUTABLE_MARKER}`);
}

Deno.test("planInstall: the executables, then the 2025-09-01 names as links", () => {
  const plan = planInstall("/bin", ["920", "950"], { lxcNames: true });
  assert.deepEqual(plan.items.map((item) => [item.name, item.linkTo]), [
    ["phoenix_hypervisor_setup_920.sh", undefined],
    ["phoenix_hypervisor_setup_950.sh", undefined],
    ["phoenix_hypervisor_lxc_920.sh", "phoenix_hypervisor_setup_920.sh"],
    ["phoenix_hypervisor_lxc_950.sh", "phoenix_hypervisor_setup_950.sh"],
  ]);
  assert.deepEqual(plan.notInstalled, []);
});

Deno.test("planInstall: an application_script name is installed only when it is its entry's alone", () => {
  const scripts = new Map<string, string | undefined>([
    ["900", undefined],
    ["910", "phoenix_hypervisor_lxc_vllm.sh"],
    ["912", "phoenix_hypervisor_lxc_vllm.sh"],
    ["914", "phoenix_hypervisor_lxc_955.sh"], // the latest real config's: no 955 entry
    ["950", "phoenix_hypervisor_lxc_950.sh"], // its own 2025-09-01 name too
    ["951", "phoenix_hypervisor_lxc_900.sh"], // entry 900's 2025-09-01 name
    ["952", "../escape.sh"],
  ]);
  const plan = planInstall("/bin", ["910", "914", "950", "951", "952"], {
    lxcNames: true,
    applicationScripts: scripts,
  });
  const links = plan.items.filter((item) => item.linkTo !== undefined)
    .map((item) => `${item.name} -> ${item.linkTo}`);
  assert.deepEqual(links, [
    "phoenix_hypervisor_lxc_910.sh -> phoenix_hypervisor_setup_910.sh",
    "phoenix_hypervisor_lxc_914.sh -> phoenix_hypervisor_setup_914.sh",
    "phoenix_hypervisor_lxc_950.sh -> phoenix_hypervisor_setup_950.sh",
    "phoenix_hypervisor_lxc_951.sh -> phoenix_hypervisor_setup_951.sh",
    "phoenix_hypervisor_lxc_952.sh -> phoenix_hypervisor_setup_952.sh",
    "phoenix_hypervisor_lxc_955.sh -> phoenix_hypervisor_setup_914.sh",
  ]);
  assert.deepEqual(plan.notInstalled, [
    "phoenix_hypervisor_lxc_vllm.sh: not installed for container 910: it is the " +
    "application_script or executable name of containers 910, 912, and an executable sets up " +
    "one container only",
    "phoenix_hypervisor_lxc_900.sh: not installed for container 951: it is the " +
    "application_script or executable name of containers 900, 951, and an executable sets up " +
    "one container only",
    "../escape.sh: not installed for container 952: its application_script is not a file name",
  ]);
});

Deno.test("checkInstall: a file in the way, a file as the directory, or a directory in the way is refused", async () => {
  await withTempDir(async (dir) => {
    const plan = planInstall(dir, ["920", "950"], { lxcNames: true });
    await Deno.writeTextFile(join(dir, "phoenix_hypervisor_setup_920.sh"), "#!/bin/bash\n");
    await Deno.symlink("/opt/elsewhere", join(dir, "phoenix_hypervisor_lxc_950.sh"));
    await ourExecutable(join(dir, "phoenix_hypervisor_setup_950.sh"), "old");
    await assert.rejects(
      checkInstall(plan, false),
      (error: Error) => {
        assert.ok(error instanceof InstallError);
        assert.equal(
          error.message,
          "Refusing to replace 2 files that phoenix-setup did not make:\n" +
            `  ${dir}/phoenix_hypervisor_setup_920.sh (12 bytes, not a phoenix-setup executable)\n` +
            `  ${dir}/phoenix_hypervisor_lxc_950.sh (a link to /opt/elsewhere)\n` +
            "Move them away, or give --replace-foreign to " +
            "replace them (each is kept beside as <name>.before-phoenix-setup).",
        );
        return true;
      },
    );
    assert.deepEqual(
      Object.fromEntries(await checkInstall(plan, true)),
      {
        "phoenix_hypervisor_setup_920.sh": "foreign",
        "phoenix_hypervisor_setup_950.sh": "ours",
        "phoenix_hypervisor_lxc_920.sh": "nothing",
        "phoenix_hypervisor_lxc_950.sh": "foreign",
      },
    );
    await Deno.mkdir(join(dir, "phoenix_hypervisor_lxc_920.sh"));
    await assert.rejects(
      checkInstall(plan, true),
      new RegExp(
        `Cannot install ${dir}/phoenix_hypervisor_lxc_920\\.sh: a directory of that ` +
          "name is in the way; move it away",
      ),
    );
    const file = join(dir, "phoenix_hypervisor_setup_920.sh");
    await assert.rejects(
      checkInstall(planInstall(join(file, "bin"), ["920"]), false),
      new RegExp(
        `^InstallError: Cannot install into ${file}/bin: ${file} is a file, not a ` +
          "directory\\. Give --install a directory\\.$",
      ),
    );
  });
});

Deno.test("checkInstall: a directory that does not exist yet is fine, and is not created", async () => {
  await withTempDir(async (dir) => {
    const target = join(dir, "a", "b");
    assert.deepEqual(
      Object.fromEntries(await checkInstall(planInstall(target, ["920"]), false)),
      { "phoenix_hypervisor_setup_920.sh": "nothing" },
    );
    assert.deepEqual([...Deno.readDirSync(dir)], [], "not even the probe is left");
  });
});

Deno.test("installPlan: copies with mode 0755, links by relative name, says what it replaced, keeps foreign files", async () => {
  await withTempDir(async (root) => {
    const dist = join(root, "dist");
    const bin = join(root, "bin");
    await Deno.mkdir(dist);
    await Deno.mkdir(bin);
    await ourExecutable(join(dist, "phoenix_hypervisor_setup_920.sh"), "new 920");
    await ourExecutable(join(dist, "phoenix_hypervisor_setup_950.sh"), "new 950");
    await Deno.chmod(join(dist, "phoenix_hypervisor_setup_920.sh"), 0o600);
    await ourExecutable(join(bin, "phoenix_hypervisor_setup_920.sh"), "old 920");
    await Deno.writeTextFile(join(bin, "phoenix_hypervisor_setup_950.sh"), "hand-written");
    // An earlier backup is never overwritten.
    await Deno.writeTextFile(
      join(bin, "phoenix_hypervisor_setup_950.sh.before-phoenix-setup"),
      "older backup",
    );
    const plan = planInstall(bin, ["920", "950"], { lxcNames: true });
    await assert.rejects(installPlan(plan, dist, false), InstallError);
    assert.equal(
      await Deno.readTextFile(join(bin, "phoenix_hypervisor_setup_950.sh")),
      "hand-written",
    );
    const lines: string[] = [];
    await installPlan(plan, dist, true, (line) => lines.push(line));
    assert.deepEqual(lines, [
      `Installed ${bin}/phoenix_hypervisor_setup_920.sh, replacing the phoenix-setup file that ` +
      "was there",
      `Kept ${bin}/phoenix_hypervisor_setup_950.sh, not made by phoenix-setup, as ` +
      `${bin}/phoenix_hypervisor_setup_950.sh.before-phoenix-setup.2`,
      `Installed ${bin}/phoenix_hypervisor_setup_950.sh`,
      `Linked ${bin}/phoenix_hypervisor_lxc_920.sh -> phoenix_hypervisor_setup_920.sh ` +
      "(the 2025-09-01 generation's name)",
      `Linked ${bin}/phoenix_hypervisor_lxc_950.sh -> phoenix_hypervisor_setup_950.sh ` +
      "(the 2025-09-01 generation's name)",
    ]);
    const read = (name: string) => Deno.readTextFile(join(bin, name));
    assert.match(await read("phoenix_hypervisor_setup_920.sh"), /^\x7fELFnew 920/);
    assert.match(await read("phoenix_hypervisor_lxc_950.sh"), /^\x7fELFnew 950/);
    assert.equal(
      await read("phoenix_hypervisor_setup_950.sh.before-phoenix-setup.2"),
      "hand-written",
    );
    assert.equal(
      await read("phoenix_hypervisor_setup_950.sh.before-phoenix-setup"),
      "older backup",
    );
    assert.equal(
      (await Deno.stat(join(bin, "phoenix_hypervisor_setup_920.sh"))).mode! & 0o777,
      0o755,
    );
    assert.equal(
      await Deno.readLink(join(bin, "phoenix_hypervisor_lxc_920.sh")),
      "phoenix_hypervisor_setup_920.sh",
    );
    assert.deepEqual([...Deno.readDirSync(bin)].map((e) => e.name).sort(), [
      "phoenix_hypervisor_lxc_920.sh",
      "phoenix_hypervisor_lxc_950.sh",
      "phoenix_hypervisor_setup_920.sh",
      "phoenix_hypervisor_setup_950.sh",
      "phoenix_hypervisor_setup_950.sh.before-phoenix-setup",
      "phoenix_hypervisor_setup_950.sh.before-phoenix-setup.2",
    ]);
    // Again: everything is ours now, so nothing is refused and no backup is added.
    lines.length = 0;
    await installPlan(plan, dist, false, (line) => lines.push(line));
    assert.equal(
      lines.filter((line) => line.endsWith("replacing the phoenix-setup file that was there"))
        .length,
      4,
    );
    assert.equal([...Deno.readDirSync(bin)].length, 6);
  });
});
