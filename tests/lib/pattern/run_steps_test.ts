import assert from "node:assert/strict";
import { CommandError } from "../../../lib/core/command_text.ts";
import type { SetupContext, Step, Verification } from "../../../lib/module/container_module.ts";
import { SetupError } from "../../../lib/core/errors.ts";
import { ExitCode } from "../../../lib/core/exit_codes.ts";
import { runSteps, runVerification } from "../../../lib/pattern/run_steps.ts";
import { callSummary } from "../../fake_pct/calls.ts";
import { InMemoryPct } from "../../fake_pct/in_memory.ts";
import { rejectsWith, stepCounts } from "../../support/assertions.ts";
import { testContext } from "../../support/setup_context.ts";

type Ctx = SetupContext<undefined>;

/** A step that makes sure `path` exists in the container, the way a module would write it. */
function fileStep(name: string, path: string): Step<undefined> {
  return {
    name,
    check: (ctx) => ctx.container.succeeds(["test", "-e", path]),
    action: async (ctx) => void await ctx.container.run(["touch", path]),
  };
}

/** A step built from plain functions, recording what runs in `trace`. */
function fakeStep(
  name: string,
  trace: string[],
  check: (call: number) => boolean | Promise<boolean>,
  action: () => void | Promise<void> = () => {},
): Step<undefined> {
  let calls = 0;
  return {
    name,
    check: async () => {
      trace.push(`check ${name}`);
      return await check(++calls);
    },
    action: async () => {
      trace.push(`action ${name}`);
      await action();
    },
  };
}

function setup(files: string[] = []) {
  const model = new InMemoryPct({
    containers: {
      "920": {
        status: "running",
        files: Object.fromEntries(files.map((path) => [path, { content: "" }])),
      },
    },
  });
  return { model, ctx: testContext(model.run) };
}

const setupError = (promise: Promise<unknown>) => rejectsWith(promise, SetupError);

/** Log entries without the trailing `(12 ms)` of a verification's line, which varies. */
function withoutDurations(entries: readonly (readonly [string, string])[]) {
  return entries.map(([level, message]) => [level, message.replace(/ \(\d+ ms\)$/, "")]);
}

Deno.test("runSteps says what a check answered, and records each step's status", async () => {
  const model = new InMemoryPct({
    containers: { "920": { status: "running" } },
    exec: [
      {
        match: "^dpkg-query -W jq$",
        exit: 1,
        stderr: "dpkg-query: no packages found matching jq\n",
        times: 1,
      },
      { match: "^dpkg-query -W jq$" },
      { match: "^apt-get install -y jq$", stdout: "Setting up jq (1.7.1-3) ...\n" },
    ],
  });
  const ctx = testContext(model.run, { logCommands: true });
  await runSteps(
    [
      fileStep("Create a", "/etc/a"),
      {
        name: "Install jq",
        check: (c) => c.container.succeeds(["dpkg-query", "-W", "jq"]),
        action: async (c) => void await c.container.run(["apt-get", "install", "-y", "jq"]),
      },
    ],
    ctx,
    { dryRun: false },
  );
  const info = ctx.log.messages("info");
  assert.ok(
    info.includes(
      'Step 2/2 "Install jq": check: not done yet (dpkg-query: no packages found matching jq); running',
    ),
    info.join("\n"),
  );
  // The check's commands are not reported as failures: they are DEBUG, the verdict is INFO.
  assert.ok(!info.some((m) => m.includes("(exit 1")), info.join("\n"));
  assert.ok(info.some((m) => /^pct exec 920 -- apt-get install -y jq \(exit 0, \d+ ms\)$/.test(m)));
  assert.deepEqual(ctx.log.messages("output"), [
    "Step 2/2 stderr| dpkg-query: no packages found matching jq",
    "Step 2/2 | Setting up jq (1.7.1-3) ...",
  ]);
  assert.deepEqual(ctx.record.steps.map(({ name, status }) => [name, status]), [
    ["Create a", "ran"],
    ["Install jq", "ran"],
  ]);
  assert.deepEqual(ctx.record.commands.map((c) => [c.argv.slice(4).join(" "), c.check]), [
    ["test -e /etc/a", true],
    ["touch /etc/a", false],
    ["test -e /etc/a", true],
    ["dpkg-query -W jq", true],
    ["apt-get install -y jq", false],
    ["dpkg-query -W jq", true],
  ]);
});

