/**
 * `main`: the setup pattern's entry point. Each executable is this function applied to one
 * container module (`build.ts` generates the entry file that does it):
 *
 * parseArguments → validateInputs → config → lock → checkContainerExists →
 * performContainerSpecificSetup → exitScript.
 *
 * The first two are `readInputs` (`lib/read_inputs.ts`), which the entry also calls before it
 * loads this module, so that `--help`, `--version` and invalid input start fast.
 *
 * @module
 */

import { type CommandRunner, displayCommand } from "./lib/core/command_text.ts";
import { logBatchAnswer, loggingRunner } from "./lib/report/logging_runner.ts";
import { createCommandRunner } from "./lib/host/command.ts";
import { commandEnvironment } from "./lib/host/command_environment.ts";
import { checkContainerExists } from "./lib/host/container_exists.ts";
import type { ContainerModule, SetupContext } from "./lib/module/container_module.ts";
import { loadModuleConfig } from "./lib/module/container_config.ts";
import { executableNameFor } from "./lib/core/ctid.ts";
import {
  DEFAULTS,
  dryRunRequestedBy,
  readLogSettings,
  readReportFile,
  readSettings,
} from "./lib/config/environment.ts";
import { formatDuration } from "./lib/core/duration.ts";
import { SetupError } from "./lib/core/errors.ts";
import { ExitCode } from "./lib/core/exit_codes.ts";
import type { Ending, Subject } from "./lib/pattern/exit_script.ts";
import { describeFailure, finishRun } from "./lib/pattern/finish_run.ts";
import { performContainerSpecificSetup, restorePowerState } from "./lib/pattern/flow.ts";
import { InContainer } from "./lib/host/in_container.ts";
import {
  leftoverCommands,
  leftoverCommandsFile,
  processStartTime,
  recordRunningCommands,
} from "./lib/host/leftover_commands.ts";
import { acquireLock, type HeldLock } from "./lib/host/lock.ts";
import { setupLogging } from "./lib/report/logging.ts";
import { Pct } from "./lib/host/pct.ts";
import { untouchedPowerState } from "./lib/host/power_state.ts";
import { executableFacts, readInputs } from "./lib/pattern/read_inputs.ts";
import { RunRecord } from "./lib/report/run_record.ts";
import { RunSupervisor } from "./lib/host/run_supervisor.ts";
import { registerSecretsFromEnv } from "./lib/core/secrets.ts";
import type { Invocation } from "./lib/pattern/validate_inputs.ts";
import { VERSION } from "./lib/core/version.ts";

/** What `main` takes from the outside world; each part is injectable for tests. */
export interface MainOptions {
  readonly args?: readonly string[];
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly invocation?: Invocation;
  readonly runner?: CommandRunner;
  readonly exit?: (code: number) => never;
}

const SIGNALS = [["SIGINT", ExitCode.Interrupted], ["SIGTERM", ExitCode.Terminated]] as const;

/** How long the running commands get to end after the signal is passed on, before SIGKILL. */
const COMMAND_GRACE_MS = 10_000;

/** How long the setup gets to unwind once its commands have ended. */
const UNWIND_GRACE_MS = 5_000;

/**
 * Runs the setup of `module`'s container and exits with the pattern's exit code.
 *
 * @example
 * ```ts ignore
 * import container from "./containers/920.ts";
 * import { main } from "./main.ts";
 * await main(container);
 * ```
 */
