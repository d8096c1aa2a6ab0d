import assert from "node:assert/strict";
import { runSteps } from "../../lib/run_steps.ts";
import {
  fileInContainer,
  normalizeMode,
  renderTemplate,
  symlinkInContainer,
  templateFile,
} from "../../lib/steps/files.ts";
import type { InMemoryPct } from "../fake_pct/in_memory.ts";
import { STEP_CTID, stepContext, stepPct } from "../support/step_container.ts";

const UNIT = "[Service]\nExecStart=/bin/true\n";

/** The files of the step test's container. */
const filesOf = (pct: InMemoryPct) => pct.container(STEP_CTID).files;

Deno.test("fileInContainer writes a missing file, and its check passes afterwards", async () => {
  const pct = stepPct();
  const ctx = stepContext(pct);
  const step = fileInContainer({ path: "/etc/app/app.conf", content: UNIT });
  assert.equal(step.name, "Write /etc/app/app.conf");
  assert.equal(await step.check(ctx), false);
  const summary = await runSteps([step], ctx, { dryRun: false });
  assert.deepEqual(summary, { ran: 1, skipped: 0 });
  assert.deepEqual(filesOf(pct)["/etc/app/app.conf"], { content: UNIT, mode: "0644" });
  assert.ok(pct.execLines().includes("mkdir -p /etc/app"));
  const pushes = pct.mutatingCalls();
  assert.equal(pushes.length, 1);
  assert.deepEqual([pushes[0][0], pushes[0][1], pushes[0][3], pushes[0][4], pushes[0][5]], [
    "push",
    "901",
    "/etc/app/app.conf",
    "--perms",
    "0644",
  ]);
});

Deno.test("fileInContainer changes nothing when content and mode are as wanted", async () => {
  const pct = stepPct({ files: { "/etc/app.conf": { content: UNIT, mode: "0640" } } });
  const ctx = stepContext(pct);
  const step = fileInContainer({ path: "/etc/app.conf", content: UNIT, mode: "640" });
  assert.deepEqual(await runSteps([step], ctx, { dryRun: false }), { ran: 0, skipped: 1 });
  assert.deepEqual(pct.mutatingCalls(), []);
  assert.deepEqual(pct.execLines(), ["cat /etc/app.conf", "stat -c %a /etc/app.conf"]);
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
  assert.deepEqual(pct.execLines(), ["cat /etc/app.conf"]);
  await runSteps([step], ctx, { dryRun: false });
  assert.equal(filesOf(pct)["/etc/app.conf"]?.content, "new\n");
  assert.equal(changes, 1);
  pct.clearCalls();
  await runSteps([step], ctx, { dryRun: false });
  assert.equal(changes, 1, "onChange runs only when the file changed");
  assert.deepEqual(pct.mutatingCalls(), []);
});

Deno.test("fileInContainer fixes a wrong mode, also when pct push ignores --perms", async () => {
  const pct = stepPct({ files: { "/etc/app.conf": { content: UNIT, mode: "0666" } } }, {
    // The replaced file keeps its mode, whatever --perms says.
    onPush: ({ state, ctid, destination }) => {
      state.containers[ctid].files[destination].mode = "0666";
    },
  });
  const ctx = stepContext(pct);
  const step = fileInContainer({ path: "/etc/app.conf", content: UNIT, mode: "0644" });
  assert.equal(await step.check(ctx), false);
  await runSteps([step], ctx, { dryRun: false });
  assert.equal(filesOf(pct)["/etc/app.conf"]?.mode, "0644");
  assert.ok(pct.execLines().includes("chmod 0644 /etc/app.conf"));
});

Deno.test("fileInContainer fails clearly when pct push exits 0 but wrote nothing", async () => {
  const pct = stepPct();
  pct.failNext("push", { exit: 0, stderr: "failed to write /etc/app.conf: No space left" });
  const ctx = stepContext(pct);
  const step = fileInContainer({ path: "/etc/app.conf", content: "some content\n" });
  await assert.rejects(
    () => step.action(ctx),
    (error: Error) => {
      assert.match(
        error.message,
        /pct push reported success, but \/etc\/app\.conf in container 901/,
      );
      assert.match(error.message, /it cannot be read/);
      assert.doesNotMatch(error.message, /some content/);
      return true;
    },
  );
});

Deno.test("fileInContainer names the size difference when the file read back differs", async () => {
  const pct = stepPct({ files: { "/etc/app.conf": { content: "stale", mode: "0644" } } });
  pct.failNext("push", { exit: 0, stderr: "failed to write /etc/app.conf: No space left" });
  await assert.rejects(
    () => fileInContainer({ path: "/etc/app.conf", content: "fresh!\n" }).action(stepContext(pct)),
    /holds 5 bytes instead of 7/,
  );
});

Deno.test("a secret file's content is in no argv and no log line; the host copy is private and removed", async () => {
  const secret = "HF_TOKEN=hf_abcdefghijklmnopqrstuvwxyz0123\n";
  const pushed: string[] = [];
  const pct = stepPct({}, {
    onPush: async ({ hostFile }) => {
      pushed.push(hostFile);
      assert.equal((await Deno.stat(hostFile)).mode! & 0o777, 0o600);
      assert.equal(
        (await Deno.stat(hostFile.slice(0, hostFile.lastIndexOf("/")))).mode! & 0o777,
        0o700,
      );
    },
  });
  const ctx = stepContext(pct, { settings: { token: secret } });
  const step = fileInContainer<{ token: string }>({
    path: "/etc/vllm/vllm.env",
    content: (c) => c.settings.token,
    secret: true,
  });
  assert.equal(step.name, "Write /etc/vllm/vllm.env (secret)");
  await runSteps([step], ctx, { dryRun: false });
  assert.deepEqual(filesOf(pct)["/etc/vllm/vllm.env"], { content: secret, mode: "0600" });
  const token = "hf_abcdefghijklmnopqrstuvwxyz0123";
  for (const argv of pct.argvs()) assert.ok(!argv.join(" ").includes(token), argv.join(" "));
  for (const [, message] of ctx.log.entries) assert.ok(!message.includes(token), message);
  assert.equal(pushed.length, 1);
  await assert.rejects(() => Deno.stat(pushed[0]), Deno.errors.NotFound);
  await assert.rejects(
    () => Deno.stat(pushed[0].slice(0, pushed[0].lastIndexOf("/"))),
    Deno.errors.NotFound,
  );
});

Deno.test("the host copy is removed even when pct push fails", async () => {
  const pushed: string[] = [];
  const pct = stepPct({}, { onPush: ({ hostFile }) => void pushed.push(hostFile) });
  pct.failNext("push", { stderr: "failed to open /etc/x: Permission denied" });
  await assert.rejects(
    () => fileInContainer({ path: "/etc/x", content: "x" }).action(stepContext(pct)),
    /pct push 901 .* failed with exit code 255: failed to open \/etc\/x: Permission denied/,
  );
  assert.equal(pushed.length, 1);
  await assert.rejects(() => Deno.stat(pushed[0]), Deno.errors.NotFound);
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
