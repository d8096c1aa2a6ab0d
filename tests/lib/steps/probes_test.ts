import assert from "node:assert/strict";
import { httpReady, tcpReady } from "../../../lib/steps/probes.ts";
import { WaitTimeoutError } from "../../../lib/core/wait.ts";
import { literally } from "../../fake_pct/in_memory.ts";
import { rejectsWith } from "../../support/assertions.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { stepContext, stepPct } from "../../support/step_container.ts";

const CURL = "curl -s --max-time 10 -o /dev/null -w %{http_code} http://localhost:8000/health";

Deno.test("httpReady polls inside the container with backoff until the expected code", async () => {
  const pct = stepPct({
    ctid: "950",
    exec: [
      { match: literally(CURL), exit: 7, stdout: "000", stderr: "", times: 1 },
      { match: literally(CURL), stdout: "503", times: 1 },
      { match: literally(CURL), stdout: "200" },
    ],
  });
  const clock = new FakeClock();
  const verification = httpReady({
    url: "http://localhost:8000/health",
    timeoutMs: 60_000,
    clock,
  });
  assert.equal(verification.name, "GET http://localhost:8000/health answers 200");
  const ctx = stepContext(pct);
  await verification.run(ctx);
  assert.deepEqual(clock.sleeps, [1000, 2000]);
  assert.deepEqual(pct.execLines(), [CURL, CURL, CURL]);
  assert.ok(
    ctx.log.messages("info").includes(
      "http://localhost:8000/health answered in container 950 (attempt 3)",
    ),
  );
  // The wait narrates itself: each answer, where it stands against the deadline, the next try.
  const what = "http://localhost:8000/health to answer 200 in container 950";
  assert.deepEqual(ctx.log.messages("info").filter((m) => m.startsWith("Waiting for")), [
    `Waiting for ${what}: attempt 1: connection refused; 0 ms of 1 min; next try in 1.0 s`,
    `Waiting for ${what}: attempt 2: HTTP 503; 1.0 s of 1 min; next try in 2.0 s`,
  ]);
});

Deno.test("httpReady adds -k for a self-signed https endpoint and accepts several codes", async () => {
  const pct = stepPct({ ctid: "910", exec: [{ match: "^curl ", stdout: "307" }] });
  await httpReady({
    url: "https://localhost:9443",
    insecure: true,
    expect: [200, 307],
    timeoutMs: 1000,
    clock: new FakeClock(),
  }).run(stepContext(pct));
  assert.deepEqual(pct.execs(), [[
    "curl",
    "-s",
    "-k",
    "--max-time",
    "10",
    "-o",
    "/dev/null",
    "-w",
    "%{http_code}",
    "https://localhost:9443",
  ]]);
});

Deno.test("httpReady times out with the last answer, never sleeping past the deadline", async () => {
  const pct = stepPct({ exec: [{ match: "^curl ", stdout: "503" }] });
  const clock = new FakeClock();
  const verification = httpReady({
    url: "http://localhost:8000/health",
    timeoutMs: 10_000,
    initialDelayMs: 1000,
    maxDelayMs: 4000,
    clock,
  });
  const error = await rejectsWith(verification.run(stepContext(pct)), WaitTimeoutError);
  assert.match(error.message, /Timed out after 10.0 s waiting for http:\/\/localhost:8000\/health/);
  assert.match(error.message, /last: HTTP 503\)$/);
  assert.deepEqual(clock.sleeps, [1000, 2000, 4000, 3000]);
  assert.equal(clock.time, 10_000);
});

Deno.test("httpReady reports a connection failure in words", async () => {
  const pct = stepPct({ exec: [{ match: "^curl ", exit: 7, stdout: "000" }] });
  await assert.rejects(
    () =>
      httpReady({ url: "http://localhost:1/", timeoutMs: 0, clock: new FakeClock() }).run(
        stepContext(pct),
      ),
    /last: connection refused\)/,
  );
  assert.throws(() => httpReady({ url: "ftp://x/", timeoutMs: 1 }), TypeError);
});

Deno.test("tcpReady polls with the host and port as positional parameters", async () => {
  const pct = stepPct({
    exec: [
      { match: "^bash -c ", exit: 1, stderr: "bash: connect: Connection refused\n", times: 1 },
      { match: "^bash -c " },
    ],
  });
  const clock = new FakeClock();
  await tcpReady({ port: 9443, timeoutMs: 30_000, clock }).run(stepContext(pct));
  assert.deepEqual(clock.sleeps, [1000]);
  const [argv] = pct.execs();
  assert.deepEqual(argv.slice(3), ["bash", "127.0.0.1", "9443", "5"]);
  assert.ok(!argv[2].includes("9443"), "values are not spliced into the script");
  assert.throws(() => tcpReady({ port: 70000, timeoutMs: 1 }), RangeError);
});

Deno.test("tcpReady's script really connects with bash (run on this machine)", async () => {
  const pct = stepPct({ exec: [{ match: "^bash -c " }] });
  await tcpReady({ port: 1, timeoutMs: 0, clock: new FakeClock() }).run(stepContext(pct));
  const [[program, ...args]] = pct.execs();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepting = (async () => {
    for await (const conn of listener) conn.close();
  })();
  const run = (port: number) =>
    new Deno.Command(program, {
      args: [...args.slice(0, 3), "127.0.0.1", String(port), "5"],
      stdout: "null",
      stderr: "piped",
    }).output();
  try {
    const open = listener.addr as Deno.NetAddr;
    assert.equal((await run(open.port)).code, 0);
    const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const closedPort = (closed.addr as Deno.NetAddr).port;
    closed.close();
    const refused = await run(closedPort);
    assert.notEqual(refused.code, 0);
    assert.match(new TextDecoder().decode(refused.stderr), /Connection refused/);
  } finally {
    listener.close();
    await accepting.catch(() => {});
  }
});

Deno.test("httpReady takes a URL derived from the context, checked when it runs", async () => {
  const url = "http://localhost:8001/health";
  const pct = stepPct({
    ctid: "950",
    exec: [{ match: literally(CURL.replace("8000", "8001")), stdout: "200" }],
  });
  const verification = httpReady<{ port: number }>({
    name: "The server answers /health",
    url: (ctx) => `http://localhost:${ctx.settings.port}/health`,
    timeoutMs: 1000,
    clock: new FakeClock(),
  });
  assert.equal(verification.name, "The server answers /health");
  await verification.run(stepContext(pct, { settings: { port: 8001 } }));
  assert.deepEqual(pct.execs().map((argv) => argv.at(-1)), [url]);
  const ftp = httpReady<{ port: number }>({ url: () => "ftp://localhost/", timeoutMs: 1000 });
  await assert.rejects(
    () => ftp.run(stepContext(pct, { settings: { port: 1 } })),
    /Cannot probe "ftp:\/\/localhost\/": expected an http or https URL/,
  );
  assert.throws(() => httpReady({ url: "localhost:8000", timeoutMs: 1000 }), TypeError);
});

Deno.test("PHOENIX_READY_TIMEOUT replaces a probe's deadline", async () => {
  const pct = stepPct({ exec: [{ match: "^curl ", stdout: "503" }] });
  const clock = new FakeClock();
  const error = await rejectsWith(
    httpReady({ url: "http://localhost:8000/health", timeoutMs: 3_600_000, clock }).run(
      stepContext(pct, { env: { PHOENIX_READY_TIMEOUT: "3" } }),
    ),
    WaitTimeoutError,
  );
  assert.match(error.message, /^Timed out after 3.0 s waiting for/);
  assert.deepEqual(clock.sleeps, [1000, 2000]);
});
