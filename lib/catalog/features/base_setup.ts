/**
 * `base_setup`: an up-to-date OS, the base tools every later layer uses, and en_US.UTF-8 (the
 * locale the orchestrator runs everything with) generated and made the default.
 *
 * @module
 */

import {
  aptPackages,
  aptUpgrade,
  commandSucceeds,
  fileInContainer,
  localeGenerated,
} from "../../steps/mod.ts";
import { definePart } from "./feature.ts";

/** What `locale -a` lists once en_US.UTF-8 is generated. */
const EN_US_LISTED = /^en_US\.utf-?8$/im;

/** Each base tool and the command proving it runs. */
const TOOLS: readonly (readonly string[])[] = [
  ["curl", "--version"],
  ["wget", "--version"],
  ["vim", "--version"],
  ["htop", "--version"],
  ["jq", "--version"],
  ["git", "--version"],
  ["rsync", "--version"],
  ["gpg", "--version"],
];

/**
 * The base tools `base_setup` installs with apt. ca-certificates: packages are installed without
 * recommends, and every later https download (NVIDIA's installer and repository key, Docker
 * images) needs it.
 */
export const BASE_PACKAGES: readonly string[] = [
  "curl",
  "wget",
  "vim",
  "htop",
  "jq",
  "git",
  "rsync",
  "gnupg",
  "locales",
  "ca-certificates",
];

/** The `base_setup` feature. */
export const baseSetup = definePart({
  name: "base_setup",
  summary: `apt upgrade, the base tools (${BASE_PACKAGES.join(" ")}) and the en_US.UTF-8 ` +
    "locale as the default",
  reads: [],
  settings: () => ({}),
  steps: [
    aptUpgrade(),
    aptPackages(BASE_PACKAGES, { name: "Install the base tools" }),
    localeGenerated("en_US.UTF-8"),
    fileInContainer({
      name: "Make en_US.UTF-8 the default locale",
      path: "/etc/default/locale",
      content: "LANG=en_US.UTF-8\n",
    }),
  ],
  verification: [
    ...TOOLS.map((argv) => commandSucceeds(argv)),
    commandSucceeds(["locale", "-a"], {
      name: "locale -a lists en_US.utf8",
      expectOutput: EN_US_LISTED,
    }),
  ],
});
