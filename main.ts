/**
 * `main`: the setup pattern's entry point. Each executable is this function applied to one
 * container module (`build.ts` generates the entry file that does it):
 *
 * parseArguments → validateInputs → config → lock → checkContainerExists →
 * performContainerSpecificSetup → exitScript.
 *
 * The first two are `readInputs` (`lib/pattern/read_inputs.ts`), which the entry also calls before
 * it loads this module, so that `--help`, `--version` and invalid input start fast. A signal or the
 * watchdog may stop the run at any point (`lib/pattern/interruption.ts`).
 *
 * @module
 */

import { type CommandRunner, displayCommand } from "./lib/core/command_text.ts";
import { logBatches, loggingRunner } from "./lib/report/logging_runner.ts";
import { createCommandRunner } from "./lib/host/command.ts";
import { commandEnvironment } from "./lib/host/command_environment.ts";
import { checkContainerExists } from "./lib/host/container_exists.ts";
import { confirmLocalContainer, localPct, placementOf } from "./lib/host/local_container.ts";
import { checkOrchestratorArguments } from "./lib/config/orchestrator_arguments.ts";
import { performInsideContainer } from "./lib/pattern/inside_container.ts";
import type { ContainerModule, SetupContext } from "./lib/module/container_module.ts";
import { loadModuleConfig } from "./lib/module/container_config.ts";
import { executableNameFor } from "./lib/core/ctid.ts";
import {
  readLogSettings,
  readPaths,
  readReportFile,
  readSettings,
} from "./lib/config/environment.ts";
import { ExitCode } from "./lib/core/exit_codes.ts";
import type { Ending, Subject } from "./lib/pattern/exit_script.ts";
import { describeFailure, finishForwardedRun, finishRun } from "./lib/pattern/finish_run.ts";
import {
  exitCodeOf,
  performContainerSpecificSetup,
  restorePowerState,
} from "./lib/pattern/flow.ts";
import { listenForInterruptions } from "./lib/pattern/interruption.ts";
import { InContainer } from "./lib/host/in_container.ts";
import { guardAgainstLeftovers } from "./lib/host/leftover_commands.ts";
import { acquireLock, type HeldLock } from "./lib/host/lock.ts";
import { setupLogging } from "./lib/report/logging.ts";
import { Pct } from "./lib/host/pct.ts";
import { untouchedPowerState } from "./lib/host/power_state.ts";
import { executableFacts, readInputs } from "./lib/pattern/read_inputs.ts";
import { RunRecord } from "./lib/report/run_record.ts";
import { RunSupervisor } from "./lib/host/run_supervisor.ts";
import { registerSecretsFromEnv } from "./lib/core/secrets.ts";
import type { Invocation } from "./lib/pattern/validate_inputs.ts";
import { stampOf } from "./lib/pattern/provenance.ts";
import { openingLine, runModeOf } from "./lib/pattern/run_mode.ts";
import { ClusterRun } from "./lib/pattern/cluster_run.ts";
import { sendReport } from "./lib/pattern/forwarded_run.ts";

