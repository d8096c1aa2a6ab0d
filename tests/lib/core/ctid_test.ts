import assert from "node:assert/strict";
import {
  CTID_PATTERN,
  ctidOfExecutableName,
  describeInvalidCtid,
  executableNameFor,
  setupNameFor,
} from "../../../lib/core/ctid.ts";

Deno.test("describeInvalidCtid accepts the reference CTIDs and the range bounds", () => {
  for (const ctid of ["100", "900", "901", "902", "903", "910", "920", "950", "999999999"]) {
    assert.equal(describeInvalidCtid(ctid), undefined, ctid);
    assert.ok(CTID_PATTERN.test(ctid), ctid);
  }
});

Deno.test("describeInvalidCtid rejects an empty CTID", () => {
  assert.equal(
    describeInvalidCtid(""),
    "Cannot use an empty CTID: expected a number from 100 to 999999999",
  );
});

Deno.test("describeInvalidCtid rejects non-digits and quotes the value", () => {
  assert.equal(describeInvalidCtid("92a"), 'Cannot use CTID "92a": expected digits only');
  assert.equal(describeInvalidCtid("-920"), 'Cannot use CTID "-920": expected digits only');
  assert.equal(describeInvalidCtid("9.20"), 'Cannot use CTID "9.20": expected digits only');
  assert.equal(describeInvalidCtid(" 920"), 'Cannot use CTID " 920": expected digits only');
  assert.equal(describeInvalidCtid("920\n"), 'Cannot use CTID "920\\n": expected digits only');
  assert.equal(
    describeInvalidCtid("--dry-run"),
    'Cannot use CTID "--dry-run": expected digits only',
  );
});

Deno.test("describeInvalidCtid rejects a leading zero", () => {
  assert.equal(describeInvalidCtid("0920"), 'Cannot use CTID "0920": a CTID has no leading zero');
  assert.equal(describeInvalidCtid("0"), 'Cannot use CTID "0": a CTID has no leading zero');
});

Deno.test("describeInvalidCtid rejects numbers outside 100..999999999", () => {
  for (const ctid of ["1", "99", "1000000000", "12345678901"]) {
    assert.equal(
      describeInvalidCtid(ctid),
      `Cannot use CTID "${ctid}": expected a number from 100 to 999999999`,
    );
    assert.equal(CTID_PATTERN.test(ctid), false, ctid);
  }
});

Deno.test("executableNameFor builds the orchestrator's file name", () => {
  assert.equal(executableNameFor("920"), "phoenix_hypervisor_setup_920.sh");
  assert.equal(executableNameFor("950"), "phoenix_hypervisor_setup_950.sh");
});

Deno.test("setupNameFor is the stem of the executable's and the run's file names", () => {
  assert.equal(setupNameFor("920"), "phoenix_hypervisor_setup_920");
  assert.equal(executableNameFor("920"), `${setupNameFor("920")}.sh`);
});

Deno.test("ctidOfExecutableName reads the CTID back from an executable's name only", () => {
  assert.equal(ctidOfExecutableName(executableNameFor("950")), "950");
  assert.equal(ctidOfExecutableName("phoenix_hypervisor_setup_0950.sh"), "0950");
  for (
    const name of [
      "phoenix_hypervisor_setup_950.sh.bak",
      "old_phoenix_hypervisor_setup_950.sh",
      "phoenix_hypervisor_setup_.sh",
      "phoenix_hypervisor_setup_95a.sh",
      "phoenix_hypervisor_setup_950.lock",
      "SHA256SUMS",
    ]
  ) {
    assert.equal(ctidOfExecutableName(name), undefined, name);
  }
});