Deno.test("runSteps skips steps whose check passes", async () => {
  const { model, ctx } = setup(["/etc/a", "/etc/b"]);
  const summary = await runSteps(
    [fileStep("Create a", "/etc/a"), fileStep("Create b", "/etc/b")],
    ctx,
    {
      dryRun: false,
    },
  );
  assert.deepEqual(stepCounts(summary), { ran: 0, skipped: 2 });
  assert.deepEqual(model.execs(), [["test", "-e", "/etc/a"], ["test", "-e", "/etc/b"]]);
  assert.deepEqual(ctx.log.entries, [
    ["info", 'Step 1/2 "Create a": check: already done, skipping'],
    ["info", 'Step 2/2 "Create b": check: already done, skipping'],
  ]);
});

Deno.test("runSteps runs a step that is not done, then checks it again", async () => {
  const { model, ctx } = setup(["/etc/a"]);
  const summary = await runSteps(
    [fileStep("Create a", "/etc/a"), fileStep("Create b", "/etc/b")],
    ctx,
    {
      dryRun: false,
    },
  );
  assert.deepEqual(stepCounts(summary), { ran: 1, skipped: 1 });
  assert.deepEqual(model.execs(), [
    ["test", "-e", "/etc/a"],
    ["test", "-e", "/etc/b"],
    ["touch", "/etc/b"],
    ["test", "-e", "/etc/b"],
  ]);
  assert.ok("/etc/b" in model.container("920").files);
  assert.equal(ctx.log.entries.length, 3);
  assert.deepEqual(ctx.log.entries[0], [
    "info",
    'Step 1/2 "Create a": check: already done, skipping',
  ]);
  assert.deepEqual(ctx.log.entries[1], [
    "info",
    'Step 2/2 "Create b": check: not done yet; running',
  ]);
  assert.equal(ctx.log.entries[2][0], "info");
  assert.match(ctx.log.entries[2][1], /^Step 2\/2 "Create b": done in \d+ ms$/);
});

Deno.test("runSteps runs steps strictly in order, each check before its action", async () => {
  const { ctx } = setup();
  const trace: string[] = [];
  const summary = await runSteps(
    [
      fakeStep("A", trace, (n) => n > 1),
      fakeStep("B", trace, () => true),
      fakeStep("C", trace, (n) => n > 1),
    ],
    ctx,
    { dryRun: false },
  );
  assert.deepEqual(stepCounts(summary), { ran: 2, skipped: 1 });
  assert.deepEqual(trace, [
    "check A",
    "action A",
    "check A",
    "check B",
    "check C",
    "action C",
    "check C",
  ]);
});

Deno.test("runSteps with no steps does nothing", async () => {
  const { model, ctx } = setup();
  assert.deepEqual(stepCounts(await runSteps([], ctx, { dryRun: false })), { ran: 0, skipped: 0 });
  assert.deepEqual(model.calls(), []);
  assert.deepEqual(ctx.log.entries, []);
});

Deno.test("runSteps fails with ExitCode.Step when the check still fails after the action", async () => {
  const { ctx } = setup();
  const trace: string[] = [];
  const error = await setupError(runSteps(
    [
      fakeStep("A", trace, () => true),
      fakeStep("Install vLLM", trace, () => false),
      fakeStep("C", trace, () => false),
    ],
    ctx,
    { dryRun: false },
  ));
  assert.equal(error.exitCode, ExitCode.Step);
  assert.equal(error.phase, 'step "Install vLLM"');
  assert.equal(
    error.message,
    'Step 2/3 "Install vLLM" ran without error but its check still fails',
  );
  assert.equal(error.cause, undefined);
  assert.deepEqual(trace, [
    "check A",
    "check Install vLLM",
    "action Install vLLM",
    "check Install vLLM",
  ]);
});

