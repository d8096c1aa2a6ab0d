/**
 * Composed container modules: the order of requirements and steps, each part's own settings,
 * what fits an entry, what the build chooses for an entry, and the run-time refusals (an entry
 * changed since the build; a missing certificate or key fingerprint before anything changed).
 */

import assert from "node:assert/strict";
import {
  chooseModule,
  composeContainer,
  composedModule,
  entryShape,
  misfit,
} from "../../../lib/catalog/composition.ts";
import { containerConfig, loadConfigFile } from "../../../lib/config/read_config.ts";
import type { Step } from "../../../lib/module/container_module.ts";
import { ConfigError, SetupError } from "../../../lib/core/errors.ts";
import { ExitCode } from "../../../lib/core/exit_codes.ts";
import { definePart } from "../../../lib/catalog/features/mod.ts";
import { runSteps } from "../../../lib/pattern/run_steps.ts";
import { InMemoryPct } from "../../fake_pct/in_memory.ts";
import { testContext } from "../../support/setup_context.ts";
import { InProcessContainer, simulationFor, testHost } from "../../containers/_composed.ts";
import { templateState } from "../../containers/_simulated_container.ts";

/** A step that records its part's settings when it runs. */
function recording(name: string, seen: string[]): Step<{ label: string }> {
  return {
    name,
    check: () => Promise.resolve(false),
    action: (ctx) => {
      seen.push(`${name} sees ${ctx.settings.label}`);
      return Promise.resolve();
    },
  };
}

Deno.test("composeContainer runs every requirement first, then each part's steps with its own settings", async () => {
  const seen: string[] = [];
  const part = (name: string) =>
    definePart({
      name,
      summary: name,
      reads: [],
      settings: () => ({ label: `${name}'s settings` }),
      requirements: [recording(`${name} requirement`, seen)],
      steps: [recording(`${name} step`, seen)],
      verification: [],
    });
  const module = composeContainer({
    ctid: "930",
    kind: "standard",
    features: [part("first")],
    application: part("second"),
  });
  // Steps whose check never passes: run through the step runner without its re-check.
  const ctx = testContext(new InMemoryPct().run, {
    settings: { first: { label: "first's settings" }, second: { label: "second's settings" } },
  });
  for (const step of module.steps) await step.action(ctx);
  assert.deepEqual(seen, [
    "first requirement sees first's settings",
    "second requirement sees second's settings",
    "first step sees first's settings",
    "second step sees second's settings",
  ]);
  assert.match(module.plan, /1\. part first: first\n {2}2\. part second: second/);
  assert.deepEqual(module.steps.map((step) => step.requirement ?? false), [
    true,
    true,
    false,
    false,
  ]);
  // The first step has to act, so the requirements are checked first: neither is met, and
  // both are said.
  await assert.rejects(runSteps(module.steps, ctx, { dryRun: false }), (error) => {
    assert.ok(error instanceof SetupError);
    assert.equal(
      error.message,
      'Step 2/4 "second requirement": the requirement is not met (1 more requirement is not ' +
        "met: see above)",
    );
    assert.equal(error.exitCode, ExitCode.HostPrerequisite);
    return true;
  });
  assert.deepEqual(ctx.log.messages("error"), [
    'Step 1/4 "first requirement": the requirement is not met',
  ]);
  assert.deepEqual(seen.length, 4, "no action ran");
});

Deno.test("entryShape: is_template decides, else template_snapshot_name; flag strings list no features", () => {
  assert.equal(
    entryShape({ is_template: false, template_snapshot_name: "x-snap" }).kind,
    "standard",
  );
  assert.equal(entryShape({ template_snapshot_name: "final-form" }).kind, "template");
  assert.equal(entryShape({}).kind, undefined);
  assert.deepEqual(entryShape({ features: "nesting=1,keyctl=1" }), {
    kind: undefined,
    features: [],
    listsFeatures: false,
    applications: [],
  });
  // A template layer's model is a placeholder for its clones: no server runs in it.
  assert.deepEqual(entryShape({ is_template: true, vllm_model: "/models/x" }).applications, []);
  assert.deepEqual(entryShape({ vllm_model: null }).applications, []);
});

Deno.test("misfit names what differs: kind, features, application", () => {
  const nine = { ctid: "900", kind: "template" as const, features: ["base_setup"] };
  assert.equal(misfit(nine, { features: ["base_setup"], is_template: true }, false), undefined);
  assert.deepEqual(misfit(nine, { is_template: false }, false), {
    field: ["is_template"],
    text: "the entry describes a standard (is_template: false), but this module sets up a template",
  });
  assert.match(
    misfit(nine, { features: ["base_setup", "docker"] }, false)!.text,
    /lists the features \["base_setup","docker"\], but this module sets up \["base_setup"\]/,
  );
  assert.match(
    misfit(nine, { vllm_model: "Qwen/Qwen2-7B-Instruct" }, false)!.text,
    /asks for the application vllm-server, but this module runs no application/,
  );
  const two = { ctid: "911", kind: "standard" as const, features: ["nvidia", "vllm"] };
  assert.equal(misfit(two, { features: ["vllm", "nvidia"] }, false), undefined);
  assert.match(misfit(two, { features: ["vllm", "nvidia"] }, true)!.text, /lists the features/);
});

