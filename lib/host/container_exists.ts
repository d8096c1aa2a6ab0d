/**
 * `checkContainerExists`: one `pct status --verbose` call that proves the container exists and
 * tells the flows whether it runs, its Proxmox lock and whether it is a Proxmox template, so they
 * need no second call. A container pct does not find here may be on another cluster node: then
 * (and only then, so a single host pays nothing) `/etc/pve/.vmlist` names its owner.
 *
 * @module
 */

import { join } from "node:path";
import { CommandError, outputTail } from "../core/command_text.ts";
import { InvalidInputError, SetupError } from "../core/errors.ts";
import { ExitCode } from "../core/exit_codes.ts";
import type { ContainerState, Pct } from "./pct.ts";
import { type GuestOwner, ownerOf, VMLIST_FILE } from "./cluster.ts";

/** pct's answer for a container this node does not hold; it names this node. */
const NOT_HERE = /Configuration file 'nodes\/([^/']+)\/lxc\/\d+\.conf' does not exist/;

/**
 * Returns the container's state, or throws: {@linkcode SetupError} (exit 14) naming the node and
 * the command to run there when `<hostRoot>/etc/pve/.vmlist` says another cluster node owns it,
 * else {@linkcode InvalidInputError} (exit 1) quoting pct's stderr.
 *
 * @param hostRoot The host's root (`PHOENIX_HOST_ROOT`), under which `etc/pve` is read.
 * @param commandLine This run's command line, to name what to run on the owning node.
 */
export async function checkContainerExists(
  pct: Pct,
  ctid: string,
  hostRoot = "/",
  commandLine = `<this executable> ${ctid}`,
): Promise<ContainerState> {
  try {
    return await pct.state(ctid);
  } catch (error) {
    if (!(error instanceof CommandError)) throw error;
    const said = outputTail(error.result.stderr) || outputTail(error.result.stdout) ||
      `exit code ${error.result.exitCode}`;
    const thisNode = NOT_HERE.exec(error.result.stderr)?.[1];
    if (thisNode !== undefined) {
      const owner = await ownerElsewhere(hostRoot, ctid, thisNode);
      if (owner) {
        const what = owner.type === "lxc" || owner.type === undefined
          ? `Container ${ctid} lives on cluster node '${owner.node}'`
          : `VMID ${ctid} is a ${owner.type} guest (not a container) on node '${owner.node}'`;
        throw new SetupError(
          `${what}, not on this node ('${thisNode}'): pct only works on the node that owns ` +
            `a guest (${join(hostRoot, VMLIST_FILE)} says so; pct said: ${said}). Nothing was ` +
            (owner.type === "lxc" || owner.type === undefined
              ? `changed. Run it there: ssh root@${owner.node} ${commandLine}`
              : "changed. Check the CTID in the configuration"),
          ExitCode.ContainerUnusable,
          { phase: "container check", cause: error },
        );
      }
    }
    throw new InvalidInputError(
      `Container ${ctid} does not exist or pct cannot reach it: pct said: ${said}. ` +
        "Create the container first (the orchestrator does), then run this again",
      { phase: "container check" },
    );
  }
}

/**
 * The node and type `.vmlist` gives `ctid` when that node is not `thisNode`; `undefined` when the
 * list is missing, unreadable, or does not name another node.
 */
async function ownerElsewhere(
  hostRoot: string,
  ctid: string,
  thisNode: string,
): Promise<GuestOwner | undefined> {
  const owner = await ownerOf(hostRoot, ctid);
  return owner?.node === thisNode ? undefined : owner;
}