export async function main<S>(
  module: ContainerModule<S>,
  options: MainOptions = {},
): Promise<never> {
  const env = options.env ?? Deno.env.toObject();
  const exit = options.exit ?? Deno.exit;
  const name = executableNameFor(module.ctid);
  const record = new RunRecord();
  let subject: Subject = { ctid: module.ctid, kind: module.kind };
  const parsed = await readInputs(executableFacts(module), {
    args: options.args,
    env,
    invocation: options.invocation,
    exit,
  });

  registerSecretsFromEnv(env);
  const log = await setupLogging({ source: name, ...readLogSettings(env) });
  const supervisor = new RunSupervisor();
  const run = options.runner ?? createCommandRunner({ env: commandEnvironment(env), supervisor });
  let lock: HeldLock | undefined;
  let ctx: SetupContext<S> | undefined;
  let shutdownTimeoutSeconds: number = DEFAULTS.shutdownTimeoutSeconds;
  let dryRun = false;
  const reportFile = parsed.reportFile || readReportFile(env);
  const finish = (code: ExitCode, ending: Ending) => {
    clearTimeout(watchdog);
    for (const [signal, listener] of listeners) Deno.removeSignalListener(signal, listener);
    lock?.release();
    return finishRun(code, ending, {
      subject,
      executable: name,
      record,
      reportFile,
      dryRun,
      log,
      exit,
    });
  };

  // A signal or the watchdog stops the run: the first one wins and owns the cleanup.
  let stopping: Promise<never> | undefined;
  let cleanupStage = "";
  const setupDone = Promise.withResolvers<void>();
  const stop = (reason: string, code: ExitCode, forward: Deno.Signal, message: string) => {
    if (stopping) {
      log.warn(`${reason} received while stopping; still ${cleanupStage}`);
      return;
    }
    stopping = (async () => {
      supervisor.stop(reason);
      log.warn(`${message}; it was waiting for: ${supervisor.describe()}`);
      cleanupStage = `waiting for: ${supervisor.describe()}`;
      supervisor.signalAll(forward);
      if (!await supervisor.settle(COMMAND_GRACE_MS)) {
        log.warn(
          `Still running ${COMMAND_GRACE_MS / 1000} s after ${forward}: ` +
            `${supervisor.describe()}; killing it`,
        );
        supervisor.signalAll("SIGKILL");
        await supervisor.settle(COMMAND_GRACE_MS);
      }
      cleanupStage = "waiting for the setup to unwind";
      await Promise.race([setupDone.promise, delay(UNWIND_GRACE_MS)]);
      supervisor.reopen();
      if (ctx) {
        cleanupStage = `restoring container ${module.ctid}'s power state`;
        await restorePowerState(ctx, shutdownTimeoutSeconds);
      }
      cleanupStage = "releasing the lock";
      return await finish(code, {
        failedDuring: `an interruption (${reason})`,
        error: message,
      });
    })();
  };
  const listeners: [Deno.Signal, () => void][] = SIGNALS.map(([signal, code]) => {
    const listener = () =>
      stop(
        signal,
        code,
        signal,
        `Received ${signal}; stopping the setup of container ${module.ctid} (exit code ${code})`,
      );
    Deno.addSignalListener(signal, listener);
    return [signal, listener];
  });
  let watchdog: number | undefined;

  try {
    const settings = readSettings(env);
    shutdownTimeoutSeconds = settings.shutdownTimeoutSeconds;
    const dryRunBy = parsed.dryRun ? "--dry-run" : dryRunRequestedBy(env);
    dryRun = dryRunBy !== undefined;
    watchdog = setTimeout(() =>
      stop(
        "the watchdog",
        ExitCode.Watchdog,
        "SIGTERM",
        `The run has taken longer than PHOENIX_RUN_TIMEOUT ` +
          `(${formatDuration(settings.runTimeoutSeconds * 1000)}); stopping it`,
      ), settings.runTimeoutSeconds * 1000);
    const ctid = module.ctid;
    log.info(
      `phoenix-setup ${VERSION}: ${dryRunBy ? "dry run of the " : ""}setup of ` +
        `${module.kind === "template" ? "template" : "container"} ${ctid} (${module.description})` +
        (dryRunBy ? `; dry run asked for by ${dryRunBy}` : ""),
    );
    const config = await loadModuleConfig(module, settings.configFile, env);
    log.info(
      `Configuration: ${settings.configFile}, entry "${ctid}" (${config.hostname ?? "no name"})`,
    );
    if (!dryRunBy) {
      lock = acquireLock(settings.lockDir, ctid);
      guardAgainstLeftovers(supervisor, leftoverCommandsFile(settings.lockDir, ctid), ctid);
    }

    const produced = module.produces?.(config.settings);
    if (produced) subject = { ...subject, produced };
    const pct = new Pct(
      loggingRunner(run, log, { record, heartbeatIntervalMs: settings.heartbeatSeconds * 1000 }),
      logBatchAnswer(log, record),
    );
    ctx = {
      ctid,
      settings: config.settings,
      container: new InContainer(pct, ctid),
      pct,
      log,
      env,
      hostRoot: settings.hostRoot,
      power: untouchedPowerState(),
      record,
    };
    const found = await checkContainerExists(
      pct,
      ctid,
      settings.hostRoot,
      displayCommand([name, ...options.args ?? Deno.args]),
    );
    const outcome = await performContainerSpecificSetup({
      module,
      ctx,
      ...found,
      snapshotName: config.snapshotName,
      dryRun: dryRunBy !== undefined,
      shutdownTimeoutSeconds: settings.shutdownTimeoutSeconds,
    });
    setupDone.resolve();
    return await (stopping ?? finish(ExitCode.Success, { outcome }));
  } catch (error) {
    setupDone.resolve();
    // While a signal or the watchdog stops the run, the failure is its consequence.
    if (stopping) return await stopping;
    return await finish(...describeFailure(error, log));
  }
}

/**
 * Refuses to work on the container while a command of an earlier, killed run still runs there,
 * then records this run's own running commands for a later run to check.
 */
function guardAgainstLeftovers(supervisor: RunSupervisor, file: string, ctid: string): void {
  const leftovers = leftoverCommands(file);
  if (leftovers.length > 0) {
    const first = leftovers[0];
    throw new SetupError(
      `A command started by an earlier run for container ${ctid}, which was killed, is still ` +
        `running: ${first.command} (process group ${first.pgid}). Wait for it to end, or stop ` +
        `it with 'kill -TERM -- -${first.pgid}', then run again`,
      ExitCode.Locked,
      { phase: "locking" },
    );
  }
  supervisor.observe((running) =>
    recordRunningCommands(
      file,
      running.flatMap(({ pid, argv }) => {
        const startTime = processStartTime(pid);
        return startTime === undefined ? [] : [{
          pgid: pid,
          startTime,
          command: displayCommand(argv),
        }];
      }),
    )
  );
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
