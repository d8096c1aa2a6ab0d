import assert from "node:assert/strict";
import { CommandError } from "../../../lib/core/command_text.ts";
import { commandSucceeds } from "../../../lib/steps/commands.ts";
import { literally } from "../../fake_pct/in_memory.ts";
import { rejectsWith } from "../../support/assertions.ts";
import { stepContext, stepPct } from "../../support/step_container.ts";

Deno.test("commandSucceeds runs the command and logs the first line it prints", async () => {
  const pct = stepPct({
    ctid: "900",
    exec: [{ match: literally("jq --version"), stdout: "jq-1.7.1\nmore\n" }],
  });
  const ctx = stepContext(pct);
  const verification = commandSucceeds(["jq", "--version"]);
  assert.equal(verification.name, "jq --version runs");
  await verification.run(ctx);
  assert.deepEqual(pct.execLines(), ["jq --version"]);
  assert.ok(ctx.log.messages("info").includes("jq --version in container 900: jq-1.7.1"));
});

Deno.test("commandSucceeds fails with the command's exit code and output", async () => {
  const pct = stepPct({
    exec: [{ match: literally("htop --version"), exit: 127, stderr: "htop: not found\n" }],
  });
  const error = await rejectsWith(
    commandSucceeds(["htop", "--version"]).run(stepContext(pct)),
    CommandError,
  );
  assert.equal(error.result.exitCode, 127);
  assert.match(error.message, /htop --version/);
});

Deno.test("commandSucceeds checks the output against expectOutput", async () => {
  const pct = stepPct({ exec: [{ match: literally("locale -a"), stdout: "C\nPOSIX\n" }] });
  const verification = commandSucceeds(["locale", "-a"], {
    name: "locale -a lists en_US.utf8",
    expectOutput: /^en_US\.utf-?8$/im,
  });
  assert.equal(verification.name, "locale -a lists en_US.utf8");
  await assert.rejects(
    () => verification.run(stepContext(pct)),
    /locale -a printed "C\\nPOSIX", which does not match \/\^en_US\\\.utf-\?8\$\/im/,
  );
  const listed = stepPct({ exec: [{ match: literally("locale -a"), stdout: "C\nen_US.utf8\n" }] });
  await verification.run(stepContext(listed));
});

Deno.test("commandSucceeds refuses an empty command when the module is defined", () => {
  assert.throws(() => commandSucceeds([]), TypeError);
});