Deno.test("runSteps fails with ExitCode.Step when a check throws, before any action", async () => {
  const { ctx } = setup();
  const trace: string[] = [];
  const boom = new Error("pct exec timed out");
  const error = await setupError(runSteps(
    [
      fakeStep("Check GPU", trace, () => {
        throw boom;
      }),
    ],
    ctx,
    { dryRun: false },
  ));
  assert.equal(error.exitCode, ExitCode.Step);
  assert.equal(error.phase, 'step "Check GPU"');
  assert.equal(error.message, 'Step 1/1 "Check GPU": its check failed: pct exec timed out');
  assert.equal(error.cause, boom);
  assert.deepEqual(trace, ["check Check GPU"]);
});

Deno.test("runSteps fails with ExitCode.Step when the second check throws", async () => {
  const { ctx } = setup();
  const trace: string[] = [];
  const error = await setupError(runSteps(
    [
      fakeStep("A", trace, (n) => {
        if (n === 2) throw new Error("container vanished");
        return false;
      }),
    ],
    ctx,
    { dryRun: false },
  ));
  assert.equal(error.exitCode, ExitCode.Step);
  assert.equal(error.message, 'Step 1/1 "A": its check failed: container vanished');
  assert.deepEqual(trace, ["check A", "action A", "check A"]);
});

Deno.test("runSteps quotes a failed in-container command and stops there", async () => {
  const model = new InMemoryPct({
    containers: { "920": { status: "running" } },
    exec: [
      { match: "^apt-get ", exit: 100, stderr: "E: Unable to locate package jq\n" },
      { match: "^dpkg -s jq$", exit: 1 },
    ],
  });
  const ctx = testContext(model.run);
  const install: Step<undefined> = {
    name: "Install jq",
    check: (c) => c.container.succeeds(["dpkg", "-s", "jq"]),
    action: async (c) => void await c.container.run(["apt-get", "install", "-y", "jq"]),
  };
  const later: Step<undefined> = {
    name: "Later",
    check: () => Promise.reject(new Error("must not be reached")),
    action: () => Promise.resolve(),
  };
  const error = await setupError(runSteps([install, later], ctx, { dryRun: false }));
  assert.equal(error.exitCode, ExitCode.Step);
  assert.equal(error.phase, 'step "Install jq"');
  assert.equal(
    error.message,
    'Step 1/2 "Install jq" failed: In container 920: apt-get install -y jq failed with exit code ' +
      "100: E: Unable to locate package jq",
  );
  assert.ok(error.cause instanceof CommandError);
  assert.deepEqual(model.execs(), [["dpkg", "-s", "jq"], [
    "apt-get",
    "install",
    "-y",
    "jq",
  ]]);
});

Deno.test("runSteps keeps the exit code a step's own SetupError chose", async () => {
  const { ctx } = setup();
  const error = await setupError(runSteps(
    [
      fakeStep("Match the host driver", [], () => false, () => {
        throw new SetupError("The host has no NVIDIA driver", ExitCode.HostPrerequisite);
      }),
    ],
    ctx,
    { dryRun: false },
  ));
  assert.equal(error.exitCode, ExitCode.HostPrerequisite);
  assert.equal(error.phase, 'step "Match the host driver"');
  assert.equal(
    error.message,
    'Step 1/1 "Match the host driver" failed: The host has no NVIDIA driver',
  );
});

Deno.test("runSteps reports a thrown non-Error value as text", async () => {
  const { ctx } = setup();
  const error = await setupError(runSteps(
    [
      fakeStep("A", [], () => false, () => {
        throw "plain string";
      }),
    ],
    ctx,
    { dryRun: false },
  ));
  assert.equal(error.message, 'Step 1/1 "A" failed: plain string');
  assert.equal(error.exitCode, ExitCode.Step);
});

