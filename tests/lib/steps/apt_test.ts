import assert from "node:assert/strict";
import { CommandError } from "../../../lib/core/command_text.ts";
import { runSteps } from "../../../lib/pattern/run_steps.ts";
import {
  APT_UPGRADE_STAMP,
  aptPackages,
  aptSourceFile,
  aptUpdateOnce,
  aptUpgrade,
} from "../../../lib/steps/apt.ts";
import { type ExecRule, type InMemoryPct, literally } from "../../fake_pct/in_memory.ts";
import { rejectsWith, stepCounts } from "../../support/assertions.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { STEP_CTID, stepContext, stepPct } from "../../support/step_container.ts";

const UPDATE = "env DEBIAN_FRONTEND=noninteractive apt-get update";
const install = (...packages: string[]) =>
  `env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${
    packages.join(" ")
  }`;

/**
 * A container whose dpkg knows `installed`, and whose apt-get install adds to it; `first` are
 * exec rules that win over these.
 */
function aptCt(installed: string[] = [], first: ExecRule[] = []): InMemoryPct {
  const packages = new Set(installed);
  return stepPct({
    exec: [
      ...first,
      {
        match: /^dpkg-query -W -f=\$\{Status\}\\n /.source,
        reply: (argv) => {
          const names = argv.slice(3);
          const missing = names.filter((name) => !packages.has(name));
          return {
            exit: missing.length ? 1 : 0,
            stdout: names.filter((n) => packages.has(n)).map(() => "install ok installed\n")
              .join(""),
            stderr: missing.map((name) => `dpkg-query: no packages found matching ${name}\n`)
              .join(""),
          };
        },
      },
      { match: literally(UPDATE) },
      {
        match: "apt-get install -y --no-install-recommends ",
        reply: (argv) => {
          argv.slice(argv.indexOf("--no-install-recommends") + 1).forEach((p) => packages.add(p));
          return {};
        },
      },
    ],
  });
}

/** Makes `apt-get update` or `apt-get install` fail with `stderr`, `times` times (or always). */
function aptFails(command: "update" | "install", stderr: string, times?: number): ExecRule {
  return {
    match: command === "update" ? literally(UPDATE) : "apt-get install",
    exit: 100,
    stderr,
    times,
  };
}

Deno.test("aptPackages is done when dpkg-query says every package is installed", async () => {
  const pct = aptCt(["curl", "jq"]);
  const ctx = stepContext(pct);
  assert.deepEqual(
    stepCounts(await runSteps([aptPackages(["curl", "jq"])], ctx, { dryRun: false })),
    {
      ran: 0,
      skipped: 1,
    },
  );
  assert.deepEqual(pct.execs(), [["dpkg-query", "-W", "-f=${Status}\\n", "curl", "jq"]]);
});

Deno.test("aptPackages is not done when a package is missing or only has config files left", async () => {
  const ctx = stepContext(aptCt(["curl"]));
  assert.equal(await aptPackages(["curl", "jq"]).check(ctx), false);
  const removed = stepPct({
    exec: [{ match: "^dpkg-query", stdout: "install ok installed\ndeinstall ok config-files\n" }],
  });
  assert.equal(await aptPackages(["curl", "jq"]).check(stepContext(removed)), false);
});

Deno.test("aptPackages updates, installs noninteractively, and its check passes afterwards", async () => {
  const pct = aptCt(["curl"]);
  const ctx = stepContext(pct);
  assert.deepEqual(
    stepCounts(await runSteps([aptPackages(["curl", "jq"])], ctx, { dryRun: false })),
    {
      ran: 1,
      skipped: 0,
    },
  );
  assert.deepEqual(pct.execLines().filter((line) => line.includes("apt-get")), [
    UPDATE,
    install("curl", "jq"),
  ]);
  assert.deepEqual(pct.mutatingCalls(), []);
});

Deno.test("apt-get update runs once per run, however many package steps install", async () => {
  const pct = aptCt();
  const ctx = stepContext(pct);
  await runSteps([aptPackages(["curl"]), aptPackages(["jq"])], ctx, { dryRun: false });
  assert.deepEqual(pct.execLines().filter((line) => line.includes("apt-get")), [
    UPDATE,
    install("curl"),
    install("jq"),
  ]);
  await runSteps([aptPackages(["git"])], stepContext(pct), { dryRun: false });
  assert.equal(pct.execLines().filter((line) => line === UPDATE).length, 2, "a new run updates");
});

Deno.test("a changed apt source makes the next package step update again", async () => {
  const pct = aptCt();
  const ctx = stepContext(pct);
  const source = aptSourceFile({
    path: "/etc/apt/sources.list.d/example.list",
    content: "deb https://example.org/apt stable main\n",
  });
  await runSteps([aptPackages(["curl"]), source, aptPackages(["example-tool"])], ctx, {
    dryRun: false,
  });
  assert.deepEqual(pct.execLines().filter((line) => line.includes("apt-get")), [
    UPDATE,
    install("curl"),
    UPDATE,
    install("example-tool"),
  ]);
});

