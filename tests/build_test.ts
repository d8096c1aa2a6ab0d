/**
 * build.ts: discovery, the runtime fallback's checksum, checksums (and that unchanged files are
 * not hashed again), build times in the log, that each executable embeds only its own container
 * module; and the command line as a user runs it (`runBuild`): `--help`, what `dist/` and
 * `SHA256SUMS` hold after a build, the last line, and `--install`: the directory checked before
 * anything is compiled, a file it did not make refused or kept, the 2025-09-01 name's link.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { buildAll, EXECUTABLE_PERMISSIONS, patchZxForBundle } from "../lib/build/compile.ts";
import { writeChecksums } from "../lib/build/dist.ts";
import { fallbackDenort } from "../lib/build/runtime.ts";
import { describeChoice, discoverTargets, selectFromConfig } from "../lib/build/targets.ts";
import type { CommandRunner } from "../lib/core/command_text.ts";
import { FileHashes, RACY_MS, sha256File } from "../lib/build/file_hashes.ts";
import { compiledExecutable, runBuild } from "./support/executables.ts";
import { withTempDir } from "./support/temp_dir.ts";
import { versionLine } from "../lib/core/version.ts";

Deno.test("build: discoverTargets finds containers/<CTID>.ts, sorted by CTID, and nothing else", async () => {
  const dir = await Deno.makeTempDir();
  for (const name of ["950.ts", "920.ts", "helpers.ts", "0920.ts", "12.ts", "1000.ts"]) {
    await Deno.writeTextFile(join(dir, name), "");
  }
  const targets = await discoverTargets(dir);
  assert.deepEqual(targets.map((t) => t.ctid), ["920", "950", "1000"]);
  assert.equal(targets[0].modulePath, join(dir, "920.ts"));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("build: the shipped catalog is discovered", async () => {
  const ctids = (await discoverTargets()).map((t) => t.ctid);
  assert.ok(ctids.includes("920") && ctids.includes("950"), ctids.join(","));
});

Deno.test("build --config: each CTID gets the module that fits, a composed one, or a reason", async () => {
  const dir = await Deno.makeTempDir();
  const file = join(dir, "phoenix_lxc_configs.json");
  await Deno.writeTextFile(
    file,
    JSON.stringify({
      nvidia_driver_version: "580.76.05",
      nvidia_runfile_url:
        "https://us.download.nvidia.com/XFree86/Linux-x86_64/580.76.05/NVIDIA-Linux-x86_64-580.76.05.run",
      lxc_configs: {
        "900": { features: ["base_setup"], is_template: true },
        "920": { features: ["docker", "vllm"], template_snapshot_name: "vllm-base-snapshot" },
        "930": { features: ["nvidia", "ollama"], gpu_assignment: "0" },
        "103": { features: ["base_setup", "step_ca"] },
        "104": { features: ["base_setup"], gpu_assignment: 0 },
      },
    }),
  );
  const { choices, targets } = await selectFromConfig(file);
  assert.deepEqual(choices.map(describeChoice), [
    '103: SKIPPED, nothing built: feature "step_ca" not supported; write containers/103.ts to ' +
    "set it up",
    `104: SKIPPED, nothing built: Invalid configuration for container 104: ${file}:1:` +
    `${(await Deno.readTextFile(file)).indexOf('"gpu_assignment":0') + 18}: ` +
    'lxc_configs["104"].gpu_assignment: expected "none" or GPU indices such as "0" or "0,1", ' +
    "found 0",
    "900: containers/900.ts (template)",
    "920: composed from the entry (template): features docker, vllm [containers/920.ts does " +
    'not fit: the entry lists the features ["docker","vllm"], but this module sets up ["vllm"]]',
    "930: composed from the entry (standard): features nvidia, ollama; application ollama-server",
  ]);
  assert.deepEqual(targets.map((t) => [t.ctid, "modulePath" in t ? "module" : "composed"]), [
    ["900", "module"],
    ["920", "composed"],
    ["930", "composed"],
  ]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("build: the fallback runtime is refused when its checksum is wrong", async () => {
  const workDir = await Deno.makeTempDir();
  // A stand-in for `npm pack` + `tar` that yields a file with the wrong content, where they
  // were asked to put it (`env -C DIR npm pack`, `tar -C DIR`).
  const run: CommandRunner = async (argv) => {
    const dir = argv[argv.indexOf("-C") + 1];
    if (argv.includes("pack")) {
      await Deno.writeTextFile(join(dir, "pkg.tgz"), "");
      return { argv, exitCode: 0, stdout: "pkg.tgz\n", stderr: "", durationMs: 1 };
    }
    await Deno.mkdir(join(dir, "package", "bin"), { recursive: true });
    await Deno.writeTextFile(join(dir, "package", "bin", "mcp-stress"), "not a runtime");
    return { argv, exitCode: 0, stdout: "", stderr: "", durationMs: 1 };
  };
  await assert.rejects(
    fallbackDenort(workDir, run),
    /expected 257898ae.*refusing to use it\. Set DENORT_BIN/,
  );
  // Nothing half-fetched is left behind, and nothing is cached.
  assert.deepEqual([...Deno.readDirSync(join(workDir, "denort"))], []);
  await Deno.remove(workDir, { recursive: true });
});

Deno.test("build: two builds fetching the fallback runtime at once both get it whole", async () => {
  const workDir = await Deno.makeTempDir();
  const [first, second] = await Promise.all([fallbackDenort(workDir), fallbackDenort(workDir)]);
  assert.equal(first, second);
  const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(first));
  assert.equal(
    Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join(""),
    "257898aee9a507fd3a899a902c465223f4554da362e813132f024570a545edb7",
  );
  assert.deepEqual([...Deno.readDirSync(join(workDir, "denort"))].map((e) => e.name), ["denort"]);
  await Deno.remove(workDir, { recursive: true });
});

Deno.test("build: a failing npm pack is reported with its stderr", async () => {
  const workDir = await Deno.makeTempDir();
  const run: CommandRunner = (argv) =>
    Promise.resolve({
      argv,
      exitCode: 1,
      stdout: "",
      stderr: "npm error 404 Not Found\n",
      durationMs: 1,
    });
  await assert.rejects(
    fallbackDenort(workDir, run),
    /npm pack .* failed \(exit 1\): npm error 404 Not Found/,
  );
  await Deno.remove(workDir, { recursive: true });
});

Deno.test("build: SHA256SUMS lists every executable in sha256sum -c format", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(join(dir, "phoenix_hypervisor_setup_950.sh"), "b");
  await Deno.writeTextFile(join(dir, "phoenix_hypervisor_setup_920.sh"), "a");
  await Deno.writeTextFile(join(dir, "notes.txt"), "not an executable");
  await writeChecksums(dir);
  assert.equal(
    await Deno.readTextFile(join(dir, "SHA256SUMS")),
    "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb  phoenix_hypervisor_setup_920.sh\n" +
      "3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d  phoenix_hypervisor_setup_950.sh\n",
  );
  const check = await new Deno.Command("sha256sum", { args: ["-c", "SHA256SUMS"], cwd: dir })
    .output();
  assert.equal(check.code, 0);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("build: SHA256SUMS reads only the executables that changed since the hashes were saved", async () => {
  const dir = await Deno.makeTempDir();
  const cache = join(dir, "sha256.json");
  await Deno.writeTextFile(join(dir, "phoenix_hypervisor_setup_920.sh"), "a");
  await Deno.writeTextFile(join(dir, "phoenix_hypervisor_setup_950.sh"), "b");
  const read: string[] = [];
  // A clock ahead of the files' change times: they count as old enough to be remembered.
  const options = {
    hasher: (path: string) => (read.push(path), sha256File(path)),
    now: () => Date.now() + 10 * RACY_MS,
  };
  const first = await FileHashes.load(cache, options);
  assert.equal(await writeChecksums(dir, first), 2);
  await first.save();
  assert.equal(read.length, 2);
  await Deno.writeTextFile(join(dir, "phoenix_hypervisor_setup_950.sh"), "bb");
  const second = await FileHashes.load(cache, options);
  await writeChecksums(dir, second);
  assert.deepEqual(read.slice(2), [join(dir, "phoenix_hypervisor_setup_950.sh")]);
  assert.deepEqual(second.counts, { hashed: 1, reused: 1 });
  assert.match(
    await Deno.readTextFile(join(dir, "SHA256SUMS")),
    /^ca978112.*\n3b64db95.*_950\.sh\n$/,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("build: the cached fallback runtime is verified without reading it again", async () => {
  const workDir = new URL("../.build", import.meta.url).pathname;
  const read: string[] = [];
  const hashes = new FileHashes({
    hasher: (path) => (read.push(path), sha256File(path)),
    now: () => Date.now() + 10 * RACY_MS,
  });
  const path = await fallbackDenort(workDir, undefined, hashes);
  assert.equal(await fallbackDenort(workDir, undefined, hashes), path);
  assert.ok(read.filter((p) => p === path).length <= 1, read.join(", "));
  assert.ok(hashes.counts.reused >= 1);
});

Deno.test("build: each executable's line says how long it took, and the last line the total", async () => {
  const dir = await Deno.makeTempDir();
  // Stand-ins for `deno bundle` (a chunk holding zx's line, which the build patches) and
  // `deno compile` (the output file).
  const run: CommandRunner = async (argv) => {
    const outdir = argv.indexOf("--outdir");
    if (outdir >= 0) {
      await Deno.mkdir(argv[outdir + 1], { recursive: true });
      await Deno.writeTextFile(
        join(argv[outdir + 1], "entry.js"),
        'var m = globalThis.Deno ? globalThis.require("./core.cjs") : __module__1;',
      );
    } else {
      await Deno.writeTextFile(argv[argv.indexOf("--output") + 1], "executable");
    }
    return { argv, exitCode: 0, stdout: "", stderr: "", durationMs: 1 };
  };
  const lines: string[] = [];
  const containers = new URL("../containers", import.meta.url).pathname;
  await buildAll(
    ["920", "950"].map((ctid) => ({ ctid, modulePath: join(containers, `${ctid}.ts`) })),
    { outDir: join(dir, "dist"), workDir: join(dir, "work"), run, log: (l) => lines.push(l) },
  );
  const time = String.raw`\d+ ms|\d+\.\d s|\d+ min( \d+ s)?`;
  assert.equal(lines.length, 3, lines.join("\n"));
  for (const [i, ctid] of ["920", "950"].entries()) {
    assert.match(
      lines[i],
      new RegExp(
        `^Built \\S*phoenix_hypervisor_setup_${ctid}\\.sh \\(0\\.0 MiB\\) in (${time}) ` +
          "with the runtime from ",
      ),
    );
  }
  assert.match(lines[2], new RegExp(`^Built 2 executables in (${time})$`));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("build: executables get all permissions and never prompt (Deno asks all access for /proc)", () => {
  assert.deepEqual(EXECUTABLE_PERMISSIONS, ["--allow-all", "--no-prompt"]);
});

Deno.test("build: an executable embeds its own container module and no other", async () => {
  const bytes = await Deno.readFile(await compiledExecutable("920"));
  const text = new TextDecoder("latin1").decode(bytes.subarray(bytes.length - 20 * 2 ** 20));
  assert.ok(text.includes("containers/920.ts"), "its own module is embedded");
  assert.ok(!text.includes("containers/950.ts"), "another container's module is not");
  const stat = await Deno.stat(await compiledExecutable("920"));
  assert.equal(stat.mode! & 0o777, 0o755);
});

Deno.test("patchZxForBundle points zx's Deno-only require at the bundled module, exactly once", () => {
  const line = 'var m = globalThis.Deno ? globalThis.require("./core.cjs") : __module__3;';
  assert.equal(patchZxForBundle(`a;\n${line}\nb;`), "a;\nvar m = __module__3;\nb;");
  assert.throws(() => patchZxForBundle("no zx here"), /found it 0 times: zx changed/);
  assert.throws(() => patchZxForBundle(`${line}\n${line}`), /found it 2 times/);
});

Deno.test("build --help: exit 0, and every option is explained", async () => {
  const help = await runBuild(["--help"]);
  assert.equal(help.code, 0, help.stderr);
  assert.equal(help.stderr, "");
  assert.match(help.stdout, /^Usage: deno task build \[options\]\n/);
  const options = [
    "--config FILE",
    "--ctid CTID",
    "--out DIR",
    "--install [DIR]",
    "--replace-foreign",
    "--link-lxc-name",
    "--link-application-script",
    "--help",
  ];
  for (const option of options) {
    assert.match(help.stdout, new RegExp(`\n {2}${option.replace(/[[\]]/g, "\\$&")}\\s+\\S`));
  }
  const unknown = await runBuild(["--frobnicate"]);
  assert.equal(unknown.code, 1);
  assert.equal(unknown.stderr, "Unknown option '--frobnicate'. See deno task build --help\n");
});

Deno.test("build: options that need --install or --config say so, before anything is built", async () => {
  const alone = await runBuild(["--ctid", "920", "--link-lxc-name"]);
  assert.equal(alone.code, 1);
  assert.equal(
    alone.stderr,
    "--link-lxc-name applies to --install, which was not given. See deno task build --help\n",
  );
  const noConfig = await runBuild(["--install", "/nonexistent", "--link-application-script"]);
  assert.equal(noConfig.code, 1);
  assert.match(noConfig.stderr, /^--link-application-script needs --config: /);
  assert.doesNotMatch(alone.stdout + noConfig.stdout, /Built/);
});

Deno.test("build: a missing --config file speaks of --config", async () => {
  const build = await runBuild(["--config", "/nonexistent/phoenix_lxc_configs.json"]);
  assert.equal(build.code, 1);
  assert.equal(
    build.stderr,
    "Build failed: Cannot read the configuration file /nonexistent/phoenix_lxc_configs.json: no " +
      "such file or directory. Give --config the path of a phoenix_lxc_configs.json (on a " +
      "Phoenix host, /usr/local/phoenix_hypervisor/etc/phoenix_lxc_configs.json).\n",
  );
  assert.doesNotMatch(build.stderr, /LXC_CONFIG_FILE/);
});

Deno.test("build: an unknown --ctid is refused, pointing at --config", async () => {
  const build = await runBuild(["--ctid", "999"]);
  assert.equal(build.code, 1);
  assert.equal(
    build.stderr,
    "No container module containers/999.ts\nFor a container of your own config, build with " +
      "--config FILE\n",
  );
});

/** The install target cases that must fail before anything is compiled. */
async function assertRefusedBeforeCompiling(
  root: string,
  installDir: string,
  expected: string,
): Promise<void> {
  const out = join(root, "dist");
  const build = await runBuild(["--ctid", "920", "--out", out, "--install", installDir]);
  assert.equal(build.code, 1, build.stdout);
  assert.equal(build.stderr, `${expected}\n`);
  assert.equal(build.stdout, "", "nothing was compiled");
  await assert.rejects(Deno.stat(out), Deno.errors.NotFound, "not even the output directory");
}

