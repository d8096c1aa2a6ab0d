import assert from "node:assert/strict";
import { InvalidInputError } from "../../../lib/core/errors.ts";
import { ExitCode } from "../../../lib/core/exit_codes.ts";
import { type Invocation, validateInputs } from "../../../lib/pattern/validate_inputs.ts";
import { throwsWith } from "../../support/assertions.ts";

const BIN = "/usr/local/phoenix_hypervisor/bin";
const own: Invocation = {
  argv0: `${BIN}/phoenix_hypervisor_setup_920.sh`,
  execPath: `${BIN}/phoenix_hypervisor_setup_920.sh`,
};

function rejection(ctid: string, moduleCtid: string, invocation: Invocation): InvalidInputError {
  const error = throwsWith(() => validateInputs(ctid, moduleCtid, invocation), InvalidInputError);
  assert.equal(error.exitCode, ExitCode.InvalidInput);
  assert.equal(error.phase, "input validation");
  return error;
}

Deno.test("validateInputs passes for the executable's own CTID and name", () => {
  assert.equal(validateInputs("920", "920", own), undefined);
});

Deno.test("validateInputs accepts a relative or bare invocation name", () => {
  validateInputs("920", "920", {
    argv0: "phoenix_hypervisor_setup_920.sh",
    execPath: own.execPath,
  });
  validateInputs("920", "920", {
    argv0: "./phoenix_hypervisor_setup_920.sh",
    execPath: "/tmp/x/phoenix_hypervisor_setup_920.sh",
  });
});

Deno.test("validateInputs rejects an invalid CTID before anything else", () => {
  assert.equal(
    rejection("92a", "920", own).message,
    'Cannot use CTID "92a": expected digits only',
  );
  assert.equal(
    rejection("0920", "920", own).message,
    'Cannot use CTID "0920": a CTID has no leading zero',
  );
  assert.equal(
    rejection("", "920", own).message,
    "Cannot use an empty CTID: expected a number from 100 to 999999999",
  );
});

Deno.test("validateInputs rejects another container's CTID and names the right executable", () => {
  assert.equal(
    rejection("950", "920", own).message,
    "This executable sets up container 920 only, but was asked for 950; " +
      "run phoenix_hypervisor_setup_950.sh for container 950",
  );
});

Deno.test("validateInputs rejects a copy under another CTID's name", () => {
  const copy = `${BIN}/phoenix_hypervisor_setup_950.sh`;
  const error = rejection("920", "920", { argv0: copy, execPath: copy });
  assert.equal(
    error.message,
    `Refusing to run: this file is the 920 executable, installed as ${JSON.stringify(copy)}; ` +
      "it sets up container 920 only and runs only as phoenix_hypervisor_setup_920.sh (or a " +
      "link to it named phoenix_hypervisor_lxc_920.sh, or as the application_script its " +
      "config entry names (it names none)): for " +
      `container 950, install its own executable as ${JSON.stringify(copy)} ` +
      "(deno task build --config <phoenix_lxc_configs.json> --ctid 950 --install)",
  );
});

Deno.test("validateInputs rejects a symlink whose target has another name", () => {
  const target = "/opt/phoenix/phoenix_hypervisor_setup_950.sh";
  const error = rejection("920", "920", { argv0: own.argv0, execPath: target });
  assert.match(
    error.message,
    /920 executable, whose real file is "\/opt\/phoenix\/phoenix_hypervisor_setup_950\.sh"/,
  );
  assert.match(
    error.message,
    /runs only as phoenix_hypervisor_setup_920\.sh \(.*\): reinstall it as/,
  );
});

Deno.test("validateInputs rejects a name that only contains the expected one", () => {
  const path = `${BIN}/old_phoenix_hypervisor_setup_920.sh`;
  assert.match(
    rejection("920", "920", { argv0: path, execPath: own.execPath }).message,
    /linked as/,
  );
  const suffixed = `${BIN}/phoenix_hypervisor_setup_920.sh.bak`;
  assert.match(
    rejection("920", "920", { argv0: own.argv0, execPath: suffixed }).message,
    /real file is/,
  );
});

Deno.test("validateInputs names the link, not the argument, when run under another CTID's name", () => {
  // The user ran phoenix_hypervisor_setup_950.sh 950, a link to the 920 executable: telling
  // them to "run phoenix_hypervisor_setup_950.sh" would be what they just did.
  const link = `${BIN}/phoenix_hypervisor_setup_950.sh`;
  const error = rejection("950", "920", { argv0: link, execPath: own.execPath });
  assert.match(error.message, /this file is the 920 executable, linked as ".*_950\.sh"/);
  assert.match(error.message, /for container 950, install its own executable/);
  assert.doesNotMatch(error.message, /run phoenix_hypervisor_setup_950\.sh/);
});

Deno.test("validateInputs accepts the 2025-09-01 name for its own CTID, as a link to the file", () => {
  validateInputs("920", "920", {
    argv0: `${BIN}/phoenix_hypervisor_lxc_920.sh`,
    execPath: own.execPath,
  });
});

Deno.test("validateInputs refuses the 2025-09-01 name of another CTID, or as the real file", () => {
  const link = `${BIN}/phoenix_hypervisor_lxc_950.sh`;
  const error = rejection("920", "920", { argv0: link, execPath: own.execPath });
  assert.match(error.message, /920 executable, linked as ".*_lxc_950\.sh"/);
  assert.match(error.message, /for container 950, install its own executable/);
  const copy = `${BIN}/phoenix_hypervisor_lxc_920.sh`;
  assert.match(
    rejection("920", "920", { argv0: copy, execPath: copy }).message,
    /whose real file is ".*_lxc_920\.sh"/,
  );
});

Deno.test("validateInputs accepts the application_script its entry names, and only that", () => {
  const app = `${BIN}/phoenix_hypervisor_lxc_vllm.sh`;
  validateInputs("950", "950", { argv0: app, execPath: `${BIN}/phoenix_hypervisor_setup_950.sh` }, {
    name: "phoenix_hypervisor_lxc_vllm.sh",
  });
  // The newest orchestrator copies it into the container: the real file has that name too.
  const pushed = "/tmp/phoenix_run/phoenix_hypervisor_lxc_vllm.sh";
  validateInputs("950", "950", { argv0: pushed, execPath: pushed }, {
    name: "phoenix_hypervisor_lxc_vllm.sh",
  });
  const error = rejection("950", "950", {
    argv0: app,
    execPath: `${BIN}/phoenix_hypervisor_setup_950.sh`,
  });
  assert.match(error.message, /linked as ".*_lxc_vllm\.sh"/);
  const other = throwsWith(
    () =>
      validateInputs("950", "950", { argv0: app, execPath: app }, {
        name: "phoenix_hypervisor_lxc_950.sh",
      }),
    InvalidInputError,
  );
  assert.match(other.message, /or as phoenix_hypervisor_lxc_950\.sh \(the application_script/);
  const unread = throwsWith(
    () => validateInputs("950", "950", { argv0: app, execPath: app }, { note: "cannot read x" }),
    InvalidInputError,
  );
  assert.match(unread.message, /the application_script its config entry names \(cannot read x\)/);
});
