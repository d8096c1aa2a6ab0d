/**
 * Template 900 in a simulated cluster, as the cluster tests and the bench use it.
 *
 * @module
 */

import { SimulatedCluster } from "./harness.ts";
import { compiledExecutable } from "../../support/executables.ts";
import { configText } from "../../containers/_harness.ts";
import { simulatedContainer, templateState } from "../../containers/_simulated_container.ts";
import type { FakeContainerInput } from "../../fake_pct/fake_pct.ts";

/** Where the executable of 900 is installed on a node. */
export const EXECUTABLE = "/usr/local/phoenix_hypervisor/bin/phoenix_hypervisor_setup_900.sh";
/** Where each node's orchestrator keeps the config. */
export const CONFIG = "/usr/local/phoenix_hypervisor/etc/phoenix_lxc_configs.json";

/** How {@linkcode clusterWith900} sets the cluster up. */
export interface ClusterSetup {
  /** Which node holds template 900 (fresh, running). */
  readonly owner: string;
  /** Nodes with the identical executable installed. */
  readonly installedOn: readonly string[];
  /** Milliseconds each pct call of the owner takes at least. */
  readonly latencyMs?: number;
  readonly nodes?: readonly string[];
}

/** A three-node cluster with template 900 on `owner` and the config on every node. */
export async function clusterWith900(setup: ClusterSetup): Promise<SimulatedCluster> {
  const sim = await simulatedContainer();
  const cloned = templateState(null);
  const container: FakeContainerInput = {
    status: "running",
    name: "BaseTemplate",
    flags: [...cloned.flags ?? []],
    files: { ...cloned.files },
    config: { ...cloned.config },
  };
  const nodes = setup.nodes ?? ["pve1", "pve2", "pve3"];
  const cluster = await SimulatedCluster.start({
    nodes,
    containers: { [setup.owner]: { "900": container } },
    fakes: Object.fromEntries(
      nodes.map((
        n,
      ) => [n, { exec: sim.exec, latencyMs: n === setup.owner ? setup.latencyMs ?? 0 : 0 }]),
    ),
  });
  try {
    const executable = await compiledExecutable("900");
    for (const node of nodes) {
      await cluster.writeFile(node, CONFIG, configText());
      if (setup.installedOn.includes(node)) await cluster.installFile(node, executable, EXECUTABLE);
    }
    // The node a test starts runs on has it always: a run starts from an installed executable.
    return cluster;
  } catch (error) {
    await cluster.stop();
    throw error;
  }
}
