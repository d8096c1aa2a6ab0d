import assert from "node:assert/strict";
import { SetupError } from "../../../lib/core/errors.ts";
import { ExitCode } from "../../../lib/core/exit_codes.ts";
import { receiveForwardedRun } from "../../../lib/pattern/forwarded_run.ts";
import { rejectsWith } from "../../support/assertions.ts";

/** A stream the test writes to, as the SSH session's standard input. */
function session() {
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const writer = writable.getWriter();
  const encoder = new TextEncoder();
  return {
    readable,
    write: (text: string) => writer.write(encoder.encode(text)),
    end: () => writer.close(),
  };
}

const SETTINGS = {
  env: { PHOENIX_DEBUG: "true", HF_TOKEN: "hf_sentonstdin123" },
  config: { text: '{ "lxc_configs": {} }', origin: "pve1:/usr/local/etc/c.json" },
};

Deno.test("receiveForwardedRun: the settings line becomes the run's environment and a private config file; the end of input is the lifeline", async () => {
  const input = session();
  // Sent in two pieces, as a pipe may deliver it.
  const line = JSON.stringify(SETTINGS);
  input.write(line.slice(0, 20));
  input.write(`${line.slice(20)}\n`);
  const received = await receiveForwardedRun(
    { PHOENIX_FORWARDED_FROM: "pve1", PATH: "/usr/bin", LXC_CONFIG_FILE: "/elsewhere.json" },
    input.readable,
  );
  try {
    assert.equal(received.from, "pve1");
    assert.equal(received.origin, "pve1:/usr/local/etc/c.json");
    assert.equal(received.env.PHOENIX_DEBUG, "true");
    assert.equal(received.env.HF_TOKEN, "hf_sentonstdin123");
    assert.equal(received.env.PATH, "/usr/bin");
    const file = received.env.LXC_CONFIG_FILE!;
    assert.notEqual(file, "/elsewhere.json");
    assert.equal(await Deno.readTextFile(file), SETTINGS.config.text);
    assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);
    let ended = false;
    received.lifeline.then(() => ended = true);
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(ended, false, "the lifeline holds while the input is open");
    await input.end();
    await received.lifeline;
    received.cleanup();
    assert.equal(await Deno.stat(file).then(() => true, () => false), false);
  } finally {
    received.cleanup();
  }
});

Deno.test("receiveForwardedRun: no settings, settings that are not this version's, or none in time: exit 1 saying so", async () => {
  const cases: [string | undefined, RegExp][] = [
    ["", /its standard input ended before its settings/],
    ["not json\n", /its settings line is not what this version sends/],
    ['{"env":{}}\n', /its settings line is not what this version sends/],
    [undefined, /its settings did not arrive in 0\.05 s/],
  ];
  for (const [text, expected] of cases) {
    const input = session();
    if (text !== undefined) {
      input.write(text);
      input.end();
    }
    const error = await rejectsWith(
      receiveForwardedRun({ PHOENIX_FORWARDED_FROM: "pve1" }, input.readable, 50),
      SetupError,
    );
    assert.equal(error.exitCode, ExitCode.InvalidInput);
    assert.match(
      error.message,
      /^This run was forwarded from node 'pve1' \(PHOENIX_FORWARDED_FROM\), but /,
    );
    assert.match(error.message, expected);
    if (text === undefined) await input.end();
  }
});
