import assert from "node:assert/strict";
import { runSteps } from "../../../lib/pattern/run_steps.ts";
import { fileInContainer } from "../../../lib/steps/files.ts";
import {
  restartIfActive,
  serviceEnabledAndRunning,
  systemdUnit,
} from "../../../lib/steps/systemd.ts";
import { type InMemoryPct, literally } from "../../fake_pct/in_memory.ts";
import { STEP_CTID, stepContext, stepPct } from "../../support/step_container.ts";
import { stepCounts } from "../../support/assertions.ts";

const PATH = "/etc/systemd/system/vllm.service";
const UNIT = "[Service]\nExecStart=/opt/vllm/bin/vllm serve m\n";

/**
 * A container with systemd: the unit loaded from `PATH` is what was there at the last
 * daemon-reload; `active` says whether vllm.service runs.
 */
function systemdCt(
  options: { unit?: string; loaded?: string; active?: boolean; enabled?: boolean },
) {
  const state = {
    loaded: options.loaded ?? options.unit,
    active: options.active ?? false,
    enabled: options.enabled ?? false,
  };
  const pct = stepPct({
    files: options.unit ? { [PATH]: { content: options.unit } } : {},
    exec: [
      {
        match: literally("systemctl show --property=NeedDaemonReload --value vllm.service"),
        reply: (_, c) => ({ stdout: c.files[PATH]?.content === state.loaded ? "no\n" : "yes\n" }),
      },
      {
        match: literally("systemctl daemon-reload"),
        reply: (_, c) => {
          state.loaded = c.files[PATH]?.content;
          return {};
        },
      },
      {
        match: literally("systemctl is-active --quiet vllm.service"),
        reply: () => ({ exit: state.active ? 0 : 3 }),
      },
      {
        match: literally("systemctl is-enabled --quiet vllm.service"),
        reply: () => ({ exit: state.enabled ? 0 : 1 }),
      },
      { match: literally("systemctl restart vllm.service") },
      {
        match: literally("systemctl enable --now vllm.service"),
        reply: () => {
          state.enabled = state.active = true;
          return {};
        },
      },
    ],
  });
  return { pct, state };
}

const systemctl = (pct: InMemoryPct) =>
  pct.execLines().filter((line) => /^systemctl (daemon-reload|restart|enable)/.test(line));

Deno.test("systemdUnit writes a new unit and reloads, without starting a stopped service", async () => {
  const { pct } = systemdCt({});
  const ctx = stepContext(pct);
  const step = systemdUnit({ name: "vllm.service", content: UNIT });
  assert.equal(step.name, "Install the systemd unit vllm.service");
  assert.deepEqual(stepCounts(await runSteps([step], ctx, { dryRun: false })), {
    ran: 1,
    skipped: 0,
  });
  assert.deepEqual(pct.container(STEP_CTID).files[PATH], { content: UNIT, mode: "0644" });
  assert.deepEqual(systemctl(pct), ["systemctl daemon-reload"]);
});

Deno.test("systemdUnit changes nothing when the unit is written and loaded", async () => {
  const { pct } = systemdCt({ unit: UNIT, active: true });
  const step = systemdUnit({ name: "vllm.service", content: UNIT });
  assert.deepEqual(stepCounts(await runSteps([step], stepContext(pct), { dryRun: false })), {
    ran: 0,
    skipped: 1,
  });
  assert.deepEqual(pct.mutatingCalls(), []);
  assert.deepEqual(systemctl(pct), []);
});

Deno.test("systemdUnit restarts a running service only when its unit changed", async () => {
  const { pct } = systemdCt({ unit: "[Service]\nExecStart=/old\n", active: true });
  const ctx = stepContext(pct);
  const step = systemdUnit<{ unit: string }>({
    name: "vllm.service",
    content: (c) => c.settings.unit,
  });
  const withSettings = { ...ctx, settings: { unit: UNIT } };
  await runSteps([step], withSettings, { dryRun: false });
  assert.equal(pct.container(STEP_CTID).files[PATH]?.content, UNIT);
  assert.deepEqual(systemctl(pct), ["systemctl daemon-reload", "systemctl restart vllm.service"]);
  assert.ok(ctx.log.messages("info").some((m) => m.startsWith("Restarting vllm.service")));
  pct.clearCalls();
  await runSteps([step], withSettings, { dryRun: false });
  assert.deepEqual(systemctl(pct), []);
});

Deno.test("systemdUnit reloads a unit written but not loaded, without rewriting it", async () => {
  const { pct } = systemdCt({ unit: UNIT, loaded: "[Service]\nExecStart=/old\n", active: true });
  const step = systemdUnit({ name: "vllm.service", content: UNIT });
  assert.equal(await step.check(stepContext(pct)), false);
  await runSteps([step], stepContext(pct), { dryRun: false });
  assert.deepEqual(pct.mutatingCalls(), [], "the file is not pushed again");
  assert.deepEqual(systemctl(pct), ["systemctl daemon-reload", "systemctl restart vllm.service"]);
});

Deno.test("serviceEnabledAndRunning enables and starts, and then is done", async () => {
  const { pct } = systemdCt({ unit: UNIT });
  const step = serviceEnabledAndRunning("vllm.service");
  await runSteps([step], stepContext(pct), { dryRun: false });
  assert.deepEqual(systemctl(pct), ["systemctl enable --now vllm.service"]);
  pct.clearCalls();
  assert.deepEqual(stepCounts(await runSteps([step], stepContext(pct), { dryRun: false })), {
    ran: 0,
    skipped: 1,
  });
  assert.deepEqual(pct.execLines(), [
    "systemctl is-enabled --quiet vllm.service",
    "systemctl is-active --quiet vllm.service",
  ]);
});

Deno.test("serviceEnabledAndRunning acts on an enabled but stopped service", async () => {
  const { pct } = systemdCt({ unit: UNIT, enabled: true, active: false });
  assert.equal(await serviceEnabledAndRunning("vllm.service").check(stepContext(pct)), false);
});

Deno.test("restartIfActive as onChange restarts the service when its environment file changed", async () => {
  const { pct } = systemdCt({ unit: UNIT, active: true });
  const step = fileInContainer({
    path: "/etc/vllm/vllm.env",
    content: "HF_TOKEN=hf_secretsecretsecret\n",
    secret: true,
    onChange: (ctx) => restartIfActive(ctx, "vllm.service"),
  });
  await runSteps([step], stepContext(pct), { dryRun: false });
  assert.deepEqual(systemctl(pct), ["systemctl restart vllm.service"]);
  pct.clearCalls();
  await runSteps([step], stepContext(pct), { dryRun: false });
  assert.deepEqual(systemctl(pct), []);
});

Deno.test("systemd steps need unit names with their type", () => {
  assert.throws(
    () => systemdUnit({ name: "vllm", content: "" }),
    /Cannot use systemd unit name "vllm"/,
  );
  assert.throws(() => serviceEnabledAndRunning("../x.service"), TypeError);
  assert.equal(serviceEnabledAndRunning("docker.socket").name, "Enable and start docker.socket");
});
