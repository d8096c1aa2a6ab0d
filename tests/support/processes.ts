/**
 * Looking at processes a test started indirectly (a `pct` under the executable under test).
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
