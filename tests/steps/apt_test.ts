import assert from "node:assert/strict";
import { CommandError } from "../../lib/command.ts";
import { runSteps } from "../../lib/run_steps.ts";
import {
  APT_UPGRADE_STAMP,
  aptPackages,
  aptSourceFile,
  aptUpdateOnce,
  aptUpgrade,
} from "../../lib/steps/apt.ts";
import { FakeClock, FakeCt } from "./_support.ts";

const UPDATE = "env DEBIAN_FRONTEND=noninteractive apt-get update";
const install = (...packages: string[]) =>
  `env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${
    packages.join(" ")
  }`;

/** A container whose dpkg knows `installed`, and whose apt-get install adds to it. */
function aptCt(installed: string[] = []): FakeCt {
  const packages = new Set(installed);
  return new FakeCt()
    .on(/^dpkg-query -W -f=\$\{Status\}\\n /, (argv) => {
      const names = argv.slice(3);
      const missing = names.filter((name) => !packages.has(name));
      return {
        exitCode: missing.length ? 1 : 0,
        stdout: names.filter((n) => packages.has(n)).map(() => "install ok installed\n").join(""),
        stderr: missing.map((name) => `dpkg-query: no packages found matching ${name}\n`).join(""),
      };
    })
    .on(UPDATE)
    .on(/apt-get install -y --no-install-recommends /, (argv) => {
      argv.slice(argv.indexOf("--no-install-recommends") + 1).forEach((p) => packages.add(p));
      return {};
    });
}

Deno.test("aptPackages is done when dpkg-query says every package is installed", async () => {
  const ct = aptCt(["curl", "jq"]);
  const ctx = ct.context();
  assert.deepEqual(await runSteps([aptPackages(["curl", "jq"])], ctx, { dryRun: false }), {
    ran: 0,
    skipped: 1,
  });
  assert.deepEqual(ct.execs(), [["dpkg-query", "-W", "-f=${Status}\\n", "curl", "jq"]]);
});

Deno.test("aptPackages is not done when a package is missing or only has config files left", async () => {
  const ctx = aptCt(["curl"]).context();
  assert.equal(await aptPackages(["curl", "jq"]).check(ctx), false);
  const removed = new FakeCt().on(/^dpkg-query/, {
    stdout: "install ok installed\ndeinstall ok config-files\n",
  });
  assert.equal(await aptPackages(["curl", "jq"]).check(removed.context()), false);
});

Deno.test("aptPackages updates, installs noninteractively, and its check passes afterwards", async () => {
  const ct = aptCt(["curl"]);
  const ctx = ct.context();
  assert.deepEqual(await runSteps([aptPackages(["curl", "jq"])], ctx, { dryRun: false }), {
    ran: 1,
    skipped: 0,
  });
  assert.deepEqual(ct.execLines().filter((line) => line.includes("apt-get")), [
    UPDATE,
    install("curl", "jq"),
  ]);
  assert.deepEqual(ct.mutatingCalls(), []);
});

Deno.test("apt-get update runs once per run, however many package steps install", async () => {
  const ct = aptCt();
  const ctx = ct.context();
  await runSteps([aptPackages(["curl"]), aptPackages(["jq"])], ctx, { dryRun: false });
  assert.deepEqual(ct.execLines().filter((line) => line.includes("apt-get")), [
    UPDATE,
    install("curl"),
    install("jq"),
  ]);
  await runSteps([aptPackages(["git"])], ct.context(), { dryRun: false });
  assert.equal(ct.execLines().filter((line) => line === UPDATE).length, 2, "a new run updates");
});

Deno.test("a changed apt source makes the next package step update again", async () => {
  const ct = aptCt();
  const ctx = ct.context();
  const source = aptSourceFile({
    path: "/etc/apt/sources.list.d/example.list",
    content: "deb https://example.org/apt stable main\n",
  });
  await runSteps([aptPackages(["curl"]), source, aptPackages(["example-tool"])], ctx, {
    dryRun: false,
  });
  assert.deepEqual(ct.execLines().filter((line) => line.includes("apt-get")), [
    UPDATE,
    install("curl"),
    UPDATE,
    install("example-tool"),
  ]);
});

