import assert from "node:assert/strict";
import { heartbeatText, startHeartbeat } from "../../../lib/report/heartbeat.ts";

Deno.test("heartbeatText says the command, the time in words and the last output", () => {
  assert.equal(
    heartbeatText("pip install vllm in container 920", 80_000, "Collecting torch"),
    'Still running: pip install vllm in container 920 (1 min 20 s; last output: "Collecting torch")',
  );
  assert.equal(heartbeatText("x", 20_400), "Still running: x (20.4 s; no output yet)");
  const long = heartbeatText("x", 1000, "y".repeat(500));
  assert.ok(long.length < 200, long);
  assert.match(long, /y…"\)$/);
});

Deno.test("startHeartbeat beats at its interval with the latest output, and stops for good", async () => {
  let time = 0;
  const beats: string[] = [];
  const heartbeat = startHeartbeat("sleep", 40, (text) => beats.push(text), () => time);
  time = 5_000;
  await new Promise((resolve) => setTimeout(resolve, 60));
  heartbeat.output("first");
  time = 12_000;
  await new Promise((resolve) => setTimeout(resolve, 40));
  heartbeat.stop();
  const count = beats.length;
  await new Promise((resolve) => setTimeout(resolve, 120));
  assert.equal(beats.length, count, "no beat after stop");
  assert.ok(count >= 2, `${count} beats`);
  assert.equal(beats[0], "Still running: sleep (5.0 s; no output yet)");
  assert.equal(beats.at(-1), 'Still running: sleep (12.0 s; last output: "first")');
});