Deno.test("runSteps in a dry run checks, names the commands a step would run, and stops checking", async () => {
  const { model, ctx } = setup(["/etc/a"]);
  const summary = await runSteps(
    [
      fileStep("Create a", "/etc/a"),
      fileStep("Create b", "/etc/b"),
      fileStep("Create c", "/etc/c"),
    ],
    ctx,
    { dryRun: true },
  );
  assert.deepEqual(stepCounts(summary), { ran: 0, skipped: 1 });
  // Step 3 is not checked: its check would ask about a state step 2 has not made yet.
  assert.deepEqual(model.execs(), [["test", "-e", "/etc/a"], ["test", "-e", "/etc/b"]]);
  assert.deepEqual(Object.keys(model.container("920").files), ["/etc/a"]);
  assert.deepEqual(ctx.log.entries, [
    ["info", 'Step 1/3 "Create a": check: already done, skipping'],
    ["info", '[dry-run] Step 2/3 "Create b": check: not done yet; would run:'],
    ["info", "[dry-run]   pct exec 920 -- touch /etc/b"],
    [
      "info",
      '[dry-run] Step 3/3 "Create c": not checked: depends on step 2, which would run first',
    ],
  ]);
  assert.deepEqual(ctx.record.steps.map((step) => step.status), [
    "already-done",
    "would-run",
    "unchecked",
  ]);
});

Deno.test("a dry run's plan stops where the action needs a real answer, and says so", async () => {
  const { model, ctx } = setup();
  await runSteps(
    [{
      name: "Write and read back",
      check: () => Promise.resolve(false),
      action: async (c) => {
        await c.container.run(["mkdir", "-p", "/etc/x"]);
        if ((await c.container.readFile("/etc/x/y")) !== "content") throw new Error("not written");
        await c.container.run(["never-planned"]);
      },
    }],
    ctx,
    { dryRun: true },
  );
  assert.deepEqual(model.execs(), [], "nothing ran");
  assert.deepEqual(ctx.log.messages("info").slice(1), [
    "[dry-run]   pct exec 920 -- mkdir -p /etc/x",
    "[dry-run]   pct exec 920 -- cat /etc/x/y",
    "[dry-run]   ... and what follows from those commands' answers",
  ]);
});

Deno.test("runSteps in a dry run still fails when a check throws", async () => {
  const { ctx } = setup();
  const error = await setupError(runSteps(
    [
      fakeStep("A", [], () => {
        throw new Error("no answer");
      }),
    ],
    ctx,
    { dryRun: true },
  ));
  assert.equal(error.exitCode, ExitCode.Step);
  assert.equal(error.message, 'Step 1/1 "A": its check failed: no answer');
});

function verification(name: string, trace: string[], fail?: unknown): Verification<undefined> {
  return {
    name,
    run: (_ctx: Ctx) => {
      trace.push(name);
      return fail === undefined ? Promise.resolve() : Promise.reject(fail);
    },
  };
}

Deno.test("runVerification runs every check and logs each pass", async () => {
  const { ctx } = setup();
  const trace: string[] = [];
  await runVerification(
    [verification("vllm --version answers", trace), verification("b", trace)],
    ctx,
  );
  assert.deepEqual(trace, ["vllm --version answers", "b"]);
  assert.deepEqual(withoutDurations(ctx.log.entries), [
    ["info", 'Verification "vllm --version answers": passed'],
    ["info", 'Verification "b": passed'],
  ]);
});

Deno.test("runVerification fails with ExitCode.Verification at the first failure", async () => {
  const { ctx } = setup();
  const trace: string[] = [];
  const cause = new Error("GET /health answered 503");
  const error = await setupError(runVerification([
    verification("a", trace),
    verification("vLLM is healthy", trace, cause),
    verification("c", trace),
  ], ctx));
  assert.equal(error.exitCode, ExitCode.Verification);
  assert.equal(error.exitCode, 4);
  assert.equal(error.phase, 'verification "vLLM is healthy"');
  assert.equal(error.message, 'Verification "vLLM is healthy" failed: GET /health answered 503');
  assert.equal(error.cause, cause);
  assert.deepEqual(trace, ["a", "vLLM is healthy"]);
  assert.deepEqual(withoutDurations(ctx.log.entries), [["info", 'Verification "a": passed']]);
});

