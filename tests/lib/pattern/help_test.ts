import assert from "node:assert/strict";
import container920 from "../../../containers/920.ts";
import container950 from "../../../containers/950.ts";
import { ENVIRONMENT_TABLE } from "../../../lib/config/environment.ts";
import { EXIT_CODE_TABLE, ExitCode } from "../../../lib/core/exit_codes.ts";
import { helpText } from "../../../lib/pattern/help.ts";

const README = new URL("../../../README.md", import.meta.url);

/** The rows of the Markdown table under `## heading` (cells trimmed, header and rule dropped). */
async function readmeTable(heading: string): Promise<string[][]> {
  const text = await Deno.readTextFile(README);
  const section = text.split(`\n${heading}\n`)[1];
  assert.ok(section, `README has no "${heading}"`);
  const rows = section.split("\n\n").find((block) => block.trimStart().startsWith("|"))!;
  return rows.trim().split("\n").slice(2).map((row) =>
    row.replace(/^\||\|$/g, "").split(" | ").map((cell) => cell.trim())
  );
}

Deno.test("the README's exit-code table says what the help's table says", async () => {
  const readme = await readmeTable("## Exit codes");
  assert.deepEqual(readme, EXIT_CODE_TABLE.map((row) => [row.code, row.meaning]));
});

Deno.test("every exit code is in the table, and nothing else", () => {
  const documented = EXIT_CODE_TABLE.flatMap((row) => row.code.split(" / ").map(Number)).sort();
  assert.deepEqual(documented, Object.values(ExitCode).sort());
});

Deno.test("the README's Environment table names the help's variables with the same defaults", async () => {
  const readme = await readmeTable("## Environment");
  const shown = (names: readonly string[]) => names.map((n) => `\`${n}\``);
  assert.deepEqual(
    readme.map(([names, fallback]) => [names, fallback.replaceAll("`", "")]),
    ENVIRONMENT_TABLE.map((row) => [
      shown(row.names).join(row.names[0].startsWith("HF_") ? " / " : ", "),
      row.default,
    ]),
  );
});

Deno.test("helpText lists a template's steps, verification and snapshot", () => {
  const text = helpText(container920);
  assert.match(text, /This executable sets up template 920: /);
  container920.steps.forEach((step, i) => assert.ok(text.includes(`  ${i + 1}. ${step.name}\n`)));
  assert.match(text, /takes snapshot 'vllm-base-snapshot'/);
});

Deno.test("helpText says a standard container takes no snapshot", () => {
  const text = helpText(container950);
  assert.match(text, /This executable sets up container 950: /);
  assert.doesNotMatch(text, /snapshot '/);
});

Deno.test("helpText names the orchestrators' names and the run inside the container", () => {
  const text = helpText(container950);
  assert.match(
    text,
    /It also runs as phoenix_hypervisor_lxc_950\.sh \(the 2025-09-01 orchestrator's name/,
  );
  assert.match(
    text,
    /Inside container 950, where there is no pct, it runs the container's own steps there\nand exits 11/,
  );
});
