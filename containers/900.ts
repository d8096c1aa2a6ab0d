/**
 * 900 BaseTemplate: the root of the template hierarchy, which every other container is cloned
 * from. Brings the OS up to date, installs the base tools, and makes en_US.UTF-8 (the locale the
 * orchestrator runs everything with) generated and the default.
 *
 * @module
 */

import { defineContainer } from "../lib/container_module.ts";
import {
  aptPackages,
  aptUpgrade,
  commandSucceeds,
  fileInContainer,
  localeGenerated,
} from "../lib/steps/mod.ts";

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

export default defineContainer({
  ctid: "900",
  kind: "template",
  description: "Up-to-date OS, base tools and the en_US.UTF-8 locale; snapshot for every template",
  defaultSnapshotName: "base-snapshot",
  settings: () => ({}),
  steps: [
    aptUpgrade(),
    aptPackages(
      // ca-certificates: packages are installed without recommends, and every later https
      // download (NVIDIA's installer and repository key, Docker images) needs it.
      ["curl", "wget", "vim", "htop", "jq", "git", "rsync", "gnupg", "locales", "ca-certificates"],
      { name: "Install the base tools" },
    ),
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