Deno.test("build --install: a file where the directory should be fails fast, nothing compiled", async () => {
  await withTempDir(async (root) => {
    const file = join(root, "bin");
    await Deno.writeTextFile(file, "");
    await assertRefusedBeforeCompiling(
      root,
      join(file, "phoenix"),
      `Cannot install into ${file}/phoenix: ${file} is a file, not a directory. Give --install ` +
        "a directory.\nNothing was built or installed.",
    );
  });
});

const mounted = await (async () => {
  // A read-only file system needs a mount: root with CAP_SYS_ADMIN (as on the test machines).
  const probe = await Deno.makeTempDir();
  const mount = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", "ro", "tmpfs", probe],
    stderr: "null",
  }).output().catch(() => ({ code: 1 }));
  if (mount.code === 0) await new Deno.Command("umount", { args: [probe] }).output();
  await Deno.remove(probe);
  return mount.code === 0;
})();

Deno.test({
  name: mounted
    ? "build --install: a read-only file system fails fast, in plain words, nothing compiled"
    : "build --install on a read-only file system: IGNORED, cannot mount one here (needs root)",
  ignore: !mounted,
  fn: async () => {
    await withTempDir(async (root) => {
      const readOnly = join(root, "ro");
      await Deno.mkdir(readOnly);
      const mount = await new Deno.Command("mount", {
        args: ["-t", "tmpfs", "-o", "ro", "tmpfs", readOnly],
      }).output();
      assert.equal(mount.code, 0);
      try {
        await assertRefusedBeforeCompiling(
          root,
          join(readOnly, "bin"),
          `Cannot install into ${readOnly}/bin (it would be created in ${readOnly}): cannot ` +
            `write to ${readOnly}: the file system is read-only; give --install a directory on ` +
            "a writable file system.\nNothing was built or installed.",
        );
      } finally {
        await new Deno.Command("umount", { args: [readOnly] }).output();
      }
    });
  },
});

