/**
 * Readiness probes run inside the container (so they test what the container itself sees,
 * with no firewall or routing between), polled with a deadline and exponential backoff.
 *
 * @module
 */

import type { SetupContext, Verification } from "../module/container_module.ts";
import { CommandError, TIMEOUT_EXIT_CODE } from "../core/command_text.ts";
import { readyTimeoutOverrideMs } from "../config/environment.ts";
import { type Clock, describeWait, type ProbeResult, waitFor } from "../core/wait.ts";

/** How long and how often a probe polls. */
export interface PollOptions {
  /** Give up after this many milliseconds; `PHOENIX_READY_TIMEOUT` (seconds) replaces it. */
  readonly timeoutMs: number;
  /** The first pause between probes. Default 1000 ms. */
  readonly initialDelayMs?: number;
  /** The longest pause between probes. Default 15000 ms. */
  readonly maxDelayMs?: number;
  /** Injected time, for tests. */
  readonly clock?: Clock;
}

/** An HTTP readiness probe. */
export interface HttpReadyOptions<S = unknown> extends PollOptions {
  /**
   * The URL, as seen from inside the container, e.g. `http://localhost:8000/health`; or a
   * function of the context giving it (e.g. a port from the config's settings).
   */
  readonly url: string | ((ctx: SetupContext<S>) => string);
  /** The status code(s) that mean ready. Default 200. */
  readonly expect?: number | readonly number[];
  /** Accept any TLS certificate (`curl -k`), e.g. a self-signed one on `https://localhost`. */
  readonly insecure?: boolean;
  /** Seconds one request may take (`curl --max-time`). Default 10. */
  readonly requestTimeoutSeconds?: number;
  /** The verification's name; default `GET <url> answers <expect>`. */
  readonly name?: string;
}

/** The curl command of {@linkcode probeHttp}: prints the status code of one `GET url`. */
function httpProbeArgv(
  options: Pick<HttpReadyOptions<unknown>, "insecure" | "requestTimeoutSeconds">,
  url: string,
): string[] {
  return [
    "curl",
    "-s",
    ...(options.insecure ? ["-k"] : []),
    "--max-time",
    String(options.requestTimeoutSeconds ?? 10),
    "-o",
    "/dev/null",
    "-w",
    "%{http_code}",
    url,
  ];
}

/**
 * The status code of one `GET url` from inside the container, as a probe result. curl prints
 * `000` when it got no answer at all.
 */
export async function probeHttp<S>(
  ctx: SetupContext<S>,
  options: HttpReadyOptions<S> & { readonly url: string },
): Promise<ProbeResult> {
  const expected = [options.expect ?? 200].flat();
  const timeout = options.requestTimeoutSeconds ?? 10;
  const result = await ctx.container.exec(httpProbeArgv(options, options.url), {
    timeoutMs: (timeout + 30) * 1000,
  });
  const code = result.stdout.trim();
  if (expected.includes(Number(code))) return { ready: true };
  if (code && code !== "000") return { ready: false, detail: `HTTP ${code}` };
  const said = result.stderr.trim().split("\n").pop();
  const why = CURL_FAILURES[result.exitCode] ?? `no HTTP answer (curl exit ${result.exitCode})`;
  return { ready: false, detail: `${why}${said ? ` (${said})` : ""}` };
}

/** What curl's exit codes mean when no HTTP answer came (curl -s prints nothing itself). */
const CURL_FAILURES: Record<number, string> = {
  6: "host name not resolved",
  7: "connection refused",
  28: "no answer in time",
  35: "TLS handshake failed",
  52: "empty reply",
  56: "connection reset",
  60: "certificate not trusted",
};

/**
 * A verification that polls `url` with curl inside the container until it answers with an
 * expected status code, or fails when `timeoutMs` has passed. A fixed URL is checked when the
 * module is defined, one derived from the context when the verification runs.
 *
 * @example
 * ```ts
 * import { httpReady } from "./probes.ts";
 * const verification = httpReady({ url: "http://localhost:8000/health", timeoutMs: 900_000 });
 * const fromSettings = httpReady<{ port: number }>({
 *   name: "The server answers /health",
 *   url: (ctx) => `http://localhost:${ctx.settings.port}/health`,
 *   timeoutMs: 900_000,
 * });
 * ```
 */
