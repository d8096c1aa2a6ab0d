import assert from "node:assert/strict";
import { parseArguments, usage } from "../../../lib/pattern/arguments.ts";
import { InvalidInputError, SetupError } from "../../../lib/core/errors.ts";
import { ExitCode } from "../../../lib/core/exit_codes.ts";
import { throwsWith } from "../../support/assertions.ts";

/** Runs `parseArguments(args)`, which must throw an InvalidInputError, and returns that error. */
function rejection(args: string[]): InvalidInputError {
  const error = throwsWith(() => parseArguments(args), InvalidInputError);
  assert.ok(error instanceof SetupError);
  assert.equal(error.exitCode, ExitCode.InvalidInput);
  assert.equal(error.exitCode, 1);
  assert.equal(error.phase, "argument parsing");
  return error;
}

Deno.test("parseArguments accepts exactly one CTID", () => {
  assert.deepEqual(parseArguments(["920"]), { action: "setup", ctid: "920", dryRun: false });
});

Deno.test("parseArguments returns the CTID unvalidated, as given", () => {
  assert.deepEqual(parseArguments(["92a"]), { action: "setup", ctid: "92a", dryRun: false });
  assert.deepEqual(parseArguments(["0920"]), { action: "setup", ctid: "0920", dryRun: false });
});

Deno.test("parseArguments reads --dry-run before or after the CTID", () => {
  const expected = { action: "setup", ctid: "950", dryRun: true };
  assert.deepEqual(parseArguments(["--dry-run", "950"]), expected);
  assert.deepEqual(parseArguments(["950", "--dry-run"]), expected);
});

Deno.test("parseArguments treats everything after -- as positional", () => {
  assert.deepEqual(parseArguments(["--", "920"]), { action: "setup", ctid: "920", dryRun: false });
  // Left for validateInputs to reject as a CTID, not read as the option.
  assert.deepEqual(parseArguments(["--", "--dry-run"]), {
    action: "setup",
    ctid: "--dry-run",
    dryRun: false,
  });
});

Deno.test("parseArguments returns help for --help and -h, whatever else is given", () => {
  assert.deepEqual(parseArguments(["--help"]), { action: "help" });
  assert.deepEqual(parseArguments(["-h"]), { action: "help" });
  assert.deepEqual(parseArguments(["--help", "920", "950"]), { action: "help" });
  assert.deepEqual(parseArguments(["--help", "--version"]), { action: "help" });
});

Deno.test("parseArguments returns version for --version, also with a CTID", () => {
  assert.deepEqual(parseArguments(["--version"]), { action: "version" });
  assert.deepEqual(parseArguments(["920", "--version"]), { action: "version" });
});

Deno.test("parseArguments rejects no argument at all", () => {
  assert.equal(rejection([]).message, "Expected exactly one argument, the CTID; found none");
});

Deno.test("parseArguments rejects two arguments and quotes them", () => {
  assert.equal(
    rejection(["920", "950"]).message,
    'Expected exactly one argument, the CTID; found 2: "920" "950"',
  );
});

Deno.test("parseArguments rejects the orchestrator's old five-argument call", () => {
  const error = rejection(["950", "a", "b", "c", "d"]);
  assert.equal(
    error.message,
    'Expected exactly one argument, the CTID; found 5: "950" "a" "b" "c" "d"',
  );
});

Deno.test("parseArguments quotes arguments containing spaces and quotes", () => {
  const error = rejection(["920", 'x "y" z']);
  assert.equal(
    error.message,
    'Expected exactly one argument, the CTID; found 2: "920" "x \\"y\\" z"',
  );
});

Deno.test("parseArguments rejects --dry-run alone: no CTID", () => {
  assert.equal(
    rejection(["--dry-run"]).message,
    "Expected exactly one argument, the CTID; found none",
  );
});

Deno.test("parseArguments rejects an unknown option and names it", () => {
  const error = rejection(["--force", "920"]);
  assert.match(error.message, /--force/);
});

Deno.test("parseArguments rejects an unknown short option and names it", () => {
  assert.match(rejection(["-x", "920"]).message, /-x/);
});

Deno.test("parseArguments rejects a value given to a boolean option", () => {
  assert.match(rejection(["--dry-run=yes", "920"]).message, /--dry-run/);
});

Deno.test("usage names the executable, the CTID and every option", () => {
  const text = usage("phoenix_hypervisor_setup_920.sh", "920");
  const lines = text.split("\n");
  assert.equal(
    lines[0],
    "Usage: phoenix_hypervisor_setup_920.sh [--dry-run | --check] [--refresh] [--report <file>] 920",
  );
  assert.equal(lines[1], "       phoenix_hypervisor_setup_920.sh --help | --version");
  assert.match(text, /Proxmox container 920/);
  for (const option of ["--dry-run", "--check", "--refresh", "--report", "--help", "--version"]) {
    assert.ok(lines.some((line) => line.startsWith(`  ${option} `)), `no line for ${option}`);
  }
  assert.equal(text.endsWith("\n"), false);
});

Deno.test("parseArguments takes --report with a file name", () => {
  assert.deepEqual(parseArguments(["--report", "/tmp/r.json", "920"]), {
    action: "setup",
    ctid: "920",
    dryRun: false,
    reportFile: "/tmp/r.json",
  });
  assert.equal(rejection(["920", "--report"]).message, "Option --report needs a file name");
  assert.equal(rejection(["--report=", "920"]).message, "Option --report needs a file name");
});

Deno.test("parseArguments says in its own words which options exist", () => {
  const message = rejection(["--force", "920"]).message;
  assert.equal(
    message,
    'Unknown option "--force"; the options are --help, --version, --dry-run, --check, --refresh, --report <file>',
  );
  assert.doesNotMatch(message, /positional argument|place it at the end/);
  assert.equal(
    rejection(["--help=1"]).message,
    "Option --help takes no value; the options are --help, --version, --dry-run, --check, --refresh, --report <file>",
  );
});

const FIVE = [
  "901",
  "0",
  "580.76.05",
  "https://developer.download.nvidia.com/compute/cuda/repos/debian12/x86_64/",
  "https://us.download.nvidia.com/XFree86/Linux-x86_64/580.76.05/NVIDIA-Linux-x86_64-580.76.05.run",
];

Deno.test("parseArguments takes the 2025-09-01 five-argument form only when asked to", () => {
  assert.deepEqual(parseArguments(FIVE, { fiveArgumentForm: true }), {
    action: "setup",
    ctid: "901",
    dryRun: false,
    orchestrator: {
      gpuAssignment: "0",
      nvidiaDriverVersion: "580.76.05",
      nvidiaRepoUrl: FIVE[3],
      nvidiaRunfileUrl: FIVE[4],
    },
  });
  // The CTID alone, as that generation passes it for a container without GPUs.
  assert.deepEqual(parseArguments(["901"], { fiveArgumentForm: true }), {
    action: "setup",
    ctid: "901",
    dryRun: false,
  });
  assert.match(rejection(FIVE).message, /^Expected exactly one argument, the CTID; found 5: "901"/);
});

Deno.test("parseArguments under the 2025-09-01 name refuses counts other than one and five", () => {
  for (const args of [FIVE.slice(0, 3), [...FIVE, "extra"], []]) {
    const error = throwsWith(
      () => parseArguments(args, { fiveArgumentForm: true }),
      InvalidInputError,
    );
    assert.match(
      error.message,
      /^Expected the CTID alone, or the CTID followed by the GPU assignment, the NVIDIA driver version, the NVIDIA repository URL and the runfile URL; found /,
    );
  }
});
