import assert from "node:assert/strict";
import {
  decodeProbeArguments,
  encodeProbeOutput,
  parseProbeOutput,
  PROBE_SCRIPT,
  probeArguments,
} from "../../../lib/host/probe_batch.ts";

/** Runs the batch script with real bash, as `pct exec` would in a container. */
async function runBatch(checks: string[][], verifications: string[][] = []) {
  const batch = { checks, verifications };
  const output = await new Deno.Command("bash", {
    args: ["-c", PROBE_SCRIPT, "bash", ...probeArguments(batch)],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  return parseProbeOutput(new TextDecoder().decode(output.stdout), batch);
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

Deno.test("the probe script runs the verification's commands only when every check exited 0", async () => {
  const marker = await Deno.makeTempFile();
  await Deno.remove(marker);
  const verifications = [["touch", marker], ["echo", "verified"]];
  const skipped = await runBatch([["true"], ["false"], ["true"]], verifications);
  assert.deepEqual(skipped.map((r) => r.exitCode), [0, 1, 0]);
  await assert.rejects(Deno.stat(marker), "not run after a failed check");
  const all = await runBatch([["true"], ["true"]], verifications);
  assert.deepEqual(all.map((r) => [r.exitCode, r.stdout]), [[0, ""], [0, ""], [0, ""], [
    0,
    "verified\n",
  ]]);
  await Deno.remove(marker);
  const alone = await runBatch([], [["echo", "no checks"]]);
  assert.deepEqual(alone.map((r) => r.stdout), ["no checks\n"]);
});

Deno.test("probe commands survive the trip through the script's arguments", () => {
  const checks = [["cat", "/etc/a b"], ["x"], ["curl", "-w", "%{http_code}", ""]];
  const both = { checks, verifications: [["docker", "run", "--rm", "hello-world"]] };
  assert.deepEqual(decodeProbeArguments(probeArguments(both)), both);
  const only = { checks, verifications: [] };
  assert.deepEqual(probeArguments(only).includes("0"), false);
  assert.deepEqual(decodeProbeArguments(probeArguments(only)), only);
  assert.throws(() => decodeProbeArguments(["3", "a"]), SyntaxError);
  assert.throws(() => decodeProbeArguments(["1", "a", "0", "0"]), SyntaxError);
});

Deno.test("parseProbeOutput takes the checks' results, or every command's, and nothing else", () => {
  const line = { exitCode: 0, stdout: "x", stderr: "" };
  const batch = { checks: [["a"], ["b"]], verifications: [["c"]] };
  assert.equal(parseProbeOutput(encodeProbeOutput([line, line]), batch).length, 2);
  assert.equal(parseProbeOutput(encodeProbeOutput([line, line, line]), batch).length, 3);
  assert.throws(() => parseProbeOutput(encodeProbeOutput([line]), batch), SyntaxError);
  const two = { checks: [["a"], ["b"]], verifications: [] };
  assert.throws(() => parseProbeOutput(encodeProbeOutput([line]), two), SyntaxError);
  assert.throws(
    () => parseProbeOutput("zero eA== \n", { checks: [["a"]], verifications: [] }),
    SyntaxError,
  );
});
