/**
 * Every container `deno task build --config <file>` builds for each real config
 * (`../shared/real-configs`), run in process against the in-memory fake `pct`: each starts from
 * the state its parent ended in (the orchestrator clones it from the parent's snapshot), exits 0,
 * and its re-run changes nothing; the pct calls of both runs are pinned. What the build skips,
 * and why, is pinned too. Without the folder every test here is registered as ignored.
 */

import assert from "node:assert/strict";
import { selectFromConfig } from "../../lib/build/targets.ts";
import { type BuildChoice, composedModule } from "../../lib/catalog/composition.ts";
import type { ContainerEntry } from "../../lib/config/schema.ts";
import type { ContainerModule } from "../../lib/module/container_module.ts";
import { SetupError } from "../../lib/core/errors.ts";
import {
  GENERATIONS,
  presentGenerations,
  REAL_CONFIGS_ABSENT,
  REAL_CONFIGS_AVAILABLE,
  realConfigPath,
} from "../support/real_configs.ts";
import { callLines } from "./_harness.ts";
import {
  type CloneState,
  InProcessContainer,
  needsNesting,
  parentOf,
  simulationFor,
  testHost,
} from "./_composed.ts";
import { type TemplateCtid, templateState } from "./_simulated_container.ts";
import { assertSnapshot } from "./_snapshot.ts";

const KNOWN_TEMPLATES = ["900", "901", "902", "903", "920"];

/** The module each built CTID runs. */
function moduleOf(choice: BuildChoice): ContainerModule<unknown> | undefined {
  if (choice.use === "module") return choice.module;
  if (choice.use === "composed") return composedModule(choice.composition);
  return undefined;
}

/** Built CTIDs, parents before their clones. */
function inCloneOrder(
  choices: readonly BuildChoice[],
  entries: Record<string, ContainerEntry>,
): BuildChoice[] {
  const built = choices.filter((c) => c.use !== "skipped");
  const done = new Set<string>();
  const ordered: BuildChoice[] = [];
  const visit = (choice: BuildChoice) => {
    if (done.has(choice.ctid)) return;
    done.add(choice.ctid);
    const parent = built.find((c) => c.ctid === parentOf(entries[choice.ctid]));
    if (parent) visit(parent);
    ordered.push(choice);
  };
  built.forEach(visit);
  return ordered;
}

function describeError(error: unknown): string {
  return error instanceof SetupError
    ? `exit ${error.exitCode}: ${error.message}`
    : String((error as Error)?.stack ?? error);
}

for (const generation of presentGenerations()) {
  Deno.test(`composed ${generation}: what the build makes of each CTID`, async (t) => {
    const { choices } = await selectFromConfig(realConfigPath(generation));
    assertSnapshot(
      t,
      choices.map((c) =>
        c.use === "skipped"
          ? `${c.ctid}: skipped: ${c.reason.replace(/^.*real-configs\//m, "")}`
          : c.use === "module"
          ? `${c.ctid}: containers/${c.ctid}.ts`
          : `${c.ctid}: composed ${JSON.stringify(c.composition)}${
            c.instead ? ` (${c.instead})` : ""
          }`
      ),
    );
  });

  Deno.test(
    `composed ${generation}: every built container runs from its parent's state, and its re-run changes nothing`,
    async (t) => {
      const file = realConfigPath(generation);
      const data = JSON.parse(await Deno.readTextFile(file));
      const entries: Record<string, ContainerEntry> = data.lxc_configs;
      const { choices } = await selectFromConfig(file);
      const host = await testHost(data.nvidia_driver_version ?? "580.76.05");
      const finished = new Map<string, CloneState>();
      try {
        for (const choice of inCloneOrder(choices, entries)) {
          const module = moduleOf(choice)!;
          const entry = entries[choice.ctid];
          const parent = parentOf(entry);
          const known = parent !== undefined && KNOWN_TEMPLATES.includes(parent);
          const template = templateState(known ? parent as TemplateCtid : null);
          const cloned: CloneState = (parent !== undefined ? finished.get(parent) : undefined) ?? {
            flags: template.flags ?? [],
            files: template.files ?? {},
            config: template.config ?? {},
          };
          if (needsNesting(entry)) cloned.config = { ...cloned.config, features: "nesting=1" };
          const container = await InProcessContainer.of({
            module,
            configFile: file,
            hostRoot: host.root,
            env: host.env,
            cloned,
            simulation: simulationFor(entry, data.nvidia_driver_version),
          });
          await t.step(`${choice.ctid}: first run`, async (t) => {
            const first = await container.run();
            assert.equal(first.error, undefined, describeError(first.error));
            assertSnapshot(t, callLines(first.calls));
            assert.equal(container.state.status, "running");
            const snapshots = container.state.snapshots.map((s) => s.name);
            if (module.kind === "template") {
              const wanted = entry.template_snapshot_name ?? module.defaultSnapshotName;
              assert.deepEqual(snapshots, [wanted]);
            } else {
              assert.deepEqual(snapshots, []);
            }
          });
          await t.step(`${choice.ctid}: a re-run changes nothing`, async (t) => {
            const before = structuredClone(container.state);
            const again = await container.run();
            assert.equal(again.error, undefined, describeError(again.error));
            assert.deepEqual(container.changes(again.calls), []);
            assert.deepEqual(container.state, before);
            assertSnapshot(t, callLines(again.calls));
          });
          finished.set(choice.ctid, container.cloneState());
        }
      } finally {
        await host.cleanup();
      }
    },
  );
}

Deno.test({
  name: REAL_CONFIGS_AVAILABLE
    ? "composed: the latest generation builds 900, 901, 910, 911, 912, 801, 802 and 914"
    : `composed real configs (${GENERATIONS.join(", ")}) ${REAL_CONFIGS_ABSENT}`,
  ignore: !REAL_CONFIGS_AVAILABLE,
  fn: async () => {
    const { choices } = await selectFromConfig(realConfigPath("35c465b_latest_rootesting"));
    const built = choices.filter((c) => c.use !== "skipped").map((c) => c.ctid);
    for (const ctid of ["900", "901", "910", "911", "912", "801", "802", "914"]) {
      assert.ok(built.includes(ctid), `${ctid} is built`);
    }
    const skipped = Object.fromEntries(
      choices.flatMap((c) => c.use === "skipped" ? [[c.ctid, c.reason]] : []),
    );
    assert.deepEqual(Object.keys(skipped).sort(), ["101", "102", "103", "917"]);
    assert.match(skipped["103"], /feature "step_ca" not supported; write containers\/103\.ts/);
    assert.match(skipped["102"], /feature "traefik" not supported; write containers\/102\.ts/);
  },
});
