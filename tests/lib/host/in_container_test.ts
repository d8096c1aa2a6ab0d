import assert from "node:assert/strict";
import { CommandError } from "../../../lib/core/command_text.ts";
import { InContainer } from "../../../lib/host/in_container.ts";
import { Pct } from "../../../lib/host/pct.ts";
import { type Answer, scriptedRunner } from "../../support/scripted_runner.ts";

function container(answer: (command: readonly string[]) => Answer = () => ({})) {
  // The command inside the container is what follows `pct exec 920 --`.
  const runner = scriptedRunner((argv) => answer(argv.slice(4)));
  return { runner, container: new InContainer(new Pct(runner.run), "920") };
}

Deno.test("InContainer.exec runs argv through pct exec <ctid> --, with its options", async () => {
  const { runner, container: ct } = container(() => ({ exitCode: 3, stdout: "o", stderr: "e" }));
  const result = await ct.exec(["ls", "-la", "/root"], { input: "x", timeoutMs: 10 });
  assert.equal(result.exitCode, 3);
  assert.deepEqual(runner.calls, [{
    argv: ["pct", "exec", "920", "--", "ls", "-la", "/root"],
    options: { input: "x", timeoutMs: 10 },
  }]);
  assert.equal(ct.ctid, "920");
});

Deno.test("InContainer.run returns the result of a command that succeeds", async () => {
  const { container: ct } = container(() => ({ stdout: "0.11.0\n" }));
  const result = await ct.run(["vllm", "--version"]);
  assert.equal(result.stdout, "0.11.0\n");
});

Deno.test("InContainer.run throws a CommandError marked as in-container", async () => {
  const { container: ct } = container(() => ({
    exitCode: 100,
    stderr: "E: Unable to locate package nope\n",
  }));
  await assert.rejects(ct.run(["apt-get", "install", "-y", "nope"]), (error) => {
    assert.ok(error instanceof CommandError);
    assert.equal(
      error.message,
      "In container 920: apt-get install -y nope failed with exit code 100: " +
        "E: Unable to locate package nope",
    );
    assert.equal(error.result.exitCode, 100);
    return true;
  });
});

Deno.test("InContainer.run quotes arguments with spaces in its message", async () => {
  const { container: ct } = container(() => ({ exitCode: 1 }));
  await assert.rejects(ct.run(["sh", "-c", "exit 1"]), {
    message: 'In container 920: sh -c "exit 1" failed with exit code 1',
  });
});

Deno.test("InContainer.succeeds tells exit 0 from anything else", async () => {
  const { container: ct } = container((command) => ({ exitCode: command[0] === "true" ? 0 : 1 }));
  assert.equal(await ct.succeeds(["true"]), true);
  assert.equal(await ct.succeeds(["false"]), false);
});

Deno.test("InContainer.output returns trimmed stdout and throws on failure", async () => {
  const { container: ct } = container((command) =>
    command[0] === "nvidia-smi"
      ? { stdout: "  580.76.05\n\n" }
      : { exitCode: 127, stderr: "not found\n" }
  );
  assert.equal(await ct.output(["nvidia-smi", "--query-gpu=driver_version"]), "580.76.05");
  await assert.rejects(ct.output(["nope"]), CommandError);
});

Deno.test("InContainer.runScript passes values as positional parameters, never in the script", async () => {
  const { runner, container: ct } = container();
  const value = "/opt/a b; rm -rf / $(id)";
  await ct.runScript('install -d -m 0755 "$1"', [value]);
  await ct.runScript("apt-get update");
  assert.deepEqual(runner.argvs(), [
    ["pct", "exec", "920", "--", "bash", "-c", 'install -d -m 0755 "$1"', "bash", value],
    ["pct", "exec", "920", "--", "bash", "-c", "apt-get update", "bash"],
  ]);
});

Deno.test("InContainer.runScript throws when the script fails", async () => {
  const { container: ct } = container(() => ({ exitCode: 2, stderr: "boom\n" }));
  await assert.rejects(ct.runScript("false"), {
    message: "In container 920: bash -c false bash failed with exit code 2: boom",
  });
});

Deno.test("InContainer.readFile returns the content, or undefined when cat fails", async () => {
  const { runner, container: ct } = container((command) =>
    command[1] === "/etc/hostname" ? { stdout: "BaseTemplateVLLM\n" } : {
      exitCode: 1,
      stderr: "cat: /nope: No such file or directory\n",
    }
  );
  assert.equal(await ct.readFile("/etc/hostname"), "BaseTemplateVLLM\n");
  assert.equal(await ct.readFile("/nope"), undefined);
  assert.deepEqual(runner.argvs()[0], ["pct", "exec", "920", "--", "cat", "/etc/hostname"]);
});
