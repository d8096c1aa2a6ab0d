/**
 * What made a template's snapshot: the stamp every snapshot an executable takes carries, and the
 * differences between a snapshot's stamp and what this executable would make now (drift).
 *
 * The stamp, one line, is the snapshot's description, which `pct listsnapshot` (read by every
 * re-run anyway) shows whole, so comparing costs no `pct` call:
 *
 * ```
 * phoenix-setup 0.1.0 plan=3f2a9c01d4e5 entry=9b1e77aa0c42 driver=580.76.05 parts=nvidia
 * ```
 *
 * The whole record, readable, goes into the container as {@linkcode PROVENANCE_FILE} before the
 * snapshot, so every clone knows which template snapshot it came from.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { VERSION } from "../core/version.ts";
import type { ContainerModule } from "../module/container_module.ts";
import { hostNvidiaDriverVersion } from "../steps/nvidia.ts";

/** Where the full record lies inside a template (and so inside every clone of it). */
export const PROVENANCE_FILE = "/etc/phoenix-setup/provenance.json";

/** What a snapshot was made by, as its stamp line says it. */
export interface Stamp {
  /** The phoenix-setup version that made it. */
  readonly version: string;
  /** Fingerprint of what the executable sets up: its steps, their plan, its verification. */
  readonly plan: string;
  /** Fingerprint of the settings the executable derived from the config entry. */
  readonly entry: string;
  /** The host's NVIDIA driver it was made for (containers with the `nvidia` feature). */
  readonly driver?: string;
  /** The features and application it set up, in order (composed containers). */
  readonly parts: readonly string[];
}

/** The full record written into the container: the stamp and what it stands for. */
export interface ProvenanceRecord extends Stamp {
  readonly tool: "phoenix-setup";
  readonly ctid: string;
  readonly snapshot: string;
  /** When the snapshot was made (UTC, ISO 8601). */
  readonly createdAt: string;
  /** The stamp's first line, as the snapshot's description starts. */
  readonly stamp: string;
  /** The executable's description and its step and verification names: what `plan` hashes. */
  readonly setup: {
    readonly description: string;
    readonly steps: readonly string[];
    readonly verification: readonly string[];
  };
}

/** Hex digits of a fingerprint: enough to tell versions apart, short enough for one line. */
const FINGERPRINT_LENGTH = 12;

function fingerprint(value: unknown): string {
  return createHash("sha256").update(canonicalJson(value)).digest("hex").slice(
    0,
    FINGERPRINT_LENGTH,
  );
}

/** JSON with object keys sorted, functions left out: equal values give equal text. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, item) => {
    if (typeof item === "function") return undefined;
    if (item && typeof item === "object" && !Array.isArray(item)) {
      return Object.fromEntries(Object.entries(item).sort(([a], [b]) => a.localeCompare(b)));
    }
    return item;
  });
}

/** What `plan` hashes: the executable's own account of what it sets up. */
function setupOf<S>(module: ContainerModule<S>): ProvenanceRecord["setup"] & { plan?: string } {
  return {
    description: module.description,
    steps: module.steps.map((step) => step.name),
    verification: module.verification.map((check) => check.name),
    ...(module.plan !== undefined && { plan: module.plan }),
  };
}

/** The features and application of a composed module, in order; none for a hand-written one. */
function partsOf<S>(module: ContainerModule<S>): string[] {
  return [...module.features ?? [], ...module.application ? [module.application] : []];
}

/** Whether the module sets up NVIDIA's user-space driver, so its snapshot depends on the host's. */
export function usesHostDriver<S>(module: ContainerModule<S>): boolean {
  return module.features?.includes("nvidia") ?? false;
}

/**
 * The stamp of what `module` would make now, from `settings` (derived from the config entry) and
 * the host's NVIDIA driver version (for a module that uses it).
 *
 * @example
 * ```ts
 * import { currentStamp } from "./provenance.ts";
 * const module = { ctid: "900", kind: "template", description: "base", settings: () => ({}),
 *   steps: [], verification: [] } as const;
 * currentStamp(module, {}).version; // "0.1.0"
 * ```
 */
export function currentStamp<S>(module: ContainerModule<S>, settings: S, driver?: string): Stamp {
  return {
    version: VERSION,
    plan: fingerprint(setupOf(module)),
    entry: fingerprint(settings),
    ...(driver !== undefined && { driver }),
    parts: partsOf(module),
  };
}

/**
 * The stamp as one line: the snapshot description's first line.
 *
 * @example
 * ```ts
 * import { stampLine } from "./provenance.ts";
 * stampLine({ version: "0.1.0", plan: "aaaaaaaaaaaa", entry: "bbbbbbbbbbbb", parts: ["vllm"] });
 * // "phoenix-setup 0.1.0 plan=aaaaaaaaaaaa entry=bbbbbbbbbbbb parts=vllm"
 * ```
 */
