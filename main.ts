/**
 * `main`: the setup pattern's entry point. Each executable is this function applied to one
 * container module (`build.ts` generates the two-line entry file that does it):
 *
 * parseArguments → validateInputs → config → lock → checkContainerExists →
 * performContainerSpecificSetup → exitScript.
 *
 * @module
 */

import process from "node:process";
import { parseArguments, usage } from "./lib/arguments.ts";
import { type CommandRunner, loggingRunner, zxRunner } from "./lib/command.ts";
import { checkContainerExists } from "./lib/container_exists.ts";
import type { ContainerModule, SetupContext } from "./lib/container_module.ts";
import { loadModuleConfig } from "./lib/container_config.ts";
import { executableNameFor } from "./lib/ctid.ts";
import { readLogSettings, readSettings } from "./lib/environment.ts";
import { SetupError } from "./lib/errors.ts";
import { ExitCode } from "./lib/exit_codes.ts";
import { exitScript } from "./lib/exit_script.ts";
import { performContainerSpecificSetup } from "./lib/flow.ts";
import { InContainer } from "./lib/in_container.ts";
import { acquireLock, type HeldLock } from "./lib/lock.ts";
import { type Log, setupLogging } from "./lib/logging.ts";
import { Pct } from "./lib/pct.ts";
import { type PowerState, untouchedPowerState } from "./lib/power_state.ts";
import { registerSecretsFromEnv } from "./lib/secrets.ts";
import { type Invocation, validateInputs } from "./lib/validate_inputs.ts";
import { VERSION } from "./lib/version.ts";

/** What `main` takes from the outside world; each part is injectable for tests. */
export interface MainOptions {
  readonly args?: readonly string[];
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly invocation?: Invocation;
  readonly runner?: CommandRunner;
  readonly exit?: (code: number) => never;
}

const SIGNALS = [["SIGINT", ExitCode.Interrupted], ["SIGTERM", ExitCode.Terminated]] as const;

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
  const args = options.args ?? Deno.args;
  const env = options.env ?? Deno.env.toObject();
  const exit = options.exit ?? Deno.exit;
  const name = executableNameFor(module.ctid);
  const subject = { ctid: module.ctid, kind: module.kind };

  let parsed;
  let usageError: unknown;
  try {
    parsed = parseArguments(args);
  } catch (error) {
    usageError = error;
  }
  if (parsed?.action === "help") {
    console.log(`${usage(name, module.ctid)}\n\n${module.description}`);
    return exit(ExitCode.Success);
  }
  if (parsed?.action === "version") {
    console.log(`${name} (phoenix-setup ${VERSION}) for container ${module.ctid}`);
    return exit(ExitCode.Success);
  }

  registerSecretsFromEnv(env);
  const log = await setupLogging({ source: name, ...readLogSettings(env) });
  let lock: HeldLock | undefined;
  const listeners: [Deno.Signal, () => void][] = [];
  const finish = (code: ExitCode, ending: Parameters<typeof exitScript>[2]) => {
    for (const [signal, listener] of listeners) Deno.removeSignalListener(signal, listener);
    lock?.release();
    return exitScript(code, subject, ending, log, exit);
  };

  try {
    if (usageError || !parsed) {
      console.error(usage(name, module.ctid));
      throw usageError;
    }
    const invocation = options.invocation ?? { argv0: process.argv0, execPath: Deno.execPath() };
    validateInputs(parsed.ctid, module.ctid, invocation);
    const settings = readSettings(env);
    const ctid = module.ctid;
    log.info(
      `phoenix-setup ${VERSION}: ${parsed.dryRun ? "dry run of the " : ""}setup of ` +
        `${module.kind === "template" ? "template" : "container"} ${ctid} (${module.description})`,
    );
    const config = await loadModuleConfig(module, settings.configFile, env);
    log.info(
      `Configuration: ${settings.configFile}, entry "${ctid}" (${config.hostname ?? "no name"})`,
    );
    if (!parsed.dryRun) lock = acquireLock(settings.lockDir, ctid);

    const pct = new Pct(loggingRunner(options.runner ?? zxRunner, log));
    const ctx: SetupContext<S> = {
      ctid,
      settings: config.settings,
      container: new InContainer(pct, ctid),
      pct,
      log,
      env,
      hostRoot: settings.hostRoot,
      power: untouchedPowerState(),
    };
    // The first signal wins; a second one while cleaning up changes nothing.
    let interruption: Promise<never> | undefined;
    for (const [signal, code] of SIGNALS) {
      const listener = () => {
        interruption ??= interrupted(signal, code, ctx).then(() =>
          finish(code, { failedDuring: `an interruption (${signal})` })
        );
      };
      Deno.addSignalListener(signal, listener);
      listeners.push([signal, listener]);
    }

    const status = await checkContainerExists(pct, ctid);
    const outcome = await performContainerSpecificSetup({
      module,
      ctx,
      status,
      snapshotName: config.snapshotName,
      dryRun: parsed.dryRun,
      shutdownTimeoutSeconds: settings.shutdownTimeoutSeconds,
    });
    return await finish(ExitCode.Success, { outcome });
  } catch (error) {
    return await finish(...describeFailure(error, log));
  }
}

/** Logs why the run failed and picks its exit code and phase. */
function describeFailure(error: unknown, log: Log): [ExitCode, { failedDuring: string }] {
  if (error instanceof SetupError) {
    log.error(error.message);
    return [error.exitCode, { failedDuring: error.phase ?? "setup" }];
  }
  log.error(`Unexpected error (a bug; please report it): ${(error as Error)?.stack ?? error}`);
  return [ExitCode.Internal, { failedDuring: "an unexpected error" }];
}

/** On SIGINT/SIGTERM: say so and start the container again if this run had shut it down. */
async function interrupted<S>(
  signal: string,
  code: ExitCode,
  ctx: SetupContext<S>,
): Promise<void> {
  const power: PowerState = ctx.power;
  ctx.log.warn(
    `Received ${signal}; stopping the setup of container ${ctx.ctid} (exit code ${code})`,
  );
  if (!power.stoppedByUs) return;
  ctx.log.warn(`Starting container ${ctx.ctid} again, as this run had shut it down`);
  try {
    await ctx.pct.start(ctx.ctid);
    power.stoppedByUs = false;
  } catch (error) {
    ctx.log.error(`Could not start container ${ctx.ctid} again: ${(error as Error).message}`);
  }
}
