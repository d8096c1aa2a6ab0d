/**
 * `trusted_ca`: the host's root CA certificate (the Phoenix step-ca root) in the container's
 * trust store, so the container trusts the internal services that CA signs.
 *
 * The certificate is read on the host from `PHOENIX_CA_CERT`, by default
 * {@linkcode DEFAULT_CA_CERT} (under `PHOENIX_HOST_ROOT`, like every host file). A missing or
 * unreadable certificate, or a file that holds no PEM certificate, fails the run with exit 8
 * before anything changed: the requirement runs before every step of the container.
 *
 * @module
 */

import { join } from "node:path";
import type { SetupContext } from "../../module/container_module.ts";
import { ConfigError, SetupError } from "../../core/errors.ts";
import { ExitCode } from "../../core/exit_codes.ts";
import {
  commandSucceeds,
  fileIsCurrent,
  fileIsCurrentProbes,
  writeFileInContainer,
} from "../../steps/mod.ts";
import { definePart } from "./feature.ts";

/** Where the certificate is on the host unless `PHOENIX_CA_CERT` says otherwise. */
export const DEFAULT_CA_CERT = "/usr/local/phoenix_hypervisor/etc/certs/phoenix_root_ca.crt";

/** Where `update-ca-certificates` takes local certificates from (the name must end in .crt). */
export const CONTAINER_CA_CERT = "/usr/local/share/ca-certificates/phoenix_root_ca.crt";

/** The link `update-ca-certificates` makes once the certificate is trusted. */
export const TRUSTED_CA_LINK = "/etc/ssl/certs/phoenix_root_ca.pem";

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;

/** What the steps need: the certificate's host path, and its content once read. */
export interface TrustedCaSettings {
  /** The certificate's path as the host names it. */
  readonly hostPath: string;
}

/** The certificate read during this run, by container: read once, before any change. */
const certificates = new WeakMap<object, string>();

async function certificateOf(ctx: SetupContext<TrustedCaSettings>): Promise<string> {
  const known = certificates.get(ctx.container);
  if (known !== undefined) return known;
  const path = join(ctx.hostRoot, ctx.settings.hostPath);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new SetupError(
      `Cannot read the root CA certificate ${ctx.settings.hostPath} on the host ` +
        `(${error instanceof Deno.errors.NotFound ? "no such file" : (error as Error).message})` +
        `: the trusted_ca feature of container ${ctx.ctid} installs it. Put the certificate ` +
        "there, or set PHOENIX_CA_CERT to its path",
      ExitCode.HostPrerequisite,
      { cause: error },
    );
  }
  if (!PEM_CERTIFICATE.test(text)) {
    throw new SetupError(
      `The file ${ctx.settings.hostPath} on the host holds no PEM certificate (expected ` +
        '"-----BEGIN CERTIFICATE-----"): set PHOENIX_CA_CERT to the root CA certificate',
      ExitCode.HostPrerequisite,
    );
  }
  certificates.set(ctx.container, text);
  return text;
}

/** The `trusted_ca` feature. */
export const trustedCa = definePart<TrustedCaSettings>({
  name: "trusted_ca",
  summary: "the host's root CA certificate (PHOENIX_CA_CERT) in the container's trust store",
  reads: [],
  settings: (_config, env) => {
    const hostPath = env.PHOENIX_CA_CERT?.trim() || DEFAULT_CA_CERT;
    if (!hostPath.startsWith("/")) {
      throw new ConfigError(
        `PHOENIX_CA_CERT must be an absolute path on the host, found ${JSON.stringify(hostPath)}`,
      );
    }
    return { hostPath };
  },
  requirements: [{
    name: "Check the host's root CA certificate (PHOENIX_CA_CERT)",
    check: async (ctx) => {
      await certificateOf(ctx);
      return true;
    },
    action: () => Promise.resolve(),
  }],
  steps: [{
    name: `Trust the host's root CA (${CONTAINER_CA_CERT}, update-ca-certificates)`,
    probes: () => [...fileIsCurrentProbes(CONTAINER_CA_CERT), ["test", "-e", TRUSTED_CA_LINK]],
    check: async (ctx) =>
      await fileIsCurrent(ctx, CONTAINER_CA_CERT, await certificateOf(ctx), "0644") &&
      await ctx.container.succeeds(["test", "-e", TRUSTED_CA_LINK]),
    action: async (ctx) => {
      const certificate = await certificateOf(ctx);
      if (!(await fileIsCurrent(ctx, CONTAINER_CA_CERT, certificate, "0644"))) {
        await writeFileInContainer(ctx, CONTAINER_CA_CERT, certificate, "0644");
      }
      await ctx.container.run(["update-ca-certificates"], { timeoutMs: 300_000 });
    },
  }],
  verification: [
    commandSucceeds(["test", "-e", TRUSTED_CA_LINK], {
      name: "the root CA is in the container's trust store",
    }),
  ],
});
