import assert from "node:assert/strict";
import {
  DEFAULTS,
  dryRunRequestedBy,
  readBoolean,
  readLogSettings,
  readSettings,
  readyTimeoutOverrideMs,
} from "../../../lib/config/environment.ts";
import { ConfigError } from "../../../lib/core/errors.ts";
import { ExitCode } from "../../../lib/core/exit_codes.ts";
import { throwsWith } from "../../support/assertions.ts";

function configError(env: Record<string, string | undefined>): ConfigError {
  const error = throwsWith(() => readSettings(env), ConfigError);
  assert.equal(error.exitCode, ExitCode.Config);
  assert.equal(error.phase, "configuration");
  return error;
}

Deno.test("the defaults are the orchestrator's", () => {
  assert.deepEqual({ ...DEFAULTS }, {
    configFile: "/usr/local/phoenix_hypervisor/etc/phoenix_lxc_configs.json",
    logFile: "/var/log/phoenix_hypervisor.log",
    lockDir: "/run/lock/phoenix_hypervisor",
    hostRoot: "/",
    shutdownTimeoutSeconds: 60,
    runTimeoutSeconds: 14_400,
    heartbeatSeconds: 10,
  });
});

Deno.test("readSettings uses the defaults for an empty environment", () => {
  assert.deepEqual(readSettings({}), {
    configFile: "/usr/local/phoenix_hypervisor/etc/phoenix_lxc_configs.json",
    logFile: "/var/log/phoenix_hypervisor.log",
    debug: false,
    lockDir: "/run/lock/phoenix_hypervisor",
    hostRoot: "/",
    shutdownTimeoutSeconds: 60,
    runTimeoutSeconds: 14_400,
    heartbeatSeconds: 10,
  });
});

Deno.test("readSettings takes every override from the environment", () => {
  assert.deepEqual(
    readSettings({
      LXC_CONFIG_FILE: "/tmp/configs.json",
      MAIN_LOG_FILE: "/tmp/phoenix.log",
      PHOENIX_DEBUG: "true",
      PHOENIX_LOCK_DIR: "/tmp/locks",
      PHOENIX_HOST_ROOT: "/tmp/host",
      PHOENIX_SHUTDOWN_TIMEOUT: "120",
      PHOENIX_RUN_TIMEOUT: "600",
      PHOENIX_HEARTBEAT_INTERVAL: "30",
    }),
    {
      configFile: "/tmp/configs.json",
      logFile: "/tmp/phoenix.log",
      debug: true,
      lockDir: "/tmp/locks",
      hostRoot: "/tmp/host",
      shutdownTimeoutSeconds: 120,
      runTimeoutSeconds: 600,
      heartbeatSeconds: 30,
    },
  );
});

Deno.test("readSettings treats empty and blank values as unset", () => {
  assert.deepEqual(
    readSettings({
      LXC_CONFIG_FILE: "",
      MAIN_LOG_FILE: "  ",
      PHOENIX_DEBUG: "",
      PHOENIX_LOCK_DIR: "\t",
      PHOENIX_HOST_ROOT: "",
      PHOENIX_SHUTDOWN_TIMEOUT: " ",
    }),
    readSettings({}),
  );
});

Deno.test("readSettings ignores unrelated variables", () => {
  assert.deepEqual(
    readSettings({ HYPERVISOR_CONFIG_FILE: "/x.json", LANG: "en_US.UTF-8", HOME: "/root" }),
    readSettings({}),
  );
});

Deno.test("PHOENIX_DEBUG accepts true/false, 1/0, yes/no in any case; unset or empty is off", () => {
  for (const text of ["true", "TRUE", "1", "yes", "Yes", " true "]) {
    assert.deepEqual(readLogSettings({ PHOENIX_DEBUG: text }), {
      logFile: "/var/log/phoenix_hypervisor.log",
      debug: true,
    }, text);
    assert.equal(readSettings({ PHOENIX_DEBUG: text }).debug, true, text);
  }
  for (const text of ["false", "False", "0", "no", "NO", "", "  "]) {
    assert.deepEqual(readLogSettings({ PHOENIX_DEBUG: text }), {
      logFile: "/var/log/phoenix_hypervisor.log",
      debug: false,
    }, text);
  }
  assert.equal(readSettings({}).debug, false);
});

Deno.test("any other PHOENIX_DEBUG leaves DEBUG lines off with one warning naming the value", () => {
  for (const text of ["verbose", "on", "2", "tru"]) {
    assert.deepEqual(readLogSettings({ PHOENIX_DEBUG: text }), {
      logFile: "/var/log/phoenix_hypervisor.log",
      debug: false,
      warning: `PHOENIX_DEBUG=${JSON.stringify(text)} is not a yes/no value (expected ` +
        "true/false, 1/0, yes/no); logging without DEBUG lines",
    });
    assert.equal(readSettings({ PHOENIX_DEBUG: text }).debug, false, "not a reason to stop");
  }
});

Deno.test("PHOENIX_SHUTDOWN_TIMEOUT accepts whole seconds from 1 to 3600", () => {
  assert.equal(readSettings({ PHOENIX_SHUTDOWN_TIMEOUT: "1" }).shutdownTimeoutSeconds, 1);
  assert.equal(readSettings({ PHOENIX_SHUTDOWN_TIMEOUT: "3600" }).shutdownTimeoutSeconds, 3600);
  assert.equal(readSettings({ PHOENIX_SHUTDOWN_TIMEOUT: "090" }).shutdownTimeoutSeconds, 90);
});