/** What `main` takes from the outside world; each part is injectable for tests. */
export interface MainOptions {
  readonly args?: readonly string[];
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly invocation?: Invocation;
  readonly runner?: CommandRunner;
  readonly exit?: (code: number) => never;
}

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
  const exit = options.exit ?? Deno.exit;
  const executable = executableNameFor(module.ctid);
  const own = options.env ?? Deno.env.toObject();
  // Forwarded here by another cluster node: its settings arrive on standard input.
  const cluster = await ClusterRun.start(own, executable, exit);
  const env = cluster.env(own);
  const record = new RunRecord();
  let subject: Subject = { ctid: module.ctid, kind: module.kind };
  const parsed = await readInputs(executableFacts(module), {
    args: options.args,
    env,
    invocation: options.invocation,
    exit,
  });

  registerSecretsFromEnv(env);
  const log = await setupLogging({
    source: executable,
    ...readLogSettings(env),
    forwarded: cluster.forwardedHere,
  });
  const supervisor = new RunSupervisor();
  const run = options.runner ?? createCommandRunner({ env: commandEnvironment(env), supervisor });
  let lock: HeldLock | undefined;
  let dryRun = false;
  // A forwarded run reports to the node it came from, which writes the report file.
  const reportFile = cluster.forwardedHere ? undefined : parsed.reportFile || readReportFile(env);
  const finish = (code: ExitCode, ending: Ending) => {
    interruption.end();
    lock?.release();
    cluster.release();
    const remote = cluster.remoteReport;
    if (remote) return finishForwardedRun(code, remote, { reportFile, log, exit });
    return finishRun(code, ending, {
      subject,
      executable,
      record,
      reportFile,
      ...(cluster.forwardedHere && { sendReport }),
      dryRun,
      log,
      exit,
    });
  };
  // A signal or the watchdog stops the run: the first one wins and owns the cleanup.
  const interruption = listenForInterruptions({ ctid: module.ctid, log, supervisor, finish });
  cluster.listen(interruption, module.ctid);

  try {
    const settings = readSettings(env);
    const mode = runModeOf(parsed, env);
    dryRun = mode.dryRunBy !== undefined;
    interruption.startWatchdog(settings.runTimeoutSeconds);
    const ctid = module.ctid;
    log.info(openingLine(mode, module));
    // On the host, or inside the container itself (the newest orchestrator), with no pct.
    const place = await placementOf(env, settings, options.invocation?.execPath ?? Deno.execPath());
    const inside = place.inside;
    if (place.note) log.info(place.note);
    if (!inside) await cluster.locate(settings.hostRoot, ctid, dryRun, log);
    const config = await loadModuleConfig(module, place.configFile, env);
    if (parsed.orchestrator) checkOrchestratorArguments(parsed.orchestrator, config.source);
    log.info(
      `Configuration: ${cluster.configOrigin ?? place.configFile}, entry "${ctid}" ` +
        `(${config.hostname ?? "no name"})`,
    );
    if (inside) await confirmLocalContainer(ctid, config.hostname, settings.hostRoot);
    if (!dryRun && cluster.runsHere) {
      lock = acquireLock(settings.lockDir, ctid);
      guardAgainstLeftovers(supervisor, settings.lockDir, ctid);
    }
    if (!dryRun) cluster.lock(settings.hostRoot, ctid);
    if (!cluster.runsHere) {
      const code = await cluster.forward({
        ctid,
        run,
        log,
        executablePath: options.invocation?.execPath ?? Deno.execPath(),
        executableName: executable,
        mode: { ...mode, dryRun },
        env,
        config: { file: place.configFile, text: config.source.loaded.text },
        settings,
      });
      interruption.setupEnded();
      return await (interruption.stopping ??
        finish(code as ExitCode, { failedDuring: "the run on another node" }));
    }
    cluster.watch(settings.hostRoot, ctid, interruption);

    const produced = module.produces?.(config.settings);
    if (produced) subject = { ...subject, produced };
    const logged = loggingRunner(run, log, {
      record,
      heartbeatIntervalMs: settings.heartbeatSeconds * 1000,
    });
    const pct = new Pct(inside ? localPct(logged, ctid) : logged, logBatches(log, record));
    const ctx: SetupContext<S> = {
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
    interruption.restoreWith(() => restorePowerState(ctx, settings.shutdownTimeoutSeconds));
    const commandLine = displayCommand([executable, ...options.args ?? Deno.args]);
    const found = await checkContainerExists(pct, ctid, settings.hostRoot, commandLine);
    const setup = { module, ctx, snapshotName: config.snapshotName, dryRun };
    const outcome = inside
      ? await performInsideContainer({ ...setup, evidence: inside })
      : await performContainerSpecificSetup({
        ...setup,
        ...found,
        check: mode.check,
        refresh: mode.refresh,
        stamp: await stampOf(module, config.settings, settings.hostRoot),
        shutdownTimeoutSeconds: settings.shutdownTimeoutSeconds,
      });
    interruption.setupEnded();
    return await (interruption.stopping ?? finish(exitCodeOf(outcome), { outcome }));
  } catch (error) {
    interruption.setupEnded();
    // While a signal or the watchdog stops the run, the failure is its consequence.
    if (interruption.stopping) return await interruption.stopping;
    // pct failing because the container has just left this node: say that, not pct's words.
    const moved = await cluster.movedAway(readPaths(env).hostRoot, module.ctid);
    return await finish(...describeFailure(moved ?? error, log));
  }
}