Deno.test("runVerification over a real in-container command quotes its output", async () => {
  const model = new InMemoryPct({
    containers: { "920": { status: "running" } },
    exec: [{ match: "^vllm --version$", exit: 127, stderr: "bash: vllm: command not found\n" }],
  });
  const ctx = testContext(model.run);
  const error = await setupError(runVerification([{
    name: "vllm --version answers",
    run: async (c) => void await c.container.run(["vllm", "--version"]),
  }], ctx));
  assert.equal(error.exitCode, ExitCode.Verification);
  assert.equal(
    error.message,
    'Verification "vllm --version answers" failed: In container 920: vllm --version failed ' +
      "with exit code 127: bash: vllm: command not found",
  );
});

Deno.test("runVerification with nothing to verify passes silently", async () => {
  const { ctx } = setup();
  await runVerification([], ctx);
  assert.deepEqual(ctx.log.entries, []);
});

// --- one round trip for the checks ---------------------------------------------------------------

/** {@linkcode fileStep} that declares its check's command as a probe. */
function probedFileStep(name: string, path: string): Step<undefined> {
  return { ...fileStep(name, path), probes: () => [["test", "-e", path]] };
}

Deno.test("runSteps: steps that are done, with probes, are checked in one pct exec with the verification's", async () => {
  const fake = new InMemoryPct({
    containers: {
      "920": { status: "running", files: { "/a": { content: "" }, "/b": { content: "" } } },
    },
  });
  const ctx = testContext(fake.run);
  const verification: Verification<undefined>[] = [{
    name: "/b is there",
    probes: () => [["test", "-e", "/b"]],
    run: async (ctx) => void await ctx.container.run(["test", "-e", "/b"]),
  }];
  const summary = await runSteps(
    [probedFileStep("A", "/a"), probedFileStep("B", "/b")],
    ctx,
    { dryRun: false, verification },
  );
  await runVerification(verification, ctx);
  assert.deepEqual(stepCounts(summary), { ran: 0, skipped: 2 });
  assert.equal(fake.argvs().length, 1, JSON.stringify(fake.argvs()));
});

Deno.test("runSteps: after an action the remaining checks are batched again, and a step without probes still works", async () => {
  const fake = new InMemoryPct({ containers: { "920": { status: "running" } } });
  const ctx = testContext(fake.run);
  const summary = await runSteps(
    [probedFileStep("A", "/a"), fileStep("B", "/b"), probedFileStep("C", "/c")],
    ctx,
    { dryRun: false },
  );
  assert.deepEqual(stepCounts(summary), { ran: 3, skipped: 0 });
  // A batch shows as the commands it ran; it runs at the first check that needs one of its
  // commands. B's check, undeclared, runs on its own and, not known to be read-only, makes C's
  // answers be asked for again; a batch of one command runs as the command itself.
  const calls = callSummary(fake.argvs());
  assert.deepEqual(calls, [
    "batch: test -e /a; test -e /c",
    "exec touch /a",
    "batch: test -e /a; test -e /c",
    "exec test -e /b",
    "exec touch /b",
    "exec test -e /b",
    "exec test -e /c",
    "exec touch /c",
    "exec test -e /c",
  ]);
  for (const path of ["/a", "/b", "/c"]) assert.ok(fake.container("920").files[path]);
});

// --- requirements: checked when they matter --------------------------------------------------------

/** A requirement (`Step.requirement`) whose check answers `met`, recording each check in `trace`. */
function requirement(name: string, trace: string[], met = true): Step<undefined> {
  return { ...fakeStep(name, trace, () => met), requirement: true };
}

