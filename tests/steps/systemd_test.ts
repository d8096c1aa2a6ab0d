import assert from "node:assert/strict";
import { runSteps } from "../../lib/run_steps.ts";
import { fileInContainer } from "../../lib/steps/files.ts";
import { restartIfActive, serviceEnabledAndRunning, systemdUnit } from "../../lib/steps/systemd.ts";
import { FakeCt } from "./_support.ts";

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
  const ct = new FakeCt({ files: options.unit ? { [PATH]: options.unit } : {} })
    .on("systemctl show --property=NeedDaemonReload --value vllm.service", (_, c) => ({
      stdout: c.files.get(PATH)?.content === state.loaded ? "no\n" : "yes\n",
    }))
    .on("systemctl daemon-reload", (_, c) => {
      state.loaded = c.files.get(PATH)?.content;
      return {};
    })
    .on("systemctl is-active --quiet vllm.service", () => ({ exitCode: state.active ? 0 : 3 }))
    .on("systemctl is-enabled --quiet vllm.service", () => ({ exitCode: state.enabled ? 0 : 1 }))
    .on("systemctl restart vllm.service")
    .on("systemctl enable --now vllm.service", () => {
      state.enabled = state.active = true;
      return {};
    });
  return { ct, state };
}

const systemctl = (ct: FakeCt) =>
  ct.execLines().filter((line) => /^systemctl (daemon-reload|restart|enable)/.test(line));

Deno.test("systemdUnit writes a new unit and reloads, without starting a stopped service", async () => {
  const { ct } = systemdCt({});
  const ctx = ct.context();
  const step = systemdUnit({ name: "vllm.service", content: UNIT });
  assert.equal(step.name, "Install the systemd unit vllm.service");
  assert.deepEqual(await runSteps([step], ctx, { dryRun: false }), { ran: 1, skipped: 0 });
  assert.deepEqual(ct.files.get(PATH), { content: UNIT, mode: "0644" });
  assert.deepEqual(systemctl(ct), ["systemctl daemon-reload"]);
});

Deno.test("systemdUnit changes nothing when the unit is written and loaded", async () => {
  const { ct } = systemdCt({ unit: UNIT, active: true });
  const step = systemdUnit({ name: "vllm.service", content: UNIT });
  assert.deepEqual(await runSteps([step], ct.context(), { dryRun: false }), {
    ran: 0,
    skipped: 1,
  });
  assert.deepEqual(ct.mutatingCalls(), []);
  assert.deepEqual(systemctl(ct), []);
});

Deno.test("systemdUnit restarts a running service only when its unit changed", async () => {
  const { ct } = systemdCt({ unit: "[Service]\nExecStart=/old\n", active: true });
  const ctx = ct.context();
  const step = systemdUnit<{ unit: string }>({
    name: "vllm.service",
    content: (c) => c.settings.unit,
  });
  const withSettings = { ...ctx, settings: { unit: UNIT } };
  await runSteps([step], withSettings, { dryRun: false });
  assert.equal(ct.files.get(PATH)?.content, UNIT);
  assert.deepEqual(systemctl(ct), ["systemctl daemon-reload", "systemctl restart vllm.service"]);
  assert.ok(ctx.log.messages("info").some((m) => m.startsWith("Restarting vllm.service")));
  ct.clearCalls();
  await runSteps([step], withSettings, { dryRun: false });
  assert.deepEqual(systemctl(ct), []);
});

Deno.test("systemdUnit reloads a unit written but not loaded, without rewriting it", async () => {
  const { ct } = systemdCt({ unit: UNIT, loaded: "[Service]\nExecStart=/old\n", active: true });
  const step = systemdUnit({ name: "vllm.service", content: UNIT });
  assert.equal(await step.check(ct.context()), false);
  await runSteps([step], ct.context(), { dryRun: false });
  assert.deepEqual(ct.mutatingCalls(), [], "the file is not pushed again");
  assert.deepEqual(systemctl(ct), ["systemctl daemon-reload", "systemctl restart vllm.service"]);
});

Deno.test("serviceEnabledAndRunning enables and starts, and then is done", async () => {
  const { ct } = systemdCt({ unit: UNIT });
  const step = serviceEnabledAndRunning("vllm.service");
  await runSteps([step], ct.context(), { dryRun: false });
  assert.deepEqual(systemctl(ct), ["systemctl enable --now vllm.service"]);
  ct.clearCalls();
  assert.deepEqual(await runSteps([step], ct.context(), { dryRun: false }), {
    ran: 0,
    skipped: 1,
  });
  assert.deepEqual(ct.execLines(), [
    "systemctl is-enabled --quiet vllm.service",
    "systemctl is-active --quiet vllm.service",
  ]);
});

Deno.test("serviceEnabledAndRunning acts on an enabled but stopped service", async () => {
  const { ct } = systemdCt({ unit: UNIT, enabled: true, active: false });
  assert.equal(await serviceEnabledAndRunning("vllm.service").check(ct.context()), false);
});

Deno.test("restartIfActive as onChange restarts the service when its environment file changed", async () => {
  const { ct } = systemdCt({ unit: UNIT, active: true });
  const step = fileInContainer({
    path: "/etc/vllm/vllm.env",
    content: "HF_TOKEN=hf_secretsecretsecret\n",
    secret: true,
    onChange: (ctx) => restartIfActive(ctx, "vllm.service"),
  });
  await runSteps([step], ct.context(), { dryRun: false });
  assert.deepEqual(systemctl(ct), ["systemctl restart vllm.service"]);
  ct.clearCalls();
  await runSteps([step], ct.context(), { dryRun: false });
  assert.deepEqual(systemctl(ct), []);
});

Deno.test("systemd steps need unit names with their type", () => {
  assert.throws(
    () => systemdUnit({ name: "vllm", content: "" }),
    /Cannot use systemd unit name "vllm"/,
  );
  assert.throws(() => serviceEnabledAndRunning("../x.service"), TypeError);
  assert.equal(serviceEnabledAndRunning("docker.socket").name, "Enable and start docker.socket");
});