Deno.test("build --install: a file it did not make is refused before compiling, and left as it was", async () => {
  await withTempDir(async (root) => {
    const bin = join(root, "bin");
    await Deno.mkdir(bin);
    const script = join(bin, "phoenix_hypervisor_setup_920.sh");
    await Deno.writeTextFile(script, "#!/bin/bash\necho hand-written\n", { mode: 0o755 });
    await assertRefusedBeforeCompiling(
      root,
      bin,
      "Refusing to replace a file that phoenix-setup did not make:\n" +
        `  ${script} (30 bytes, not a phoenix-setup executable)\n` +
        "Move it away, or give --replace-foreign to replace it " +
        "(each is kept beside as <name>.before-phoenix-setup).\nNothing was built or installed.",
    );
    assert.equal(await Deno.readTextFile(script), "#!/bin/bash\necho hand-written\n");
    assert.deepEqual([...Deno.readDirSync(bin)].map((e) => e.name), [
      "phoenix_hypervisor_setup_920.sh",
    ]);
  });
});

Deno.test("build: dist holds exactly this build's executables, SHA256SUMS lists them, the last line recaps; --install --replace-foreign --link-lxc-name", async () => {
  await withTempDir(async (root) => {
    const out = join(root, "dist");
    const bin = join(root, "bin");
    await Deno.mkdir(out);
    await Deno.mkdir(bin);
    // What an earlier build left, and a file that is not the build's.
    await Deno.writeTextFile(join(out, "phoenix_hypervisor_setup_950.sh"), "earlier build");
    await Deno.writeTextFile(join(out, "SHA256SUMS"), "0  phoenix_hypervisor_setup_950.sh\n");
    await Deno.writeTextFile(join(out, "notes.txt"), "mine");
    const script = join(bin, "phoenix_hypervisor_setup_920.sh");
    await Deno.writeTextFile(script, "#!/bin/bash\necho hand-written\n", { mode: 0o755 });

    const build = await runBuild([
      "--ctid",
      "920",
      "--out",
      out,
      "--install",
      bin,
      "--replace-foreign",
      "--link-lxc-name",
    ]);
    assert.equal(build.code, 0, build.stderr);
    const lines = build.stdout.trimEnd().split("\n");
    assert.match(
      build.stdout,
      /Built .*phoenix_hypervisor_setup_920\.sh \(\d+\.\d MiB\) in \d+(\.\d)? m?s with the runtime from /,
    );
    assert.match(build.stdout, /\nBuilt 1 executable in \d+(\.\d)? m?s\n/);
    assert.match(
      build.stdout,
      /\nRemoved from \S*dist what this build did not make: phoenix_hypervisor_setup_950\.sh\n/,
    );
    assert.match(
      build.stdout,
      /\nWrote .*SHA256SUMS in .*: 1 listed, 1 hashed, 0 unchanged since the last build\n/,
    );
    assert.deepEqual(lines.slice(-4), [
      `Kept ${script}, not made by phoenix-setup, as ${script}.before-phoenix-setup`,
      `Installed ${script}`,
      `Linked ${bin}/phoenix_hypervisor_lxc_920.sh -> phoenix_hypervisor_setup_920.sh (the ` +
      "2025-09-01 generation's name)",
      "1 built, 0 skipped",
    ]);

    assert.deepEqual([...Deno.readDirSync(out)].map((e) => e.name).sort(), [
      "SHA256SUMS",
      "notes.txt",
      "phoenix_hypervisor_setup_920.sh",
    ]);
    assert.match(
      await Deno.readTextFile(join(out, "SHA256SUMS")),
      /^[0-9a-f]{64} {2}phoenix_hypervisor_setup_920\.sh\n$/,
    );
    const check = await new Deno.Command("sha256sum", { args: ["-c", "SHA256SUMS"], cwd: out })
      .output();
    assert.equal(check.code, 0);

    assert.deepEqual([...Deno.readDirSync(bin)].map((e) => e.name).sort(), [
      "phoenix_hypervisor_lxc_920.sh",
      "phoenix_hypervisor_setup_920.sh",
      "phoenix_hypervisor_setup_920.sh.before-phoenix-setup",
    ]);
    assert.equal(
      await Deno.readTextFile(`${script}.before-phoenix-setup`),
      "#!/bin/bash\necho hand-written\n",
    );
    const link = join(bin, "phoenix_hypervisor_lxc_920.sh");
    assert.ok((await Deno.lstat(link)).isSymlink, "a link, not a second copy");
    assert.equal(await Deno.readLink(link), "phoenix_hypervisor_setup_920.sh");
    assert.equal((await Deno.stat(script)).mode! & 0o777, 0o755);
    const version = await new Deno.Command(script, { args: ["--version"], stdout: "piped" })
      .output();
    assert.equal(version.code, 0);
    assert.equal(
      new TextDecoder().decode(version.stdout),
      `${versionLine("920")}\n`,
    );
  });
});