Deno.test("runSteps leaves a requirement unchecked when no step has to change anything", async () => {
  const { ctx } = setup(["/a"]);
  const trace: string[] = [];
  const summary = await runSteps(
    [requirement("nesting=1", trace), fakeStep("A", trace, () => true)],
    ctx,
    { dryRun: false },
  );
  assert.deepEqual(trace, ["check A"]);
  assert.deepEqual(ctx.record.steps.map(({ name, status }) => [name, status]), [
    ["nesting=1", "not-needed"],
    ["A", "already-done"],
  ]);
  assert.deepEqual(ctx.log.messages("info"), [
    'Step 1/2 "nesting=1": a requirement: checked before the first change, if one is needed',
    'Step 2/2 "A": check: already done, skipping',
  ]);
  // A verification that passes leaves it so.
  await runVerification([verification("v", trace)], ctx, summary);
  assert.deepEqual(trace, ["check A", "v"]);
});

Deno.test("runSteps checks the requirements before the first step that has to act, once", async () => {
  const { ctx } = setup();
  const trace: string[] = [];
  await runSteps(
    [
      requirement("nesting=1", trace),
      fakeStep("A", trace, () => true),
      fakeStep("B", trace, (call) => call > 1),
      fakeStep("C", trace, (call) => call > 1),
    ],
    ctx,
    { dryRun: false },
  );
  assert.deepEqual(trace, [
    "check A",
    "check B",
    "check nesting=1",
    "action B",
    "check B",
    "check C",
    "action C",
    "check C",
  ]);
  assert.ok(
    ctx.log.messages("info").includes(
      "Checking the requirements left until needed, as step 3 has to run",
    ),
  );
  assert.equal(ctx.record.steps[0].status, "already-done");
});

Deno.test("runSteps: a requirement not met fails the run with exit 8 before any action", async () => {
  const { ctx } = setup();
  const trace: string[] = [];
  const error = await setupError(runSteps(
    [requirement("nesting=1", trace, false), fakeStep("A", trace, () => false)],
    ctx,
    { dryRun: false },
  ));
  assert.equal(error.exitCode, ExitCode.HostPrerequisite);
  assert.equal(error.message, 'Step 1/2 "nesting=1": the requirement is not met');
  assert.deepEqual(trace, ["check A", "check nesting=1"]);
  // The step whose check asked for the requirement never ran: only the requirement failed.
  assert.deepEqual(ctx.record.steps.map(({ status }) => status), ["failed", "not-run"]);
});

Deno.test("runSteps: every requirement not met is reported in the same run; steps not reached are not run", async () => {
  const { ctx } = setup();
  const trace: string[] = [];
  const driver: Step<undefined> = {
    ...requirement("driver", trace),
    check: () => Promise.reject(new SetupError("no NVIDIA driver", ExitCode.HostPrerequisite)),
  };
  const error = await setupError(runSteps(
    [
      driver,
      requirement("nesting=1", trace, false),
      requirement("keyctl=1", trace),
      fakeStep("A", trace, () => false),
      fakeStep("B", trace, () => false),
    ],
    ctx,
    { dryRun: false },
  ));
  assert.equal(error.exitCode, ExitCode.HostPrerequisite);
  assert.equal(
    error.message,
    'Step 2/5 "nesting=1": the requirement is not met (1 more requirement is not met: see above)',
  );
  assert.equal(error.phase, 'step "driver", step "nesting=1"');
  assert.deepEqual(ctx.log.messages("error"), [
    'Step 1/5 "driver": its check failed: no NVIDIA driver',
  ]);
  assert.deepEqual(trace, ["check A", "check nesting=1", "check keyctl=1"]);
  assert.deepEqual(ctx.record.steps.map(({ name, status }) => [name, status]), [
    ["driver", "failed"],
    ["nesting=1", "failed"],
    ["keyctl=1", "already-done"],
    ["A", "not-run"],
    ["B", "not-run"],
  ]);
});

