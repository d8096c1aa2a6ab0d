import assert from "node:assert/strict";
import { checkContainerExists } from "../../../lib/host/container_exists.ts";
import { InvalidInputError } from "../../../lib/core/errors.ts";
import { ExitCode } from "../../../lib/core/exit_codes.ts";
import { Pct } from "../../../lib/host/pct.ts";
import { InMemoryPct } from "../../fake_pct/in_memory.ts";
import { rejectsWith } from "../../support/assertions.ts";
import { scriptedRunner } from "../../support/scripted_runner.ts";

async function invalidInput(promise: Promise<unknown>): Promise<InvalidInputError> {
  const error = await rejectsWith(promise, InvalidInputError);
  assert.equal(error.exitCode, ExitCode.InvalidInput);
  assert.equal(error.phase, "container check");
  return error;
}

Deno.test("checkContainerExists returns the status with one pct status call", async () => {
  const model = new InMemoryPct({
    containers: { "920": { status: "running" }, "950": { status: "stopped" } },
  });
  const pct = new Pct(model.run);
  assert.equal(await checkContainerExists(pct, "920"), "running");
  assert.equal(await checkContainerExists(pct, "950"), "stopped");
  assert.deepEqual(model.argvs(), [["status", "920"], ["status", "950"]]);
});

Deno.test("checkContainerExists reports a missing container quoting pct", async () => {
  const model = new InMemoryPct();
  const error = await invalidInput(checkContainerExists(new Pct(model.run), "920"));
  assert.equal(
    error.message,
    "Container 920 does not exist or pct cannot reach it: pct said: Configuration file " +
      "'nodes/pve/lxc/920.conf' does not exist. Create the container first (the orchestrator " +
      "does), then run this again",
  );
});

Deno.test("checkContainerExists falls back to stdout, then to the exit code", async () => {
  const withStdout = scriptedRunner(() => ({ exitCode: 13, stdout: "permission denied\n" }));
  assert.match(
    (await invalidInput(checkContainerExists(new Pct(withStdout.run), "920"))).message,
    /pct said: permission denied\. /,
  );
  const silent = scriptedRunner(() => ({ exitCode: 13 }));
  assert.match(
    (await invalidInput(checkContainerExists(new Pct(silent.run), "920"))).message,
    /pct said: exit code 13\. /,
  );
});

Deno.test("checkContainerExists quotes an answer pct status should never give", async () => {
  const odd = scriptedRunner(() => ({ stdout: "status: paused\n" }));
  assert.match(
    (await invalidInput(checkContainerExists(new Pct(odd.run), "920"))).message,
    /pct said: unexpected answer "status: paused"\. /,
  );
});

Deno.test("checkContainerExists lets an error that is not pct's through", async () => {
  const broken = new Pct(() => Promise.reject(new TypeError("runner bug")));
  await assert.rejects(checkContainerExists(broken, "920"), {
    name: "TypeError",
    message: "runner bug",
  });
});
