import assert from "node:assert/strict";
import { runSteps } from "../../../lib/pattern/run_steps.ts";
import { parseRequirement, pipPackages, pythonVenv } from "../../../lib/steps/python.ts";
import { literally } from "../../fake_pct/in_memory.ts";
import { stepContext, stepPct } from "../../support/step_container.ts";
import { stepCounts } from "../../support/assertions.ts";

Deno.test("pythonVenv creates the environment once", async () => {
  const pct = stepPct({
    exec: [{
      match: literally("python3 -m venv /opt/vllm"),
      reply: (_, c) => {
        c.files["/opt/vllm/bin/python"] = { content: "", mode: "0755" };
        return {};
      },
    }],
  });
  const step = pythonVenv("/opt/vllm");
  assert.deepEqual(stepCounts(await runSteps([step], stepContext(pct), { dryRun: false })), {
    ran: 1,
    skipped: 0,
  });
  pct.clearCalls();
  assert.deepEqual(stepCounts(await runSteps([step], stepContext(pct), { dryRun: false })), {
    ran: 0,
    skipped: 1,
  });
  assert.deepEqual(pct.execLines(), ["test -x /opt/vllm/bin/python"]);
  assert.throws(() => pythonVenv("opt/vllm"), TypeError);
});

Deno.test("parseRequirement takes the name and an exact pin", () => {
  assert.deepEqual(parseRequirement("vllm"), { name: "vllm", version: undefined });
  assert.deepEqual(parseRequirement("vLLM==0.11.0"), { name: "vllm", version: "0.11.0" });
  assert.deepEqual(parseRequirement("huggingface_hub[cli]>=0.25"), {
    name: "huggingface-hub",
    version: undefined,
  });
  assert.deepEqual(parseRequirement("torch==2.8.*"), { name: "torch", version: undefined });
  assert.throws(() => parseRequirement("--upgrade"), /Cannot use pip requirement "--upgrade"/);
  assert.throws(() => parseRequirement("./wheel.whl"), TypeError);
});

/** A venv whose pip knows `installed` (name → version) and installs what it is asked. */
function pipCt(installed: Record<string, string>) {
  const key = (name: string) => name.toLowerCase().replace(/[-_.]+/g, "-");
  const packages = new Map(Object.entries(installed).map(([name, v]) => [key(name), v]));
  return stepPct({
    exec: [
      {
        match: "^/opt/vllm/bin/pip show ",
        reply: (argv) => {
          const names = argv.slice(2).map(key);
          const found = names.filter((n) => packages.has(n));
          const missing = names.filter((n) => !packages.has(n));
          return {
            exit: missing.length ? 1 : 0,
            stdout: found.map((n) => `Name: ${n}\nVersion: ${packages.get(n)}\nSummary: x\n`)
              .join("---\n"),
            stderr: missing.length ? `WARNING: Package(s) not found: ${missing.join(", ")}\n` : "",
          };
        },
      },
      {
        match: "^/opt/vllm/bin/pip install --no-input ",
        reply: (argv) => {
          for (const spec of argv.slice(3)) {
            const [name, version = "1.0"] = spec.split("==");
            packages.set(key(name), version);
          }
          return {};
        },
      },
    ],
  });
}

Deno.test("pipPackages installs what is missing and then its check passes", async () => {
  const pct = pipCt({});
  const step = pipPackages("/opt/vllm", ["vllm==0.11.0"]);
  assert.equal(step.name, "Install vllm==0.11.0 into /opt/vllm");
  await runSteps([step], stepContext(pct), { dryRun: false });
  assert.ok(pct.execLines().includes("/opt/vllm/bin/pip install --no-input vllm==0.11.0"));
});

Deno.test("pipPackages is done only when each package is there at its pinned version", async () => {
  const step = pipPackages("/opt/vllm", ["vllm==0.11.0", "huggingface_hub"]);
  assert.equal(
    await step.check(stepContext(pipCt({ vllm: "0.11.0", "huggingface_hub": "0.35.3" }))),
    true,
  );
  assert.equal(
    await step.check(stepContext(pipCt({ vllm: "0.10.2", "huggingface_hub": "0.35.3" }))),
    false,
  );
  assert.equal(await step.check(stepContext(pipCt({ vllm: "0.11.0" }))), false);
  const pct = pipCt({ vllm: "0.11.0", "huggingface_hub": "0.35.3" });
  await runSteps([step], stepContext(pct), { dryRun: false });
  assert.deepEqual(pct.execLines(), ["/opt/vllm/bin/pip show vllm huggingface-hub"]);
});

Deno.test("pipPackages passes extra pip options before the packages", async () => {
  const pct = pipCt({});
  const step = pipPackages("/opt/vllm", ["vllm"], {
    pipArgs: ["--extra-index-url", "https://download.pytorch.org/whl/cu128"],
  });
  await step.action(stepContext(pct));
  assert.deepEqual(pct.execs(), [[
    "/opt/vllm/bin/pip",
    "install",
    "--no-input",
    "--extra-index-url",
    "https://download.pytorch.org/whl/cu128",
    "vllm",
  ]]);
});