Deno.test("aptPackages retries a held dpkg lock with exponential backoff", async () => {
  const pct = aptCt([], [
    aptFails(
      "install",
      "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 812 (apt-get)\n",
      2,
    ),
  ]);
  const clock = new FakeClock();
  const ctx = stepContext(pct);
  await runSteps([aptPackages(["curl"], { clock, initialDelayMs: 1000 })], ctx, { dryRun: false });
  assert.equal(pct.execLines().filter((line) => line === install("curl")).length, 3);
  assert.deepEqual(clock.sleeps, [1000, 2000]);
  const warnings = ctx.log.messages("warn");
  assert.equal(warnings.length, 2);
  assert.match(
    warnings[0],
    /apt-get install curl failed in container 901 \(attempt 1 of 5: E: Could not get lock/,
  );
  assert.match(warnings[0], /retrying in 1 s$/);
});

Deno.test("apt-get update retries network failures too", async () => {
  const pct = aptCt([], [
    aptFails(
      "update",
      "E: Failed to fetch http://deb.debian.org/debian/dists/bookworm/InRelease  " +
        "Temporary failure resolving 'deb.debian.org'\n",
      1,
    ),
  ]);
  const clock = new FakeClock();
  await aptUpdateOnce(stepContext(pct), { clock });
  assert.deepEqual(clock.sleeps, [5000]);
  assert.equal(pct.execLines().filter((line) => line === UPDATE).length, 2);
});

Deno.test("apt-get update does not retry a file: source that is not there", async () => {
  // What apt says when a local repository's mount is missing (seen on a real Debian 12).
  const pct = aptCt([], [
    aptFails(
      "update",
      "E: Failed to fetch file:/srv/repo/./Packages  File not found - /srv/repo/./Packages " +
        "(2: No such file or directory)\n" +
        "E: Some index files failed to download. They have been ignored, or old ones used instead.\n",
    ),
  ]);
  const clock = new FakeClock();
  await assert.rejects(
    aptUpdateOnce(stepContext(pct), { clock }),
    /^CommandError: In container 901: apt-get update failed with exit code 100: E: Failed to fetch file:/,
  );
  assert.deepEqual(clock.sleeps, []);
  assert.equal(pct.execLines().filter((line) => line === UPDATE).length, 1);
});

Deno.test("aptPackages gives up after the attempts, quoting apt's last error", async () => {
  const pct = aptCt([], [
    aptFails(
      "install",
      "E: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend)\n",
    ),
  ]);
  const clock = new FakeClock();
  const step = aptPackages(["curl"], {
    clock,
    attempts: 3,
    initialDelayMs: 10_000,
    maxDelayMs: 15_000,
  });
  const error = await rejectsWith(step.action(stepContext(pct)), CommandError);
  assert.match(
    error.message,
    /^In container 901: apt-get install curl \(still failing after 3 attempts\) failed with exit code 100: E: Unable to acquire/,
  );
  assert.deepEqual(clock.sleeps, [10_000, 15_000]);
});

Deno.test("aptPackages does not retry a permanent error", async () => {
  const pct = aptCt([], [aptFails("install", "E: Unable to locate package nosuchpackage\n")]);
  const clock = new FakeClock();
  await assert.rejects(
    () => aptPackages(["nosuchpackage"], { clock }).action(stepContext(pct)),
    /apt-get install nosuchpackage failed with exit code 100: E: Unable to locate package/,
  );
  assert.deepEqual(clock.sleeps, []);
});

Deno.test("a failed apt-get update is not remembered: the next step tries again", async () => {
  const pct = aptCt([], [aptFails("update", "E: The repository is not signed.\n", 1)]);
  const ctx = stepContext(pct);
  await assert.rejects(() => aptUpdateOnce(ctx), /not signed/);
  await aptUpdateOnce(ctx);
  await aptUpdateOnce(ctx);
  assert.equal(pct.execLines().filter((line) => line === UPDATE).length, 2);
});

Deno.test("aptPackages rejects names that are not package names", () => {
  assert.throws(() => aptPackages([]), TypeError);
  assert.throws(() => aptPackages(["curl jq"]), /Cannot use apt package name "curl jq"/);
  assert.throws(() => aptPackages(["-y"]), TypeError);
  assert.throws(() => aptPackages(["curl=7.88"]), TypeError);
  assert.equal(aptPackages(["libc6:i386", "g++"]).name, "Install libc6:i386, g++");
});

const SIMULATE = "env LC_ALL=C apt-get -s -o Debug::NoLocking=1 upgrade";

Deno.test("aptUpgrade upgrades once and stamps, then its check passes", async () => {
  let upgraded = false;
  const pct = stepPct({
    exec: [
      {
        match: literally(SIMULATE),
        reply: () => ({
          stdout: upgraded
            ? "0 upgraded, 0 newly installed\n"
            : "Inst libc6 [2.36-9] (2.36-9+deb12u9)\n",
        }),
      },
      { match: literally(UPDATE) },
      {
        match: "apt-get -y .* upgrade$",
        reply: () => {
          upgraded = true;
          return {};
        },
      },
    ],
  });
  const ctx = stepContext(pct);
  const step = aptUpgrade();
  assert.equal(await step.check(ctx), false);
  await runSteps([step], ctx, { dryRun: false });
  assert.ok(APT_UPGRADE_STAMP in pct.container(STEP_CTID).files);
  assert.deepEqual(
    pct.execLines().filter((line) => line.includes("apt-get") && !line.includes(" -s ")),
    [
      UPDATE,
      "env DEBIAN_FRONTEND=noninteractive apt-get -y -o Dpkg::Options::=--force-confdef " +
      "-o Dpkg::Options::=--force-confold upgrade",
    ],
  );
});

Deno.test("aptUpgrade is not done without its stamp, even when the lists show nothing to do", async () => {
  let simulated = "0 upgraded\n";
  const pct = stepPct({
    exec: [{ match: literally(SIMULATE), reply: () => ({ stdout: simulated }) }],
  });
  assert.equal(await aptUpgrade().check(stepContext(pct)), false);
  pct.container(STEP_CTID).files[APT_UPGRADE_STAMP] = { content: "", mode: "0644" };
  assert.equal(await aptUpgrade().check(stepContext(pct)), true);
  simulated = "Inst openssl [3.0.15-1] (3.0.16-1)\n";
  assert.equal(await aptUpgrade().check(stepContext(pct)), false);
});
