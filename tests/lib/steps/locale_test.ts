import assert from "node:assert/strict";
import { runSteps } from "../../../lib/pattern/run_steps.ts";
import {
  enableLocaleLine,
  listedLocaleName,
  LOCALE_GEN,
  localeGenerated,
  localeGenLine,
} from "../../../lib/steps/locale.ts";
import type { ExecRule, FakeContainer } from "../../fake_pct/in_memory.ts";
import { STEP_CTID, stepContext, stepPct } from "../../support/step_container.ts";
import { stepCounts } from "../../support/assertions.ts";

const SHIPPED = "# This file lists locales that you wish to have built.\n" +
  "# de_DE.UTF-8 UTF-8\n# en_US ISO-8859-1\n# en_US.UTF-8 UTF-8\n";

/** `locale -a`: C, C.utf8, POSIX and the locales the container's `locale:` flags name. */
const localeList: ExecRule = {
  match: "^locale -a$",
  reply: (_argv, container: FakeContainer) => ({
    stdout: [
      "C",
      "C.utf8",
      "POSIX",
      ...container.flags.filter((f) => f.startsWith("locale:"))
        .map((f) => f.slice("locale:".length)),
    ].join("\n") + "\n",
  }),
};

/** Debian's locale-gen: ignores its arguments, generates what /etc/locale.gen lists. */
const debianLocaleGen: ExecRule = {
  match: "^locale-gen( |$)",
  reply: (_argv, container: FakeContainer) => {
    const text = container.files[LOCALE_GEN]?.content ?? "";
    for (const line of text.split("\n")) {
      const name = /^([^#\s]\S*)\s/.exec(line)?.[1];
      if (name) container.flags.push(`locale:${listedLocaleName(name)}`);
    }
    return { stdout: "Generating locales (this might take a while)...\nGeneration complete.\n" };
  },
};

/** Ubuntu's locale-gen: generates the locales it is given. */
const ubuntuLocaleGen: ExecRule = {
  match: "^locale-gen ",
  reply: (argv, container: FakeContainer) => {
    for (const name of argv.slice(1)) container.flags.push(`locale:${listedLocaleName(name)}`);
    return { stdout: "Generation complete.\n" };
  },
};

for (const [os, localeGen] of [["Debian", debianLocaleGen], ["Ubuntu", ubuntuLocaleGen]] as const) {
  Deno.test(`localeGenerated generates en_US.UTF-8 on ${os} and enables it in locale.gen`, async () => {
    const pct = stepPct({
      files: { [LOCALE_GEN]: { content: SHIPPED, mode: "0644" } },
      exec: [localeList, localeGen],
    });
    const ctx = stepContext(pct);
    const step = localeGenerated("en_US.UTF-8");
    assert.equal(step.name, "Generate the en_US.UTF-8 locale");
    assert.equal(await step.check(ctx), false);
    assert.deepEqual(stepCounts(await runSteps([step], ctx, { dryRun: false })), {
      ran: 1,
      skipped: 0,
    });
    assert.ok(pct.container(STEP_CTID).flags.includes("locale:en_US.utf8"));
    assert.equal(
      pct.container(STEP_CTID).files[LOCALE_GEN].content,
      SHIPPED.replace("# en_US.UTF-8 UTF-8", "en_US.UTF-8 UTF-8"),
    );
    assert.ok(pct.execLines().includes("locale-gen en_US.UTF-8"));

    // Done: a second run only checks.
    const before = pct.mutatingCalls().length;
    assert.deepEqual(stepCounts(await runSteps([step], ctx, { dryRun: false })), {
      ran: 0,
      skipped: 1,
    });
    assert.equal(pct.mutatingCalls().length, before);
  });
}

Deno.test("localeGenerated regenerates when locale.gen lacks the line, though locale -a lists it", async () => {
  // Generated once by hand (Ubuntu's way), but Debian's next regeneration would drop it.
  const pct = stepPct({
    flags: ["locale:en_US.utf8"],
    files: { [LOCALE_GEN]: { content: SHIPPED, mode: "0644" } },
    exec: [localeList, debianLocaleGen],
  });
  const ctx = stepContext(pct);
  const step = localeGenerated("en_US.UTF-8");
  assert.equal(await step.check(ctx), false);
  await runSteps([step], ctx, { dryRun: false });
  assert.match(pct.container(STEP_CTID).files[LOCALE_GEN].content, /^en_US\.UTF-8 UTF-8$/m);
});

Deno.test("localeGenerated fails when locale-gen generates nothing", async () => {
  const pct = stepPct({
    files: { [LOCALE_GEN]: { content: SHIPPED, mode: "0644" } },
    exec: [localeList, { match: "^locale-gen ", stdout: "Generation complete.\n" }],
  });
  const ctx = stepContext(pct);
  await assert.rejects(runSteps([localeGenerated("en_US.UTF-8")], ctx, { dryRun: false }));
});

Deno.test("localeGenerated refuses a name that is not a locale", () => {
  assert.throws(() => localeGenerated("en_US.UTF-8; rm -rf /"), TypeError);
  assert.throws(() => localeGenerated(""), TypeError);
});

Deno.test("enableLocaleLine uncomments the locale's line, or appends it, and keeps the rest", () => {
  const line = "en_US.UTF-8 UTF-8";
  assert.equal(
    enableLocaleLine("# de_DE.UTF-8 UTF-8\n#  en_US.UTF-8 UTF-8\n", line),
    "# de_DE.UTF-8 UTF-8\nen_US.UTF-8 UTF-8\n",
  );
  assert.equal(enableLocaleLine("# en_US ISO-8859-1\n", line), `# en_US ISO-8859-1\n${line}\n`);
  assert.equal(enableLocaleLine(undefined, line), `${line}\n`);
  assert.equal(enableLocaleLine("", line), `${line}\n`);
  const enabled = `C.UTF-8 UTF-8\n${line}\n`;
  assert.equal(enableLocaleLine(enabled, line), enabled, "already enabled: unchanged");
});

Deno.test("localeGenLine and listedLocaleName name the locale as locale.gen and locale -a do", () => {
  assert.equal(localeGenLine("en_US.UTF-8"), "en_US.UTF-8 UTF-8");
  assert.equal(localeGenLine("de_DE"), "de_DE ISO-8859-1");
  assert.equal(listedLocaleName("en_US.UTF-8"), "en_US.utf8");
  assert.equal(listedLocaleName("sr_RS.UTF-8@latin"), "sr_RS.utf8@latin");
  assert.equal(listedLocaleName("de_DE"), "de_DE");
});