Deno.test("runSteps: a pct failure while checking a requirement stops the checks, after saying those not met", async () => {
  const { ctx } = setup();
  const trace: string[] = [];
  const broken: Step<undefined> = {
    ...requirement("features", trace),
    check: () => Promise.reject(new Error("pct config 920 failed with exit code 255")),
  };
  const error = await setupError(runSteps(
    [
      requirement("nesting=1", trace, false),
      broken,
      requirement("driver", trace, false),
      fakeStep("A", trace, () => false),
    ],
    ctx,
    { dryRun: false },
  ));
  assert.equal(error.exitCode, ExitCode.Step);
  assert.match(error.message, /^Step 2\/4 "features": its check failed: pct config 920 failed/);
  assert.deepEqual(ctx.log.messages("error"), ['Step 1/4 "nesting=1": the requirement is not met']);
  assert.deepEqual(ctx.record.steps.map(({ status }) => status), [
    "failed",
    "failed",
    "not-needed",
    "not-run",
  ]);
});

Deno.test("runSteps: a failed check is explained by a requirement not met", async () => {
  const { ctx } = setup();
  const trace: string[] = [];
  const nesting: Step<undefined> = {
    ...requirement("nesting=1", trace),
    check: () => Promise.reject(new SetupError("no nesting=1", ExitCode.HostPrerequisite)),
  };
  const error = await setupError(runSteps(
    [nesting, fakeStep("A", trace, () => Promise.reject(new Error("docker: no answer")))],
    ctx,
    { dryRun: false },
  ));
  assert.equal(error.exitCode, ExitCode.HostPrerequisite);
  assert.equal(error.message, 'Step 1/2 "nesting=1": its check failed: no nesting=1');
});

Deno.test("runVerification: a failure first checks the requirements no step needed, which may explain it", async () => {
  const trace: string[] = [];
  const cause = new Error("docker run --rm hello-world failed");
  const run = async (met: boolean) => {
    const { ctx } = setup();
    const summary = await runSteps(
      [requirement("nesting=1", trace, met), fakeStep("A", trace, () => true)],
      ctx,
      { dryRun: false },
    );
    return setupError(runVerification([verification("hello", trace, cause)], ctx, summary));
  };
  const explained = await run(false);
  assert.equal(explained.exitCode, ExitCode.HostPrerequisite);
  assert.equal(explained.message, 'Step 1/2 "nesting=1": the requirement is not met');
  const unexplained = await run(true);
  assert.equal(unexplained.exitCode, ExitCode.Verification);
  assert.equal(unexplained.message, 'Verification "hello" failed: ' + cause.message);
  assert.deepEqual(trace, [
    "check A",
    "hello",
    "check nesting=1",
    "check A",
    "hello",
    "check nesting=1",
  ]);
});

Deno.test("runSteps in a dry run checks the requirements before the first step that would run", async () => {
  const { ctx } = setup();
  const trace: string[] = [];
  const error = await setupError(runSteps(
    [requirement("nesting=1", trace, false), fileStep("A", "/a")],
    ctx,
    { dryRun: true },
  ));
  assert.equal(error.exitCode, ExitCode.HostPrerequisite);
  assert.deepEqual(trace, ["check nesting=1"]);
});

Deno.test("runSteps: the verification's probes end each batch, and run only when every check succeeds", async () => {
  const fake = new InMemoryPct({ containers: { "920": { status: "running" } } });
  const ctx = testContext(fake.run);
  const verification: Verification<undefined>[] = [{
    name: "/a is there",
    probes: () => [["test", "-e", "/a"], ["cat", "/a"]],
    run: async (ctx) => void await ctx.container.run(["cat", "/a"]),
  }];
  await runSteps([probedFileStep("A", "/a"), probedFileStep("B", "/b")], ctx, {
    dryRun: false,
    verification,
  });
  await runVerification(verification, ctx);
  assert.deepEqual(callSummary(fake.argvs()), [
    // /a and /b are missing: the verification's commands do not run. (A command that a check
    // and the verification both ask runs once for each.)
    "batch: test -e /a; test -e /b; if all succeed: test -e /a; cat /a",
    "exec touch /a",
    // Done after the action, but /b is not: still not run, and B acts.
    "batch: test -e /a; test -e /b; if all succeed: test -e /a; cat /a",
    "exec touch /b",
    // The last check after its action: now they run, and answer the verification.
    "batch: test -e /b; if all succeed: test -e /a; cat /a",
  ]);
});