Deno.test("aptPackages retries a held dpkg lock with exponential backoff", async () => {
  const ct = aptCt().on(/apt-get install/, {
    exitCode: 100,
    stderr:
      "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 812 (apt-get)\n",
  }, 2);
  const clock = new FakeClock();
  const ctx = ct.context();
  await runSteps([aptPackages(["curl"], { clock, initialDelayMs: 1000 })], ctx, { dryRun: false });
  assert.equal(ct.execLines().filter((line) => line === install("curl")).length, 3);
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
  const ct = aptCt().on(UPDATE, {
    exitCode: 100,
    stderr: "E: Failed to fetch http://deb.debian.org/debian/dists/bookworm/InRelease  " +
      "Temporary failure resolving 'deb.debian.org'\n",
  }, 1);
  const clock = new FakeClock();
  await aptUpdateOnce(ct.context(), { clock });
  assert.deepEqual(clock.sleeps, [5000]);
  assert.equal(ct.execLines().filter((line) => line === UPDATE).length, 2);
});

Deno.test("aptPackages gives up after the attempts, quoting apt's last error", async () => {
  const ct = aptCt().on(/apt-get install/, {
    exitCode: 100,
    stderr: "E: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend)\n",
  });
  const clock = new FakeClock();
  const step = aptPackages(["curl"], {
    clock,
    attempts: 3,
    initialDelayMs: 10_000,
    maxDelayMs: 15_000,
  });
  await assert.rejects(() => step.action(ct.context()), (error: Error) => {
    assert.ok(error instanceof CommandError);
    assert.match(
      error.message,
      /^In container 901: apt-get install curl \(still failing after 3 attempts\) failed with exit code 100: E: Unable to acquire/,
    );
    return true;
  });
  assert.deepEqual(clock.sleeps, [10_000, 15_000]);
});

Deno.test("aptPackages does not retry a permanent error", async () => {
  const ct = aptCt().on(/apt-get install/, {
    exitCode: 100,
    stderr: "E: Unable to locate package nosuchpackage\n",
  });
  const clock = new FakeClock();
  await assert.rejects(
    () => aptPackages(["nosuchpackage"], { clock }).action(ct.context()),
    /apt-get install nosuchpackage failed with exit code 100: E: Unable to locate package/,
  );
  assert.deepEqual(clock.sleeps, []);
});

Deno.test("a failed apt-get update is not remembered: the next step tries again", async () => {
  const ct = aptCt().on(UPDATE, { exitCode: 100, stderr: "E: The repository is not signed.\n" }, 1);
  const ctx = ct.context();
  await assert.rejects(() => aptUpdateOnce(ctx), /not signed/);
  await aptUpdateOnce(ctx);
  await aptUpdateOnce(ctx);
  assert.equal(ct.execLines().filter((line) => line === UPDATE).length, 2);
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
  const ct = new FakeCt()
    .on(SIMULATE, () => ({
      stdout: upgraded
        ? "0 upgraded, 0 newly installed\n"
        : "Inst libc6 [2.36-9] (2.36-9+deb12u9)\n",
    }))
    .on(UPDATE)
    .on(/apt-get -y .* upgrade$/, () => {
      upgraded = true;
      return {};
    });
  const ctx = ct.context();
  const step = aptUpgrade();
  assert.equal(await step.check(ctx), false);
  await runSteps([step], ctx, { dryRun: false });
  assert.ok(ct.files.has(APT_UPGRADE_STAMP));
  assert.deepEqual(
    ct.execLines().filter((line) => line.includes("apt-get") && !line.includes(" -s ")),
    [
      UPDATE,
      "env DEBIAN_FRONTEND=noninteractive apt-get -y -o Dpkg::Options::=--force-confdef " +
      "-o Dpkg::Options::=--force-confold upgrade",
    ],
  );
});

Deno.test("aptUpgrade is not done without its stamp, even when the lists show nothing to do", async () => {
  const ct = new FakeCt().on(SIMULATE, { stdout: "0 upgraded\n" });
  assert.equal(await aptUpgrade().check(ct.context()), false);
  ct.files.set(APT_UPGRADE_STAMP, { content: "", mode: "0644" });
  assert.equal(await aptUpgrade().check(ct.context()), true);
  ct.on(SIMULATE, { stdout: "Inst openssl [3.0.15-1] (3.0.16-1)\n" });
  assert.equal(await aptUpgrade().check(ct.context()), false);
});
