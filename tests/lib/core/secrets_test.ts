import assert from "node:assert/strict";
import { redact, registerSecret, registerSecretsFromEnv } from "../../../lib/core/secrets.ts";

// The registry of known secrets is process-wide; every test uses values of its own.

Deno.test("redact leaves ordinary text alone", () => {
  const text = 'pct exec 920 -- apt-get install -y jq (exit 0, 1200 ms) {"a": 1}';
  assert.equal(redact(text), text);
});

Deno.test("redact masks Hugging Face tokens by pattern", () => {
  assert.equal(redact("token hf_abcdefghijkl used"), "token *** used");
  assert.equal(redact("HF_TOKEN=hf_abcdefghijkl"), "HF_TOKEN=***");
  // Too short to be a token.
  assert.equal(redact("hf_abc"), "hf_abc");
});

Deno.test("redact masks Bearer credentials and keeps the scheme", () => {
  assert.equal(
    redact("curl -H 'Authorization: Bearer eyJhbGciOi.abc.def' http://x"),
    "curl -H 'Authorization: Bearer ***' http://x",
  );
  assert.equal(redact("authorization: bearer s3cr3t-v4lue"), "authorization: bearer ***");
});

Deno.test("redact masks assignments to secret-looking names", () => {
  assert.equal(redact("API_KEY=abc123xyz"), "API_KEY=***");
  assert.equal(redact("APIKEY: zzz999"), "APIKEY: ***");
  assert.equal(redact("password = hunter2 and more"), "password = *** and more");
  assert.equal(redact("GITHUB_TOKEN=ghp_12345 next"), "GITHUB_TOKEN=*** next");
  assert.equal(redact("CLIENT_SECRET:qwerty"), "CLIENT_SECRET:***");
});

Deno.test("registerSecret masks a registered value wherever it appears", () => {
  registerSecret("plain-secret-value-1");
  assert.equal(
    redact("a plain-secret-value-1 b xplain-secret-value-1x"),
    "a *** b x***x",
  );
});

Deno.test("registerSecret trims the value and ignores values shorter than 6 characters", () => {
  registerSecret("  trimmed-secret-2 \n");
  assert.equal(redact("[trimmed-secret-2]"), "[***]");
  registerSecret("abcde");
  assert.equal(redact("abcde"), "abcde");
  registerSecret(undefined);
  registerSecret("   ");
  assert.equal(redact("nothing here"), "nothing here");
});

Deno.test("registerSecret accepts exactly 6 characters", () => {
  registerSecret("q7w8e9");
  assert.equal(redact("id q7w8e9"), "id ***");
});

Deno.test("registerSecretsFromEnv registers values of secret-named variables only", () => {
  registerSecretsFromEnv({
    HF_TOKEN: "value-of-token-3",
    DB_PASSWORD: "value-of-password-3",
    my_api_key: "value-of-apikey-3",
    AWS_SECRET_ACCESS_KEY: "value-of-secret-3",
    REGISTRY_CREDENTIALS: "value-of-cred-3",
    PASSWD: "value-of-passwd-3",
    HOME: "/root/value-of-home-3",
    LXC_CONFIG_FILE: "/etc/value-of-config-3.json",
    EMPTY_TOKEN: undefined,
  });
  assert.equal(
    redact(
      "value-of-token-3 value-of-password-3 value-of-apikey-3 value-of-secret-3 " +
        "value-of-cred-3 value-of-passwd-3",
    ),
    "*** *** *** *** *** ***",
  );
  assert.equal(redact("/root/value-of-home-3"), "/root/value-of-home-3");
  assert.equal(redact("/etc/value-of-config-3.json"), "/etc/value-of-config-3.json");
});

Deno.test("redact masks a known secret even in an unrelated shape", () => {
  registerSecretsFromEnv({ VLLM_API_KEY: "sk-local-4-zzzz" });
  assert.equal(redact('{"key":"sk-local-4-zzzz"}'), '{"key":"***"}');
});
