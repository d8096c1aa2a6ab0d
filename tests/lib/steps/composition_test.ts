import assert from "node:assert/strict";
import { defineContainer } from "../../../lib/module/container_module.ts";
import { runSteps, runVerification } from "../../../lib/pattern/run_steps.ts";
import {
  aptPackages,
  fileInContainer,
  gpuPassthrough,
  httpReady,
  restartIfActive,
  serviceEnabledAndRunning,
  systemdUnit,
} from "../../../lib/steps/mod.ts";
import { type InMemoryPct, literally } from "../../fake_pct/in_memory.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { HOST_FIXTURES } from "../../support/host_tree.ts";
import { stepContext, stepPct } from "../../support/step_container.ts";
import { stepCounts } from "../../support/assertions.ts";

/**
 * A module written the way a container module would be: with its settings type named once in
 * `defineContainer<Settings>`, every step's `ctx.settings` is typed without annotations.
 */
interface Settings {
  gpus: number[];
  unit: string;
  token: string;
}

const clock = new FakeClock();
const module = defineContainer<Settings>({
  ctid: "901",
  kind: "standard",
  description: "composition test",
  settings: () => ({
    gpus: [0],
    unit: "[Service]\nExecStart=/bin/serve\n",
    token: "hf_0123456789abcdefXYZ",
  }),
  steps: [
    gpuPassthrough((ctx) => ctx.settings.gpus),
    aptPackages(["curl"]),
    fileInContainer({
      path: "/etc/serve/env",
      content: (ctx) => `HF_TOKEN=${ctx.settings.token}\n`,
      secret: true,
      onChange: (ctx) => restartIfActive(ctx, "serve.service"),
    }),
    systemdUnit({ name: "serve.service", content: (ctx) => ctx.settings.unit }),
    serviceEnabledAndRunning("serve.service"),
  ],
  verification: [httpReady({ url: "http://localhost:8000/health", timeoutMs: 60_000, clock })],
});

/** A running container whose apt, systemd and service answer like the real ones. */
function world(): InMemoryPct {
  const state = { installed: false, loaded: "", enabled: false, active: false };
  const unit = "/etc/systemd/system/serve.service";
  return stepPct({
    exec: [
      {
        match: "^dpkg-query",
        reply: () => (state.installed ? { stdout: "install ok installed\n" } : { exit: 1 }),
      },
      { match: "apt-get update$" },
      {
        match: "apt-get install",
        reply: () => {
          state.installed = true;
          return {};
        },
      },
      {
        match: "^systemctl show --property=NeedDaemonReload",
        reply: (_, ct) => ({ stdout: ct.files[unit]?.content === state.loaded ? "no" : "yes" }),
      },
      {
        match: literally("systemctl daemon-reload"),
        reply: (_, ct) => {
          state.loaded = ct.files[unit]?.content ?? "";
          return {};
        },
      },
      { match: "^systemctl is-enabled", reply: () => ({ exit: state.enabled ? 0 : 1 }) },
      { match: "^systemctl is-active", reply: () => ({ exit: state.active ? 0 : 3 }) },
      {
        match: "^systemctl enable --now",
        reply: () => {
          state.enabled = state.active = true;
          return {};
        },
      },
      { match: "^curl ", stdout: "200" },
    ],
  });
}

Deno.test("library steps compose into a module; a re-run makes no change", async () => {
  const pct = world();
  const settings = module.settings({} as never, {});
  const ctx = stepContext(pct, { hostRoot: HOST_FIXTURES.gpu580, settings });
  assert.deepEqual(stepCounts(await runSteps(module.steps, ctx, { dryRun: false })), {
    ran: 5,
    skipped: 0,
  });
  await runVerification(module.verification, ctx);
  assert.deepEqual(pct.mutatingCalls().map((argv) => argv[0]), [
    "set",
    "shutdown",
    "start",
  ]);
  // Both files went in through pct exec's standard input.
  assert.deepEqual(
    pct.execLines().filter((line) => line.startsWith("bash -c ")).map((line) =>
      line.split(" ").slice(-2).join(" ")
    ),
    ["/etc/serve/env 0600", "/etc/systemd/system/serve.service 0644"],
  );
  pct.clearCalls();
  const rerun = stepContext(pct, { hostRoot: HOST_FIXTURES.gpu580, settings });
  assert.deepEqual(stepCounts(await runSteps(module.steps, rerun, { dryRun: false })), {
    ran: 0,
    skipped: 5,
  });
  assert.deepEqual(pct.mutatingCalls(), []);
  assert.deepEqual(
    pct.execLines().filter((line) => /apt-get|daemon-reload|restart|enable --now/.test(line)),
    [],
  );
  for (const argv of pct.argvs()) assert.ok(!argv.join(" ").includes(settings.token));
});
