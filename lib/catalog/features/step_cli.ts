/**
 * `step_cli`: smallstep's `step` CLI from smallstep's apt repository, whose signing key is
 * accepted only when its fingerprint is the pinned one.
 *
 * The fingerprint is not compiled in: it could not be checked against smallstep's published key
 * when this was written, and a wrong pin would fail every run. It comes from
 * `PHOENIX_STEP_KEY_FINGERPRINT` (40 hex digits, the primary key's fingerprint as
 * `gpg --show-keys` prints it). Without it the run fails before anything changed (exit 2).
 *
 * @module
 */

import { ConfigError } from "../../core/errors.ts";
import type { SetupContext } from "../../module/container_module.ts";
import { aptPackages, aptSourceFile, commandSucceeds } from "../../steps/mod.ts";
import { definePart } from "./feature.ts";

/** smallstep's apt signing key. */
export const SMALLSTEP_KEY_URL = "https://packages.smallstep.com/keys/apt/repo-signing-key.gpg";

/** Where the key goes: ASCII-armored, which apt reads as it is when the name ends in `.asc`. */
export const SMALLSTEP_KEY = "/etc/apt/keyrings/smallstep.asc";

/** The apt source of smallstep's stable Debian packages. */
export const SMALLSTEP_SOURCE = "/etc/apt/sources.list.d/smallstep.list";

const FINGERPRINT = /^[0-9A-F]{40}$/;

/**
 * Downloads the key to a private temporary file, refuses it unless its fingerprint is `$2`, and
 * only then installs it as `$3`. Values arrive as positional parameters.
 */
const FETCH_PINNED_KEY = [
  "set -eu",
  "tmp=$(mktemp)",
  "trap 'rm -f \"$tmp\"' EXIT",
  'curl -fsSL --retry 3 -o "$tmp" "$1"',
  'found=$(gpg --show-keys --with-colons "$tmp" | awk -F: \'$1 == "fpr" { print $10; exit }\')',
  'if [ "$found" != "$2" ]; then',
  '  echo "smallstep\'s apt key has fingerprint ${found:-none}, expected $2; not installed" >&2',
  "  exit 1",
  "fi",
  'install -D -m 0644 "$tmp" "$3"',
].join("\n");

/** What the steps need. */
export interface StepCliSettings {
  /** The pinned fingerprint, upper-case hex; absent when not given. */
  readonly fingerprint?: string;
}

function pinned(ctx: SetupContext<StepCliSettings>): string {
  const fingerprint = ctx.settings.fingerprint;
  if (fingerprint === undefined) {
    throw new ConfigError(
      `PHOENIX_STEP_KEY_FINGERPRINT is not set: the step_cli feature of container ${ctx.ctid} ` +
        "installs smallstep's apt key only when its fingerprint is the pinned one. Set it to " +
        `the 40 hex digits of the key at ${SMALLSTEP_KEY_URL}, checked with smallstep`,
    );
  }
  return fingerprint;
}

/** Shows the installed key, with its fingerprint. */
const SHOW_KEY = ["gpg", "--show-keys", "--with-colons", SMALLSTEP_KEY];

/** The fingerprint of the installed key, or `undefined` when there is none. */
async function installedFingerprint(ctx: SetupContext<StepCliSettings>) {
  const shown = await ctx.container.exec(SHOW_KEY);
  if (shown.exitCode !== 0) return undefined;
  return /^fpr:(?:[^:]*:){8}([0-9A-F]{40}):/m.exec(shown.stdout)?.[1];
}

/** The `step_cli` feature. */
export const stepCli = definePart<StepCliSettings>({
  name: "step_cli",
  summary: "smallstep's step CLI from smallstep's apt repository (key pinned by fingerprint)",
  reads: [],
  settings: (_config, env) => {
    const given = env.PHOENIX_STEP_KEY_FINGERPRINT?.replace(/\s+/g, "").toUpperCase();
    if (!given) return {};
    if (!FINGERPRINT.test(given)) {
      throw new ConfigError(
        "PHOENIX_STEP_KEY_FINGERPRINT must be a key fingerprint of 40 hex digits, found " +
          JSON.stringify(env.PHOENIX_STEP_KEY_FINGERPRINT),
      );
    }
    return { fingerprint: given };
  },
  requirements: [{
    name: "Check the pinned fingerprint of smallstep's apt key (PHOENIX_STEP_KEY_FINGERPRINT)",
    check: (ctx) => Promise.resolve(pinned(ctx) !== ""),
    action: () => Promise.resolve(),
  }],
  steps: [
    aptPackages(["ca-certificates", "curl", "gnupg"], {
      name: "Install what fetching smallstep's key needs (ca-certificates, curl, gnupg)",
    }),
    {
      name: "Add smallstep's apt key, if its fingerprint is the pinned one",
      probes: () => [SHOW_KEY],
      check: async (ctx) => await installedFingerprint(ctx) === pinned(ctx),
      action: async (ctx) => {
        await ctx.container.runScript(
          FETCH_PINNED_KEY,
          [SMALLSTEP_KEY_URL, pinned(ctx), SMALLSTEP_KEY],
          { timeoutMs: 300_000 },
        );
      },
    },
    aptSourceFile({
      path: SMALLSTEP_SOURCE,
      content:
        `deb [signed-by=${SMALLSTEP_KEY}] https://packages.smallstep.com/stable/debian debs main\n`,
    }),
    aptPackages(["step-cli"]),
  ],
  verification: [commandSucceeds(["step", "version"], { name: "step version runs" })],
});