export function httpReady<S>(options: HttpReadyOptions<S>): Verification<S> {
  const fixed = typeof options.url === "string" ? httpUrl(options.url) : undefined;
  const urlOf = (ctx: SetupContext<S>) =>
    fixed ?? httpUrl((options.url as (ctx: SetupContext<S>) => string)(ctx));
  const expected = [options.expect ?? 200].flat();
  const shown = typeof options.url === "string" ? options.url : "the service";
  return {
    name: options.name ?? `GET ${shown} answers ${expected.join(" or ")}`,
    // The first attempt: on a re-run the service answers at once, in the batch of checks.
    probes: (ctx) => [httpProbeArgv(options, urlOf(ctx))],
    run: async (ctx) => {
      const url = urlOf(ctx);
      const attempts = await narratedWait(
        ctx,
        `${url} to answer ${expected.join(" or ")} in container ${ctx.ctid}`,
        () => probeHttp(ctx, { ...options, url }),
        options,
      );
      ctx.log.info(`${url} answered in container ${ctx.ctid} (attempt ${attempts})`);
    },
  };
}

/** `url` itself, when it is an http or https URL. */
function httpUrl(url: string): string {
  const protocol = URL.parse(url)?.protocol;
  if (protocol !== "http:" && protocol !== "https:") {
    throw new TypeError(`Cannot probe "${url}": expected an http or https URL`);
  }
  return url;
}

/**
 * Polls `probe` with the probe's deadline and backoff, saying after each attempt what it answered
 * and when the next comes. Each attempt's commands are logged as a check's (DEBUG): "connection
 * refused" is an answer here, not a failure.
 */
function narratedWait<S>(
  ctx: SetupContext<S>,
  what: string,
  probe: () => Promise<ProbeResult>,
  options: PollOptions,
): Promise<number> {
  const label = ctx.record.activity?.label ?? "Probe";
  return waitFor(what, () => ctx.record.during({ label, checking: true }, probe), {
    timeoutMs: readyTimeoutOverrideMs(ctx.env) ?? options.timeoutMs,
    initialDelayMs: options.initialDelayMs ?? 1000,
    maxDelayMs: options.maxDelayMs ?? 15_000,
    clock: options.clock,
    onRetry: (progress) => ctx.log.info(describeWait(what, progress)),
  });
}

/** A TCP readiness probe. */
export interface TcpReadyOptions extends PollOptions {
  /** The host as seen from inside the container. Default `127.0.0.1`. */
  readonly host?: string;
  /** The port. */
  readonly port: number;
  /** Seconds one connection attempt may take. Default 5. */
  readonly connectTimeoutSeconds?: number;
  /** The verification's name; default `<host>:<port> accepts connections`. */
  readonly name?: string;
}

/** Opens bash's `/dev/tcp/$1/$2`; values are positional parameters, never script text. */
const TCP_CONNECT = 'timeout "$3" bash -c \'exec 3<>"/dev/tcp/$1/$2"\' tcp "$1" "$2"';

/** The command of {@linkcode probeTcp}: one connection attempt, by bash. */
function tcpProbeArgv(options: TcpReadyOptions): string[] {
  const host = options.host ?? "127.0.0.1";
  const seconds = options.connectTimeoutSeconds ?? 5;
  return ["bash", "-c", TCP_CONNECT, "bash", host, String(options.port), String(seconds)];
}

/** Whether one TCP connection to `host:port` from inside the container succeeds. */
export async function probeTcp<S>(
  ctx: SetupContext<S>,
  options: TcpReadyOptions,
): Promise<ProbeResult> {
  const seconds = options.connectTimeoutSeconds ?? 5;
  try {
    await ctx.container.run(tcpProbeArgv(options), { timeoutMs: (seconds + 30) * 1000 });
    return { ready: true };
  } catch (error) {
    if (!(error instanceof CommandError)) throw error;
    const { exitCode, stderr } = error.result;
    const why = exitCode === TIMEOUT_EXIT_CODE
      ? "timed out"
      : stderr.trim().split("\n").pop() || "refused";
    return { ready: false, detail: `no connection (${why})` };
  }
}

/**
 * A verification that polls until `host:port` accepts a TCP connection from inside the
 * container, or fails when `timeoutMs` has passed.
 *
 * @example
 * ```ts
 * import { tcpReady } from "./probes.ts";
 * const verification = tcpReady({ port: 9443, timeoutMs: 120_000 });
 * ```
 */
export function tcpReady<S>(options: TcpReadyOptions): Verification<S> {
  const port = options.port;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`Cannot probe port ${port}: expected an integer from 1 to 65535`);
  }
  const host = options.host ?? "127.0.0.1";
  return {
    name: options.name ?? `${host}:${port} accepts connections`,
    // The first attempt, in the batch of checks (see httpReady).
    probes: () => [tcpProbeArgv(options)],
    run: async (ctx) => {
      await narratedWait(
        ctx,
        `${host}:${port} to accept connections in container ${ctx.ctid}`,
        () => probeTcp(ctx, options),
        options,
      );
    },
  };
}
