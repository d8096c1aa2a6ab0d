import assert from "node:assert/strict";
import type { CommandResult } from "../../../lib/core/command_text.ts";
import { SetupError } from "../../../lib/core/errors.ts";
import { ExitCode } from "../../../lib/core/exit_codes.ts";
import { localPct } from "../../../lib/host/local_container.ts";
import {
  type ContainerKind,
  type ContainerModule,
  defineContainer,
  type Step,
} from "../../../lib/module/container_module.ts";
import { hostSideParts, performInsideContainer } from "../../../lib/pattern/inside_container.ts";
import { rejectsWith } from "../../support/assertions.ts";
import { testContext } from "../../support/setup_context.ts";

const CTID = "950";
const EVIDENCE = "no pct on PATH; container=lxc in /proc/1/environ";

/** Commands run "here": `test -f`, `touch` and `cat` over a set of files; all recorded. */
function localMachine(files: Set<string>) {
  const ran: string[][] = [];
  const run = (argv: readonly string[]): Promise<CommandResult> => {
    ran.push([...argv]);
    const [program, path] = argv;
    let exitCode = 0;
    if (program === "test") exitCode = files.has(argv[2]) ? 0 : 1;
    else if (program === "touch") files.add(path);
    else exitCode = 127;
    return Promise.resolve({ argv, exitCode, stdout: "", stderr: "", durationMs: 0 });
  };
  return { run, ran };
}

const marker: Step<unknown> = {
  name: "Create /marker",
  check: (ctx) => ctx.container.succeeds(["test", "-f", "/marker"]),
  action: async (ctx) => void await ctx.container.run(["touch", "/marker"]),
};
const passthrough: Step<unknown> = {
  name: "Pass the GPUs through",
  hostSide: "device passthrough",
  check: async (ctx) => (await ctx.pct.config(ctx.ctid)).has("dev0"),
  action: () => Promise.reject(new Error("must not run inside")),
};
const nesting: Step<unknown> = {
  name: "Check nesting",
  hostSide: "reading the container's Proxmox config",
  requirement: true,
  check: async (ctx) => (await ctx.pct.config(ctx.ctid)).has("features"),
  action: () => Promise.resolve(),
};

function module(kind: ContainerKind, steps: Step<unknown>[]): ContainerModule<unknown> {
  return defineContainer({
    ctid: CTID,
    kind,
    description: "test",
    settings: () => undefined,
    steps,
    verification: [{
      name: "the marker is there",
      run: async (ctx) => void await ctx.container.run(["test", "-f", "/marker"]),
    }],
  });
}

Deno.test("inside: the own steps and the verification run here; none left: completed", async () => {
  const machine = localMachine(new Set());
  const ctx = testContext(localPct(machine.run, CTID), { ctid: CTID });
  const outcome = await performInsideContainer({
    module: module("standard", [nesting, marker]),
    ctx,
    evidence: EVIDENCE,
    dryRun: false,
  });
  assert.deepEqual(outcome, { kind: "completed" });
  assert.deepEqual(machine.ran, [
    ["test", "-f", "/marker"],
    ["touch", "/marker"],
    ["test", "-f", "/marker"],
    ["test", "-f", "/marker"],
  ]);
  const info = ctx.log.entries.map(([, message]) => message);
  assert.ok(info.includes(
    `Running inside container 950 (${EVIDENCE}): its own steps run here; the host-side parts ` +
      "(device passthrough; a template's shutdown, snapshot and start) cannot. This entry needs " +
      "none of them",
  ));
  assert.ok(info.includes(
    'Not checked from inside the container: "Check nesting" (reading the container\'s Proxmox ' +
      "config); the steps' checks and the verification show whether what it requires works",
  ));

  // A re-run changes nothing: every check says done.
  const again = localMachine(new Set(["/marker"]));
  await performInsideContainer({
    module: module("standard", [nesting, marker]),
    ctx: testContext(localPct(again.run, CTID), { ctid: CTID }),
    evidence: EVIDENCE,
    dryRun: false,
  });
  assert.ok(again.ran.every((argv) => argv[0] === "test"));
});

Deno.test("inside: host-side parts are named first and end a verified run with exit 11", async () => {
  const machine = localMachine(new Set());
  const ctx = testContext(localPct(machine.run, CTID), { ctid: CTID });
  const template = module("template", [passthrough, marker]);
  assert.deepEqual(hostSideParts(template, "vllm-base-snapshot"), [
    'device passthrough (step "Pass the GPUs through")',
    "shutdown, snapshot 'vllm-base-snapshot' and start (a template)",
  ]);
  const error = await rejectsWith(
    performInsideContainer({
      module: template,
      ctx,
      evidence: EVIDENCE,
      snapshotName: "vllm-base-snapshot",
      dryRun: false,
    }),
    SetupError,
  );
  assert.equal(error.exitCode, ExitCode.HostSideLeft);
  assert.equal(
    error.message,
    "Container 950's own steps are done and verified, but its entry needs what cannot be " +
      'done from inside the container: device passthrough (step "Pass the GPUs through"); ' +
      "shutdown, snapshot 'vllm-base-snapshot' and start (a template). Run " +
      "phoenix_hypervisor_setup_950.sh 950 on the Proxmox host to finish",
  );
  // The own step ran and was verified; nothing host-side was attempted.
  assert.ok(machine.ran.some((argv) => argv[0] === "touch"));
  assert.ok(ctx.record.verifications.every((v) => v.status === "passed"));
  assert.ok(
    ctx.log.entries.some(([, m]) =>
      m.endsWith("This entry needs: " + hostSideParts(template, "vllm-base-snapshot").join("; "))
    ),
  );
});

Deno.test("inside: a dry run checks the own steps and changes nothing", async () => {
  const machine = localMachine(new Set());
  const ctx = testContext(localPct(machine.run, CTID), { ctid: CTID });
  const outcome = await performInsideContainer({
    module: module("standard", [passthrough, marker]),
    ctx,
    evidence: EVIDENCE,
    dryRun: true,
  });
  assert.deepEqual(outcome, { kind: "dry-run" });
  assert.deepEqual(machine.ran, [["test", "-f", "/marker"]]);
});

Deno.test("inside: which shipped containers need host-side parts, and which steps are not checked", async () => {
  const needs: Record<string, [string[], string[]]> = {};
  for (const ctid of ["900", "901", "902", "903", "910", "920", "950"]) {
    const shipped: ContainerModule<unknown> =
      (await import(`../../../containers/${ctid}.ts`)).default;
    needs[ctid] = [
      hostSideParts(shipped, "s"),
      shipped.steps.filter((step) => step.hostSide && step.requirement).map((step) => step.name),
    ];
  }
  const template = "shutdown, snapshot 's' and start (a template)";
  const gpus = 'device passthrough (step "Pass the assigned NVIDIA GPUs through")';
  const nesting = "Check that the container has nesting=1 (Docker needs it)";
  assert.deepEqual(needs, {
    "900": [[template], []],
    "901": [[gpus, template], []],
    "902": [[template], [nesting]],
    "903": [[gpus, template], [nesting]],
    // Standard containers set up inside completely: 950's GPUs come with its clone of 920.
    "910": [[], [nesting]],
    "920": [[template], []],
    "950": [[], []],
  });
});
