import assert from "node:assert/strict";
import { defineContainer } from "../../lib/container_module.ts";
import { runSteps, runVerification } from "../../lib/run_steps.ts";
import {
  aptPackages,
  fileInContainer,
  gpuPassthrough,
  httpReady,
  restartIfActive,
  serviceEnabledAndRunning,
  systemdUnit,
} from "../../lib/steps/mod.ts";
import { FakeClock, FakeCt, HOST_FIXTURES } from "./_support.ts";

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

function world(): FakeCt {
  const state = { installed: false, loaded: "", enabled: false, active: false };
  return new FakeCt({ status: "stopped" })
    .on(
      /^dpkg-query/,
      () => (state.installed ? { stdout: "install ok installed\n" } : { exitCode: 1 }),
    )
    .on(/apt-get update$/)
    .on(/apt-get install/, () => {
      state.installed = true;
      return {};
    })
    .on(/^systemctl show --property=NeedDaemonReload/, (_, ct) => ({
      stdout: ct.files.get("/etc/systemd/system/serve.service")?.content === state.loaded
        ? "no"
        : "yes",
    }))
    .on("systemctl daemon-reload", (_, ct) => {
      state.loaded = ct.files.get("/etc/systemd/system/serve.service")?.content ?? "";
      return {};
    })
    .on(/^systemctl is-enabled/, () => ({ exitCode: state.enabled ? 0 : 1 }))
    .on(/^systemctl is-active/, () => ({ exitCode: state.active ? 0 : 3 }))
    .on(/^systemctl enable --now/, () => {
      state.enabled = state.active = true;
      return {};
    })
    .on(/^curl /, { stdout: "200" });
}

Deno.test("library steps compose into a module; a re-run makes no change", async () => {
  const ct = world();
  ct.status = "running";
  const settings = module.settings({} as never);
  const ctx = ct.context({ hostRoot: HOST_FIXTURES.gpu580, settings });
  assert.deepEqual(await runSteps(module.steps, ctx, { dryRun: false }), { ran: 5, skipped: 0 });
  await runVerification(module.verification, ctx);
  assert.deepEqual(ct.mutatingCalls().map((argv) => argv[0]), [
    "set",
    "shutdown",
    "start",
    "push",
    "push",
  ]);
  ct.clearCalls();
  const rerun = ct.context({ hostRoot: HOST_FIXTURES.gpu580, settings });
  assert.deepEqual(await runSteps(module.steps, rerun, { dryRun: false }), { ran: 0, skipped: 5 });
  assert.deepEqual(ct.mutatingCalls(), []);
  assert.deepEqual(
    ct.execLines().filter((line) => /apt-get|daemon-reload|restart|enable --now/.test(line)),
    [],
  );
  for (const argv of ct.argvs()) assert.ok(!argv.join(" ").includes(settings.token));
});
