import { randomToken } from "../../support/random_token.ts";
import assert from "node:assert/strict";
import { runSteps } from "../../../lib/pattern/run_steps.ts";
import { join } from "node:path";
import {
  fileInContainer,
  normalizeMode,
  renderTemplate,
  symlinkInContainer,
  templateFile,
  WRITE_FILE_SCRIPT,
} from "../../../lib/steps/files.ts";
import type { InMemoryPct } from "../../fake_pct/in_memory.ts";
import { STEP_CTID, stepContext, stepPct } from "../../support/step_container.ts";
import { stepCounts } from "../../support/assertions.ts";

const UNIT = "[Service]\nExecStart=/bin/true\n";

/** The files of the step test's container. */
const filesOf = (pct: InMemoryPct) => pct.container(STEP_CTID).files;

/** The file writes among the pct calls: the exec argv after `--`, and the standard input. */
function writes(pct: InMemoryPct): { argv: string[]; input: string | undefined }[] {
  return pct.calls()
    .filter(({ argv }) => argv[1] === "exec" && argv[6] === WRITE_FILE_SCRIPT)
    .map(({ argv, options }) => ({ argv: argv.slice(4), input: options?.input }));
}

Deno.test("fileInContainer writes a missing file through stdin, and its check passes afterwards", async () => {
  const pct = stepPct();
  const ctx = stepContext(pct);
  const step = fileInContainer({ path: "/etc/app/app.conf", content: UNIT });
  assert.equal(step.name, "Write /etc/app/app.conf");
  assert.equal(await step.check(ctx), false);
  const summary = await runSteps([step], ctx, { dryRun: false });
  assert.deepEqual(stepCounts(summary), { ran: 1, skipped: 0 });
  assert.deepEqual(filesOf(pct)["/etc/app/app.conf"], { content: UNIT, mode: "0644" });
  assert.deepEqual(writes(pct), [{
    argv: ["bash", "-c", WRITE_FILE_SCRIPT, "bash", "/etc/app", "/etc/app/app.conf", "0644"],
    input: UNIT,
  }]);
  assert.deepEqual(pct.mutatingCalls(), [], "no pct push");
});

Deno.test("fileInContainer changes nothing when content and mode are as wanted", async () => {
  const pct = stepPct({ files: { "/etc/app.conf": { content: UNIT, mode: "0640" } } });
  const ctx = stepContext(pct);
  const step = fileInContainer({ path: "/etc/app.conf", content: UNIT, mode: "640" });
  assert.deepEqual(stepCounts(await runSteps([step], ctx, { dryRun: false })), {
    ran: 0,
    skipped: 1,
  });
  assert.deepEqual(pct.mutatingCalls(), []);
  assert.deepEqual(pct.execLines(), ["sha256sum /etc/app.conf", "stat -c %a /etc/app.conf"]);
});

Deno.test("fileInContainer rewrites a file whose content differs", async () => {
  const pct = stepPct({ files: { "/etc/app.conf": { content: "old\n" } } });
  const ctx = stepContext(pct);
  let changes = 0;
  const step = fileInContainer({
    path: "/etc/app.conf",
    content: () => "new\n",
    onChange: () => Promise.resolve(void changes++),
  });
  assert.equal(await step.check(ctx), false);
  // The mode is not asked when the content already differs.
  assert.deepEqual(pct.execLines(), ["sha256sum /etc/app.conf"]);
  await runSteps([step], ctx, { dryRun: false });
  assert.equal(filesOf(pct)["/etc/app.conf"]?.content, "new\n");
  assert.equal(changes, 1);
  pct.clearCalls();
  await runSteps([step], ctx, { dryRun: false });
  assert.equal(changes, 1, "onChange runs only when the file changed");
  assert.deepEqual(writes(pct), []);
});