export function stampLine(stamp: Stamp): string {
  return [
    `phoenix-setup ${stamp.version}`,
    `plan=${stamp.plan}`,
    `entry=${stamp.entry}`,
    ...stamp.driver !== undefined ? [`driver=${stamp.driver}`] : [],
    ...stamp.parts.length > 0 ? [`parts=${stamp.parts.join(",")}`] : [],
  ].join(" ");
}

/**
 * Reads a stamp line back; `undefined` for any other text (a snapshot made by hand or by an
 * older version, `no-description`).
 *
 * @example
 * ```ts
 * import { parseStampLine } from "./provenance.ts";
 * parseStampLine("phoenix-setup 0.1.0 plan=aaaaaaaaaaaa entry=bbbbbbbbbbbb driver=580.76.05")?.driver;
 * // "580.76.05"
 * parseStampLine("no-description"); // undefined
 * ```
 */
export function parseStampLine(line: string): Stamp | undefined {
  const match = /^phoenix-setup (\S+)((?: [a-z]+=\S+)+)\s*$/.exec(line.trim());
  if (!match) return undefined;
  const fields = new Map(
    match[2].trim().split(" ").map((pair) => pair.split("=", 2) as [string, string]),
  );
  const plan = fields.get("plan");
  const entry = fields.get("entry");
  if (!plan || !entry) return undefined;
  const driver = fields.get("driver");
  const parts = fields.get("parts");
  return {
    version: match[1],
    plan,
    entry,
    ...(driver !== undefined && { driver }),
    parts: parts ? parts.split(",") : [],
  };
}

/**
 * Each way the snapshot's stamp differs from what this executable would make now, in words, one
 * difference a line; empty when they are in sync.
 *
 * @example
 * ```ts
 * import { driftBetween } from "./provenance.ts";
 * driftBetween(
 *   { version: "0.1.0", plan: "a", entry: "b", driver: "580.76.05", parts: ["nvidia"] },
 *   { version: "0.2.0", plan: "a", entry: "b", driver: "580.159.04", parts: ["nvidia"] },
 * );
 * // ["made by phoenix-setup 0.1.0; this is 0.2.0",
 * //  "made for NVIDIA driver 580.76.05; the host runs 580.159.04"]
 * ```
 */
export function driftBetween(made: Stamp, now: Stamp): string[] {
  const differences: string[] = [];
  if (made.version !== now.version) {
    differences.push(`made by phoenix-setup ${made.version}; this is ${now.version}`);
  }
  if (made.driver !== now.driver) {
    differences.push(
      made.driver === undefined
        ? `made without the NVIDIA driver; the host runs ${now.driver}`
        : now.driver === undefined
        ? `made for NVIDIA driver ${made.driver}; this executable sets up no NVIDIA driver`
        : `made for NVIDIA driver ${made.driver}; the host runs ${now.driver}`,
    );
  }
  const added = now.parts.filter((part) => !made.parts.includes(part));
  const removed = made.parts.filter((part) => !now.parts.includes(part));
  for (const part of added) differences.push(`${part} added to the entry since`);
  for (const part of removed) differences.push(`${part} removed from the entry since`);
  if (made.plan !== now.plan && added.length === 0 && removed.length === 0) {
    differences.push(
      `what the executable sets up changed (plan ${made.plan}; now ${now.plan})` +
        (made.version === now.version ? "" : ", with the version"),
    );
  }
  if (made.entry !== now.entry) {
    differences.push(
      `the settings from the config entry changed (entry ${made.entry}; now ${now.entry})`,
    );
  }
  return differences;
}

/**
 * The full record of a snapshot about to be taken: written into the container before it; its
 * `stamp` is the snapshot's description.
 */
export function provenanceRecord<S>(
  module: ContainerModule<S>,
  stamp: Stamp,
  snapshot: string,
  now: Date = new Date(),
): ProvenanceRecord {
  const { description, steps, verification } = setupOf(module);
  return {
    tool: "phoenix-setup",
    ...stamp,
    ctid: module.ctid,
    snapshot,
    createdAt: now.toISOString(),
    stamp: stampLine(stamp),
    setup: { description, steps, verification },
  };
}

/**
 * Reads a provenance record (the file a template, and so each of its clones, holds); `undefined`
 * for anything that is not one.
 */
export function parseProvenance(text: string): ProvenanceRecord | undefined {
  try {
    const record = JSON.parse(text);
    const valid = record?.tool === "phoenix-setup" && typeof record.ctid === "string" &&
      typeof record.snapshot === "string" && typeof record.stamp === "string";
    return valid ? record : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The stamp a template's snapshot gets from this run, with the host's NVIDIA driver for a module
 * whose snapshot depends on it (the `nvidia` feature; a host without one leaves it out, and the
 * feature's requirement then fails the run in its own words); `undefined` for a standard
 * container, which has no snapshot.
 */
export async function stampOf<S>(
  module: ContainerModule<S>,
  settings: S,
  hostRoot: string,
): Promise<Stamp | undefined> {
  if (module.kind !== "template") return undefined;
  const driver = usesHostDriver(module)
    ? await hostNvidiaDriverVersion(hostRoot).catch(() => undefined)
    : undefined;
  return currentStamp(module, settings, driver);
}
