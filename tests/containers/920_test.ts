/**
 * The compiled executable of 920 (BaseTemplateVLLM) against the fake pct and a simulated clone
 * of 901: first run, re-run, dry run, and the verification failing. (The pattern's contract, as
 * exercised with 920, is in ../e2e/template_920_test.ts.)
 */

import assert from "node:assert/strict";
import { containerTests } from "./_harness.ts";
import { literally } from "../fake_pct/fake_pct.ts";

containerTests({
  ctid: "920",
  pctCalls: { firstRun: 19, rerun: 2, dryRun: 3 },
  snapshot: "vllm-base-snapshot",
  finished: { clonedFrom: "920" },
  verificationFailures: [{
    verification: "vllm --version runs",
    exec: [{
      match: literally("vllm --version"),
      exit: 1,
      stderr: "ImportError: libcudart.so.12: cannot open shared object file\n",
    }],
    message: /In container 920: vllm --version .*ImportError: libcudart\.so\.12/,
  }],
  afterFirstRun: (_s, run) => {
    assert.match(run.stdout, /vllm --version in container 920: 0\.11\.0/);
    return Promise.resolve();
  },
});