Deno.test("fileInContainer fixes a wrong mode", async () => {
  const pct = stepPct({ files: { "/etc/app.conf": { content: UNIT, mode: "0666" } } });
  const ctx = stepContext(pct);
  const step = fileInContainer({ path: "/etc/app.conf", content: UNIT, mode: "0644" });
  assert.equal(await step.check(ctx), false);
  await runSteps([step], ctx, { dryRun: false });
  assert.deepEqual(filesOf(pct)["/etc/app.conf"], { content: UNIT, mode: "0644" });
});

Deno.test("fileInContainer replaces a symbolic link at its path with the file", async () => {
  const pct = stepPct({ files: { "/etc/app.conf": { content: "", symlink: "/etc/other" } } });
  await runSteps([fileInContainer({ path: "/etc/app.conf", content: UNIT })], stepContext(pct), {
    dryRun: false,
  });
  assert.deepEqual(filesOf(pct)["/etc/app.conf"], { content: UNIT, mode: "0644" });
  assert.equal(filesOf(pct)["/etc/other"], undefined, "nothing written where the link pointed");
});

Deno.test("a failed write says what the container said, never the content", async () => {
  const pct = stepPct({
    exec: [{ match: "^bash -c ", exit: 1, stderr: "cat: write error: No space left on device\n" }],
  });
  await assert.rejects(
    () =>
      fileInContainer({ path: "/etc/app.conf", content: "some content\n" }).action(
        stepContext(pct),
      ),
    (error: Error) => {
      assert.equal(
        error.message,
        "Cannot write /etc/app.conf in container 901 (exit code 1): cat: write error: No space " +
          "left on device",
      );
      return true;
    },
  );
});

Deno.test("a secret file's content is in no argv, no log line and no host file", async () => {
  const token = randomToken();
  const secret = `HF_TOKEN=${token}\n`;
  // Its own TMPDIR, empty: the shared one changes under other processes.
  const tmp = await Deno.makeTempDir();
  const tmpBefore = Deno.env.get("TMPDIR");
  Deno.env.set("TMPDIR", tmp);
  try {
    await writeSecretFile(token, secret);
    assert.deepEqual([...Deno.readDirSync(tmp)], [], "nothing was created on the host");
  } finally {
    if (tmpBefore === undefined) Deno.env.delete("TMPDIR");
    else Deno.env.set("TMPDIR", tmpBefore);
    await Deno.remove(tmp, { recursive: true });
  }
});

/** Writes `secret` with a secret file's step and checks it reached only the container's stdin. */
async function writeSecretFile(token: string, secret: string) {
  const pct = stepPct();
  const ctx = stepContext(pct, { settings: { token: secret } });
  const step = fileInContainer<{ token: string }>({
    path: "/etc/vllm/vllm.env",
    content: (c) => c.settings.token,
    secret: true,
  });
  assert.equal(step.name, "Write /etc/vllm/vllm.env (secret)");
  await runSteps([step], ctx, { dryRun: false });
  assert.deepEqual(filesOf(pct)["/etc/vllm/vllm.env"], { content: secret, mode: "0600" });
  for (const argv of pct.argvs()) assert.ok(!argv.join(" ").includes(token), argv.join(" "));
  for (const [, message] of ctx.log.entries) assert.ok(!message.includes(token), message);
  assert.deepEqual(writes(pct).map((write) => write.input), [secret], "only on stdin");
}

