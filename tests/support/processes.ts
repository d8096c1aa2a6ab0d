/**
 * Looking at processes a test started: the output of a child it spawned, whether a process
 * it started indirectly (a `pct` under the executable under test) still runs, and a process id
 * that no longer runs.
 *
 * @module
 */

/**
 * Whether process `pid` runs. A zombie does not: it has ended and waits for its parent (here
 * often init, which reaps late) to collect it.
 */
export async function isAlive(pid: number): Promise<boolean> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/** What a spawned child printed and how it ended; `signal` is the one that killed it, if any. */
export interface ChildOutput {
  readonly code: number;
  readonly signal: Deno.Signal | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Waits for `child` (spawned with piped stdout and stderr) to end, and decodes its output. */
export async function outputOf(child: Deno.ChildProcess): Promise<ChildOutput> {
  const output = await child.output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return {
    code: output.code,
    signal: output.signal,
    stdout: decode(output.stdout),
    stderr: decode(output.stderr),
  };
}

/** The pid of a process that has already exited (and been reaped): a holder that is gone. */
export async function deadPid(): Promise<number> {
  const child = new Deno.Command("true").spawn();
  await child.status;
  return child.pid;
}
