import assert from "node:assert/strict";
import {
  decodeProbeArguments,
  encodeProbeOutput,
  parseProbeOutput,
  PROBE_SCRIPT,
  probeArguments,
} from "../../lib/probe_batch.ts";

/** Runs the batch script with real bash, as `pct exec` would in a container. */
async function runBatch(commands: string[][]) {
  const output = await new Deno.Command("bash", {
    args: ["-c", PROBE_SCRIPT, "bash", ...probeArguments(commands)],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  return parseProbeOutput(new TextDecoder().decode(output.stdout), commands.length);
}

Deno.test("the probe script reports each command's exit code, stdout and stderr, bytes intact", async () => {
  const results = await runBatch([
    ["printf", "two lines\n\n"],
    ["sh", "-c", "echo oops >&2; exit 3"],
    ["printf", "%s", "héllo"],
    ["true"],
  ]);
  assert.deepEqual(results, [
    { exitCode: 0, stdout: "two lines\n\n", stderr: "" },
    { exitCode: 3, stdout: "", stderr: "oops\n" },
    { exitCode: 0, stdout: "héllo", stderr: "" },
    { exitCode: 0, stdout: "", stderr: "" },
  ]);
});

Deno.test("the probe script never parses a value as shell syntax", async () => {
  const dangerous = `$(touch /tmp/probe-injected) ; rm -rf "x" 'y' \`id\``;
  const [result] = await runBatch([["printf", "%s", dangerous]]);
  assert.equal(result.stdout, dangerous);
  await assert.rejects(Deno.stat("/tmp/probe-injected"));
});

Deno.test("the probe script reports a missing command as exit 127 and goes on", async () => {
  const [missing, after] = await runBatch([["no-such-command-here"], ["echo", "after"]]);
  assert.equal(missing.exitCode, 127);
  assert.match(missing.stderr, /not found|No such file/);
  assert.deepEqual(after, { exitCode: 0, stdout: "after\n", stderr: "" });
});

Deno.test("probe commands survive the trip through the script's arguments", () => {
  const commands = [["cat", "/etc/a b"], ["x"], ["curl", "-w", "%{http_code}", ""]];
  assert.deepEqual(decodeProbeArguments(probeArguments(commands)), commands);
  assert.throws(() => decodeProbeArguments(["3", "a"]), SyntaxError);
});

Deno.test("parseProbeOutput refuses output of the wrong shape", () => {
  const one = encodeProbeOutput([{ exitCode: 0, stdout: "x", stderr: "" }]);
  assert.throws(() => parseProbeOutput(one, 2), SyntaxError);
  assert.throws(() => parseProbeOutput("zero eA== \n", 1), SyntaxError);
});