Deno.test("WRITE_FILE_SCRIPT run by a real bash: the file whole with its mode, a private temporary, nothing left on failure", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "phoenix_write_script_" });
  const run = async (args: string[], input: string) => {
    const child = new Deno.Command("bash", {
      args: ["-c", WRITE_FILE_SCRIPT, "bash", ...args],
      stdin: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(input));
    await writer.close();
    const output = await child.output();
    return { code: output.code, stderr: new TextDecoder().decode(output.stderr) };
  };
  const listing = (path: string) => [...Deno.readDirSync(path)].map((entry) => entry.name).sort();
  try {
    await t.step("a new file in a new directory", async () => {
      const path = join(dir, "etc", "vllm", "vllm.env");
      assert.equal((await run([join(dir, "etc", "vllm"), path, "0600"], "HF_TOKEN=x\n")).code, 0);
      assert.equal(Deno.readTextFileSync(path), "HF_TOKEN=x\n");
      assert.equal(Deno.statSync(path).mode! & 0o777, 0o600);
      // Made before the umask of the secret: the same mode as any directory mkdir makes.
      await new Deno.Command("mkdir", { args: [join(dir, "reference")] }).output();
      assert.equal(
        Deno.statSync(join(dir, "etc", "vllm")).mode! & 0o777,
        Deno.statSync(join(dir, "reference")).mode! & 0o777,
      );
      assert.deepEqual(listing(join(dir, "etc", "vllm")), ["vllm.env"], "no temporary left");
    });
    await t.step("an existing file replaced, with another mode", async () => {
      const path = join(dir, "app.conf");
      Deno.writeTextFileSync(path, "old\n", { mode: 0o600 });
      assert.equal((await run([dir, path, "0644"], "new\n")).code, 0);
      assert.equal(Deno.readTextFileSync(path), "new\n");
      assert.equal(Deno.statSync(path).mode! & 0o777, 0o644);
    });
    await t.step("a failure leaves the old file and no temporary", async () => {
      const path = join(dir, "kept.conf");
      Deno.writeTextFileSync(path, "old\n");
      const result = await run([dir, path, "not-a-mode"], "new\n");
      assert.equal(result.code, 1);
      assert.equal(Deno.readTextFileSync(path), "old\n");
      assert.ok(!listing(dir).some((name) => name.endsWith(".phoenix-new")), listing(dir).join());
    });
    await t.step("a directory that cannot be made fails before anything is written", async () => {
      const file = join(dir, "app.conf");
      const result = await run([join(file, "sub"), join(file, "sub", "x"), "0644"], "x");
      assert.equal(result.code, 1);
      assert.match(result.stderr, /mkdir/);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fileInContainer rejects relative paths and bad modes when the module is defined", () => {
  assert.throws(() => fileInContainer({ path: "etc/x", content: "" }), TypeError);
  assert.throws(() => fileInContainer({ path: "/etc/", content: "" }), TypeError);
  assert.throws(
    () => fileInContainer({ path: "/etc/x", content: "", mode: "rw-r--r--" }),
    /Cannot use file mode "rw-r--r--"/,
  );
  assert.equal(normalizeMode("644"), "0644");
  assert.equal(normalizeMode("0755"), "0755");
  assert.throws(() => normalizeMode("4755"), RangeError);
});

Deno.test("renderTemplate fills placeholders and refuses unknown ones", () => {
  assert.equal(renderTemplate("a={{a}} b={{ b }}\n", { a: "x", b: 2 }), "a=x b=2\n");
  assert.throws(() => renderTemplate("{{model}}", {}), /placeholder "\{\{model\}\}"/);
});

Deno.test("templateFile renders its content from the settings", async () => {
  const pct = stepPct();
  const ctx = stepContext(pct, { settings: { port: 8000 } });
  const step = templateFile<{ port: number }>({
    path: "/etc/app.conf",
    template: "port={{port}}\n",
    values: (settings) => ({ port: settings.port }),
  });
  await runSteps([step], ctx, { dryRun: false });
  assert.equal(filesOf(pct)["/etc/app.conf"]?.content, "port=8000\n");
});

Deno.test("symlinkInContainer links only when the link is missing or points elsewhere", async () => {
  const pct = stepPct();
  const ctx = stepContext(pct);
  const step = symlinkInContainer({ link: "/usr/local/bin/vllm", target: "/opt/vllm/bin/vllm" });
  await runSteps([step], ctx, { dryRun: false });
  assert.equal(filesOf(pct)["/usr/local/bin/vllm"]?.symlink, "/opt/vllm/bin/vllm");
  assert.ok(pct.execLines().includes("ln -sfn /opt/vllm/bin/vllm /usr/local/bin/vllm"));
  pct.clearCalls();
  assert.equal(await step.check(ctx), true);
  filesOf(pct)["/usr/local/bin/vllm"] = { content: "", symlink: "/elsewhere" };
  assert.equal(await step.check(ctx), false);
});