Deno.test("a bad PHOENIX_SHUTDOWN_TIMEOUT is a ConfigError quoting the value", () => {
  for (const value of ["0", "3601", "abc", "1.5", "-5", "60s", "1e3", " 60", "0x10"]) {
    assert.equal(
      configError({ PHOENIX_SHUTDOWN_TIMEOUT: value }).message,
      `Cannot use PHOENIX_SHUTDOWN_TIMEOUT=${JSON.stringify(value)}: ` +
        "expected whole seconds from 1 to 3600",
      value,
    );
  }
});

Deno.test("readLogSettings reads only the log file and debug flag", () => {
  assert.deepEqual(readLogSettings({}), {
    logFile: "/var/log/phoenix_hypervisor.log",
    debug: false,
  });
  assert.deepEqual(readLogSettings({ MAIN_LOG_FILE: "/tmp/a.log", PHOENIX_DEBUG: "true" }), {
    logFile: "/tmp/a.log",
    debug: true,
  });
});

Deno.test("readLogSettings works even when the rest of the environment is bad", () => {
  // Logging must be set up before a bad setting can be reported.
  assert.deepEqual(
    readLogSettings({ PHOENIX_SHUTDOWN_TIMEOUT: "never", MAIN_LOG_FILE: "/tmp/b.log" }),
    {
      logFile: "/tmp/b.log",
      debug: false,
    },
  );
});

Deno.test("readSettings agrees with readLogSettings", () => {
  const env = { MAIN_LOG_FILE: "/tmp/c.log", PHOENIX_DEBUG: "true" };
  const { logFile, debug } = readSettings(env);
  assert.deepEqual({ logFile, debug }, readLogSettings(env));
});

Deno.test("readyTimeoutOverrideMs reads PHOENIX_READY_TIMEOUT in seconds", () => {
  assert.equal(readyTimeoutOverrideMs({}), undefined);
  assert.equal(readyTimeoutOverrideMs({ PHOENIX_READY_TIMEOUT: " " }), undefined);
  assert.equal(readyTimeoutOverrideMs({ PHOENIX_READY_TIMEOUT: "300" }), 300_000);
});

Deno.test("readSettings refuses a PHOENIX_READY_TIMEOUT that is not whole seconds", () => {
  for (const value of ["0", "1.5", "soon", "86401"]) {
    assert.equal(
      configError({ PHOENIX_READY_TIMEOUT: value }).message,
      `Cannot use PHOENIX_READY_TIMEOUT=${JSON.stringify(value)}: expected whole seconds from 1 ` +
        "to 86400",
    );
  }
});

Deno.test("readBoolean accepts true/false, 1/0, yes/no in any case, and says what else is wrong", () => {
  for (const text of ["true", "TRUE", "1", "yes", "Yes", " yes "]) {
    assert.deepEqual(readBoolean({ X: text }, "X"), { value: true }, text);
  }
  for (const text of ["false", "False", "0", "no", "NO"]) {
    assert.deepEqual(readBoolean({ X: text }, "X"), { value: false }, text);
  }
  assert.deepEqual(readBoolean({}, "X"), { value: undefined });
  assert.deepEqual(readBoolean({ X: "  " }, "X"), { value: undefined });
  assert.deepEqual(readBoolean({ X: "maybe" }, "X"), {
    value: undefined,
    problem: 'X="maybe" is not a yes/no value (expected true/false, 1/0, yes/no)',
  });
});

Deno.test("dryRunRequestedBy: PHOENIX_DRY_RUN or the older DRY_RUN, naming the one that asked", () => {
  assert.equal(dryRunRequestedBy({}), undefined);
  assert.equal(dryRunRequestedBy({ PHOENIX_DRY_RUN: "false", DRY_RUN: "no" }), undefined);
  assert.equal(dryRunRequestedBy({ PHOENIX_DRY_RUN: "true" }), "PHOENIX_DRY_RUN=true");
  assert.equal(dryRunRequestedBy({ DRY_RUN: "1" }), "DRY_RUN=1");
  assert.equal(dryRunRequestedBy({ PHOENIX_DRY_RUN: "false", DRY_RUN: "YES" }), "DRY_RUN=YES");
});

Deno.test("dryRunRequestedBy refuses a value it cannot read: guessing could change the host", () => {
  assert.throws(() => dryRunRequestedBy({ PHOENIX_DRY_RUN: "y" }), (error: Error) => {
    assert.ok(error instanceof ConfigError);
    assert.equal(
      error.message,
      'Cannot tell whether to do a dry run: PHOENIX_DRY_RUN="y" is not a yes/no value ' +
        "(expected true/false, 1/0, yes/no)",
    );
    return true;
  });
});

Deno.test("a bad PHOENIX_RUN_TIMEOUT is a ConfigError quoting the value", () => {
  for (const value of ["0", "-1", "1h", "604801"]) {
    assert.equal(
      configError({ PHOENIX_RUN_TIMEOUT: value }).message,
      `Cannot use PHOENIX_RUN_TIMEOUT=${JSON.stringify(value)}: ` +
        "expected whole seconds from 1 to 604800",
    );
  }
});
