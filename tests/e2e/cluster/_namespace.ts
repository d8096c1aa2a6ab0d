/**
 * Finding and ending the processes of one mount namespace, for the simulated cluster: a node's
 * namespace lives as long as any process in it (its holder, its sshd, every SSH session and what
 * the sessions started), so a node is gone only when all of them are.
 *
 * @module
 */

/** The mount namespace of process `pid` (`mnt:[4026532…]`), or undefined when it has ended. */
export async function mountNamespaceOf(pid: number): Promise<string | undefined> {
  try {
    return await Deno.readLink(`/proc/${pid}/ns/mnt`);
  } catch {
    return undefined;
  }
}

/** The pids of every process whose mount namespace is `namespace`. */
export async function processesIn(namespace: string): Promise<number[]> {
  const pids: number[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const pid = Number(entry.name);
    if (await mountNamespaceOf(pid) === namespace) pids.push(pid);
  }
  return pids;
}

/** The command line of process `pid`, arguments joined by spaces; `""` when it has ended. */
export async function commandLineOf(pid: number): Promise<string> {
  try {
    return (await Deno.readTextFile(`/proc/${pid}/cmdline`)).replaceAll("\0", " ");
  } catch {
    return "";
  }
}

/**
 * Kills (SIGKILL) every process of `namespace` until none is left, which ends the namespace and
 * with it every mount made inside it.
 *
 * @param namespace As {@linkcode mountNamespaceOf} gives it.
 * @param timeoutMs How long to wait for the processes to go.
 * @throws {Error} When some are still there after `timeoutMs` (their pids are named).
 */
export async function killNamespace(namespace: string, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    // A zombie still shows its namespace link until reaped; it holds no mounts, so it counts as
    // gone (its parent, the harness or init, reaps it).
    const alive = [];
    for (const pid of await processesIn(namespace)) {
      if (!(await isZombie(pid))) alive.push(pid);
    }
    if (alive.length === 0) return;
    if (performance.now() > deadline) {
      throw new Error(`Cannot end mount namespace ${namespace}: pids ${alive.join(", ")} remain`);
    }
    for (const pid of alive) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch {
        // It ended in between.
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function isZombie(pid: number): Promise<boolean> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2)[0] === "Z";
  } catch {
    return true;
  }
}