async function configOf(entries: Record<string, unknown>, ctid: string) {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/phoenix_lxc_configs.json`;
  await Deno.writeTextFile(
    file,
    JSON.stringify(
      {
        nvidia_driver_version: "580.76.05",
        nvidia_runfile_url:
          "https://us.download.nvidia.com/XFree86/Linux-x86_64/580.76.05/NVIDIA-Linux-x86_64-580.76.05.run",
        lxc_configs: entries,
      },
      null,
      2,
    ),
  );
  return { file, dir, config: containerConfig(await loadConfigFile(file), ctid) };
}

Deno.test("chooseModule: composes, or names the CTID, the reason and what to do", async (t) => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    [
      "an unsupported feature",
      { features: ["base_setup", "step_ca"] },
      /feature "step_ca" not supported; write containers\/700\.ts/,
    ],
    [
      "an unsupported application script",
      { features: ["base_setup"], application_script: "x.sh" },
      /application_script x\.sh is not supported/,
    ],
    ["a server without its feature", {
      features: ["nvidia"],
      gpu_assignment: "0",
      vllm_model: "Qwen/Qwen2-7B-Instruct",
    }, /vllm-server needs the feature "vllm"/],
    [
      "two applications",
      { features: ["docker", "ollama"], portainer_role: "server" },
      /two applications \(ollama-server, portainer\)/,
    ],
    [
      "flag strings only",
      { features: "nesting=1" },
      /lists no features to compose from \(its features is a Proxmox flag string\)/,
    ],
    ["an entry the composed module refuses", {
      features: ["vllm"],
      gpu_assignment: "0",
      vllm_model: "a/b-MLX-4bit",
    }, /the composed module refuses the entry: .*is an MLX model/],
  ];
  for (const [name, entry, reason] of cases) {
    await t.step(name, async () => {
      const { config, dir } = await configOf({ "700": entry }, "700");
      const choice = chooseModule(config);
      assert.equal(choice.use, "skipped");
      assert.match((choice as { reason: string }).reason, reason);
      await Deno.remove(dir, { recursive: true });
    });
  }
  await t.step("a supported entry", async () => {
    const { config, dir } = await configOf({
      "700": { features: ["nvidia", "ollama"], gpu_assignment: "0", ports: ["11434:11434"] },
    }, "700");
    assert.deepEqual(chooseModule(config), {
      ctid: "700",
      use: "composed",
      composition: {
        ctid: "700",
        kind: "standard",
        features: ["nvidia", "ollama"],
        application: "ollama-server",
      },
    });
    await Deno.remove(dir, { recursive: true });
  });
});

Deno.test("a composed module refuses an entry whose features changed since the build (exit 2)", async () => {
  const module = composedModule({
    ctid: "700",
    kind: "standard",
    features: ["nvidia", "ollama"],
    application: "ollama-server",
  });
  const { config, dir } = await configOf({
    "700": { features: ["ollama", "nvidia"], gpu_assignment: "0" },
  }, "700");
  try {
    assert.throws(() => module.settings(config, {}), (e) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.exitCode, ExitCode.Config);
      assert.match(
        e.message,
        /lxc_configs\["700"\]\.features: the entry lists the features \["ollama","nvidia"\], but this module sets up \["nvidia","ollama"\]; the entry changed since this executable was built/,
      );
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

async function composedRun(
  entry: Record<string, unknown>,
  env: (e: Record<string, string>) => Record<string, string>,
  withCert = true,
) {
  const { file, dir } = await configOf({ "700": entry }, "700");
  const host = await testHost("580.76.05");
  if (!withCert) await Deno.remove(`${host.root}/etc/phoenix/phoenix_root_ca.crt`);
  const state = templateState("900");
  const container = await InProcessContainer.of({
    module: composedModule({
      ctid: "700",
      kind: "standard",
      features: entry.features as string[],
    }),
    configFile: file,
    hostRoot: host.root,
    env: env(host.env),
    cloned: { flags: state.flags!, files: state.files!, config: state.config! },
    simulation: simulationFor({}),
  });
  const run = await container.run();
  await host.cleanup();
  await Deno.remove(dir, { recursive: true });
  return { container, run };
}

Deno.test("trusted_ca: a missing certificate is exit 8, before anything changed", async () => {
  const { container, run } = await composedRun(
    { features: ["base_setup", "step_cli", "trusted_ca"] },
    (env) => env,
    false,
  );
  assert.ok(run.error instanceof SetupError);
  assert.equal(run.error.exitCode, ExitCode.HostPrerequisite);
  assert.match(
    run.error.message,
    /Cannot read the root CA certificate \/etc\/phoenix\/phoenix_root_ca\.crt on the host \(no such file\)/,
  );
  assert.deepEqual(container.changes(run.calls), []);
});

Deno.test("step_cli: without a pinned fingerprint the run stops with exit 2, before anything changed", async () => {
  const { container, run } = await composedRun(
    { features: ["base_setup", "step_cli"] },
    ({ PHOENIX_STEP_KEY_FINGERPRINT: _, ...env }) => env,
  );
  assert.ok(run.error instanceof SetupError);
  assert.equal(run.error.exitCode, ExitCode.Config);
  assert.match(run.error.message, /PHOENIX_STEP_KEY_FINGERPRINT is not set/);
  assert.deepEqual(container.changes(run.calls), []);
});

Deno.test("step_cli: a key with another fingerprint is not installed (exit 3)", async () => {
  const { container, run } = await composedRun(
    { features: ["base_setup", "step_cli"] },
    (env) => ({ ...env, PHOENIX_STEP_KEY_FINGERPRINT: "F".repeat(40) }),
  );
  assert.ok(run.error instanceof SetupError);
  assert.equal(run.error.exitCode, ExitCode.Step);
  assert.match(run.error.message, /smallstep's apt key has fingerprint .*not installed/);
  assert.ok(!container.state.flags.includes("step-key"));
  assert.ok(!container.state.files["/etc/apt/sources.list.d/smallstep.list"]);
});
