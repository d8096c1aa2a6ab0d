import assert from "node:assert/strict";
import { CommandError } from "../../../lib/core/command_text.ts";
import { commandSucceeds } from "../../../lib/steps/commands.ts";
import { literally } from "../../fake_pct/in_memory.ts";
import { rejectsWith } from "../../support/assertions.ts";
import { stepContext, stepPct } from "../../support/step_container.ts";

Deno.test("commandSucceeds runs the command and logs what it prints, a few lines whole", async () => {
  const many = Array.from({ length: 8 }, (_, i) => `line ${i + 1}`).join("\n");
  const pct = stepPct({
    ctid: "900",
    exec: [
      { match: literally("jq --version"), stdout: "jq-1.7.1\n" },
      { match: literally("locale -a"), stdout: "C\nC.utf8\nen_US.utf8\nPOSIX\n" },
      { match: literally("dpkg -l"), stdout: `${many}\n` },
    ],
  });
  const ctx = stepContext(pct);
  const verification = commandSucceeds(["jq", "--version"]);
  assert.equal(verification.name, "jq --version runs");
  await verification.run(ctx);
  await commandSucceeds(["locale", "-a"]).run(ctx);
  await commandSucceeds(["dpkg", "-l"]).run(ctx);
  assert.deepEqual(pct.execLines(), ["jq --version", "locale -a", "dpkg -l"]);
  const said = ctx.log.messages("info").filter((line) => line.includes(" in container 900: "));
  assert.deepEqual(said, [
    "jq --version in container 900: jq-1.7.1",
    "locale -a in container 900: C; C.utf8; en_US.utf8; POSIX (4 lines)",
    "dpkg -l in container 900: line 1; line 2; line 3; line 4; line 5; line 6; ... (8 lines, " +
    "the first 6 shown; the log file has them all)",
  ]);
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
