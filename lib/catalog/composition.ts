/**
 * Container modules made of features and an application, and the rules that say which module a
 * config entry gets.
 *
 * A composed module runs, in order: every part's requirements (read-only, checked before the
 * first change: a missing host driver or certificate fails the run before anything changed, see
 * `Step.requirement`), every feature's steps in the entry's
 * order, the application's steps; then every part's verification; then, for a template, the
 * snapshot. Each part sees its own settings (`ctx.settings`), derived from the entry before any
 * `pct` call.
 *
 * What an entry asks for (its {@linkcode EntryShape}):
 *
 * - kind: `is_template` when the entry has it; otherwise a template when it has
 *   `template_snapshot_name` (the generations without `is_template` mark templates that way, and
 *   their orchestrator snapshots every container that has one); otherwise undecided (standard
 *   when composing);
 * - features: its `features` array; `[]` for the older generations, whose `features` is a Proxmox
 *   flag string (`nesting=1,keyctl=1`) and says nothing about what to install;
 * - application: see `lib/applications/mod.ts`.
 *
 * A module fits an entry when the kinds agree (or the entry does not say), it sets up the same
 * features (in the same order, for a module composed from the entry at build time) and the same
 * application. The executable checks this again at every run, so an entry changed since the
 * build is refused (exit 2) before any `pct` call.
 *
 * @module
 */

import { APPLICATIONS, applicationsOf } from "./applications/mod.ts";
import { type ContainerConfig, entryConfigError } from "../config/read_config.ts";
import type { ContainerEntry } from "../config/schema.ts";
import type {
  ContainerKind,
  ContainerModule,
  SetupContext,
  Step,
  Verification,
} from "../module/container_module.ts";
import type { Environment, Part } from "./features/feature.ts";
import { FEATURES } from "./features/mod.ts";

/** The snapshot of a composed template whose entry has no `template_snapshot_name`. */
export const COMPOSED_SNAPSHOT_NAME = "template-snapshot";

/** What an entry asks for. */
export interface EntryShape {
  /** Template or standard, or `undefined` when the entry does not say. */
  readonly kind: ContainerKind | undefined;
  /** Its feature names in order; `[]` for a generation whose `features` is a flag string. */
  readonly features: readonly string[];
  /** Whether `features` is an array of names (the later generations). */
  readonly listsFeatures: boolean;
  /** The applications it asks for. */
  readonly applications: readonly string[];
}

/**
 * What an entry asks for.
 *
 * @example
 * ```ts
 * import { entryShape } from "./composition.ts";
 * entryShape({ features: ["nvidia", "ollama"], ports: ["11434:11434"] });
 * // { kind: undefined, features: ["nvidia", "ollama"], listsFeatures: true,
 * //   applications: ["ollama-server"] }
 * ```
 */
export function entryShape(entry: ContainerEntry): EntryShape {
  const listsFeatures = Array.isArray(entry.features);
  const features = listsFeatures ? (entry.features as string[]).map((f) => f.trim()) : [];
  const kind = entry.is_template !== undefined
    ? (entry.is_template ? "template" : "standard")
    : entry.template_snapshot_name !== undefined
    ? "template"
    : undefined;
  return { kind, features, listsFeatures, applications: applicationsOf(entry, features) };
}

/** What a module sets up, to compare with what an entry asks for. */
export interface Composition {
  readonly ctid: string;
  readonly kind: ContainerKind;
  /** The config features it sets up, in order. */
  readonly features: readonly string[];
  /** The application it runs, if any. */
  readonly application?: string;
}

/** Why a module does not fit an entry: the field that says so, and what differs. */
export interface Misfit {
  /** The entry's field that asks for something else (`[]`: the entry as a whole). */
  readonly field: readonly string[];
  /** What differs, in words. */
  readonly text: string;
}

/**
 * Why `composition` does not fit `entry`, or `undefined` when it does.
 *
 * @param ordered Compare the features in order (a module composed from the entry), rather than
 *   as sets (a hand-written module).
 *
 * @example
 * ```ts
 * import { misfit } from "./composition.ts";
 * misfit({ ctid: "900", kind: "template", features: ["base_setup"] }, { features: ["docker"] }, false)
 *   ?.text; // 'the entry lists the features ["docker"], but this module sets up ["base_setup"]'
 * ```
 */
export function misfit(
  composition: Composition,
  entry: ContainerEntry,
  ordered: boolean,
): Misfit | undefined {
  const shape = entryShape(entry);
  if (shape.kind !== undefined && shape.kind !== composition.kind) {
    const field = entry.is_template !== undefined ? "is_template" : "template_snapshot_name";
    return {
      field: [field],
      text: `the entry describes a ${shape.kind} (${
        field === "is_template" ? `is_template: ${entry.is_template}` : "it has " + field
      }), but this module sets up a ${composition.kind}`,
    };
  }
  if (shape.listsFeatures) {
    const same = ordered
      ? JSON.stringify(shape.features) === JSON.stringify(composition.features)
      : shape.features.length === composition.features.length &&
        shape.features.every((f) => composition.features.includes(f));
    if (!same) {
      return {
        field: ["features"],
        text: `the entry lists the features ${JSON.stringify(shape.features)}, but this module ` +
          `sets up ${JSON.stringify(composition.features)}`,
      };
    }
  }
  const wanted = shape.applications.join(", ") || undefined;
  if (wanted !== composition.application) {
    return {
      field: [],
      text: `the entry asks for ${wanted ? `the application ${wanted}` : "no application"}, ` +
        `but this module ${
          composition.application ? `runs ${composition.application}` : "runs no application"
        }`,
    };
  }
  return undefined;
}

/** A container module made of parts, with what it sets up and its plan. */
export interface ComposedModule
  extends Omit<ContainerModule<Record<string, unknown>>, "features" | "application">, Composition {
  /** The plan, for `--help`: each part in order, then the snapshot. */
  readonly plan: string;
}

/** What {@linkcode composeContainer} takes. */
export interface CompositionSpec {
  readonly ctid: string;
  readonly kind: ContainerKind;
  /** One line for `--help` and the log; default: the parts in order. */
  readonly description?: string;
  /** The snapshot when the entry has no `template_snapshot_name` (templates). */
  readonly defaultSnapshotName?: string;
  /** The config features, in order. */
  // deno-lint-ignore no-explicit-any
  readonly features: readonly Part<any>[];
  /** The module's own parts after the features (e.g. 903's NVIDIA Container Toolkit). */
  // deno-lint-ignore no-explicit-any
  readonly own?: readonly Part<any>[];
  /** The application, last. */
  // deno-lint-ignore no-explicit-any
  readonly application?: Part<any>;
  /** Features compared in order at run time: a module composed from the entry at build time. */
  readonly fromEntry?: boolean;
}

type Settings = Record<string, unknown>;

/** Each part's view of the run's context: the same context with the part's own settings. */
const views = new WeakMap<object, Map<string, SetupContext<unknown>>>();

function viewOf(ctx: SetupContext<Settings>, name: string): SetupContext<unknown> {
  let byName = views.get(ctx);
  if (!byName) views.set(ctx, byName = new Map());
  let view = byName.get(name);
  if (!view) byName.set(name, view = { ...ctx, settings: ctx.settings[name] });
  return view;
}

function scopedStep(step: Step<unknown>, name: string): Step<Settings> {
  return {
    name: step.name,
    check: (ctx) => step.check(viewOf(ctx, name)),
    action: (ctx) => step.action(viewOf(ctx, name)),
    ...step.probes && { probes: (ctx) => step.probes!(viewOf(ctx, name)) },
    ...step.requirement && { requirement: true },
    ...step.hostSide && { hostSide: step.hostSide },
  };
}

function scopedVerification(check: Verification<unknown>, name: string): Verification<Settings> {
  return {
    name: check.name,
    run: (ctx) => check.run(viewOf(ctx, name)),
    ...check.probes && { probes: (ctx) => check.probes!(viewOf(ctx, name)) },
  };
}

/**
 * A container module made of features, the module's own parts and an application.
 *
 * @example
 * ```ts
 * import { composeContainer } from "./composition.ts";
 * import { baseSetup } from "./features/mod.ts";
 * const module = composeContainer({
 *   ctid: "900",
 *   kind: "template",
 *   defaultSnapshotName: "base-snapshot",
 *   features: [baseSetup],
 * });
 * module.features; // ["base_setup"]
 * ```
 */
export function composeContainer(spec: CompositionSpec): ComposedModule {
  const parts = [
    ...spec.features,
    ...spec.own ?? [],
    ...spec.application ? [spec.application] : [],
  ];
  const names = parts.map((part) => part.name);
  if (new Set(names).size !== names.length) {
    throw new TypeError(`A container cannot have the same part twice: ${names.join(", ")}`);
  }
  const composition: Composition = {
    ctid: spec.ctid,
    kind: spec.kind,
    features: spec.features.map((f) => f.name),
    application: spec.application?.name,
  };
  const snapshot = spec.kind === "template"
    ? spec.defaultSnapshotName ?? COMPOSED_SNAPSHOT_NAME
    : undefined;
  return {
    ...composition,
    description: spec.description ?? describeParts(composition),
    defaultSnapshotName: snapshot,
    plan: planText(spec.ctid, spec.kind, parts, snapshot),
    settings: (config: ContainerConfig, env: Environment) => {
      const settings: Settings = {};
      for (const part of parts) settings[part.name] = part.settings(config, env);
      const problem = misfit(composition, config.entry, spec.fromEntry ?? false);
      if (problem !== undefined) {
        throw entryConfigError(
          config,
          [...problem.field],
          `${problem.text}; ${
            spec.fromEntry
              ? "the entry changed since this executable was built: build it again " +
                "(deno task build --config FILE)"
              : "build the executables from this config (deno task build --config FILE)"
          }`,
        );
      }
      return settings;
    },
    steps: [
      ...parts.flatMap((part) =>
        (part.requirements ?? []).map((s) => ({ ...scopedStep(s, part.name), requirement: true }))
      ),
      ...parts.flatMap((part) => part.steps.map((s) => scopedStep(s, part.name))),
    ],
    verification: parts.flatMap((part) =>
      part.verification.map((v) => scopedVerification(v, part.name))
    ),
    produces: (settings: Settings) => {
      const said = parts.flatMap((part) =>
        part.produces ? [part.produces(settings[part.name])] : []
      );
      return said.length > 0 ? said.join("; ") : undefined;
    },
  };
}

/** `features a, b; application c` */
function describeParts(composition: Composition): string {
  const features = composition.features.length > 0
    ? `features ${composition.features.join(", ")}`
    : "no features";
  return composition.application ? `${features}; application ${composition.application}` : features;
}

// deno-lint-ignore no-explicit-any
function planText(ctid: string, kind: ContainerKind, parts: Part<any>[], snapshot?: string) {
  const lines = parts.map((part, i) => {
    const what = Object.hasOwn(FEATURES, part.name)
      ? "feature"
      : Object.hasOwn(APPLICATIONS, part.name)
      ? "application"
      : "part";
    return `  ${i + 1}. ${what} ${part.name}: ${part.summary}`;
  });
  const end = kind === "template"
    ? [
      `  then: shut down, take the snapshot (template_snapshot_name, default "${snapshot}"), ` +
      "start again",
    ]
    : [];
  return [`Plan for container ${ctid} (${kind}), in order:`, ...lines, ...end].join("\n");
}

/**
 * The module composed from an entry's features and application, as `build.ts` embeds it: the
 * feature and application names are resolved here, in the executable.
 *
 * @throws {TypeError} For a name that is not a supported feature or application (the build
 *   never embeds one).
 */
export function composedModule(composition: Composition): ComposedModule {
  const features = composition.features.map((name) => {
    const feature = FEATURES[name];
    if (!feature) throw new TypeError(`Unsupported feature "${name}"`);
    return feature;
  });
  const application = composition.application === undefined
    ? undefined
    : APPLICATIONS[composition.application]?.part;
  if (composition.application !== undefined && !application) {
    throw new TypeError(`Unsupported application "${composition.application}"`);
  }
  return composeContainer({
    ctid: composition.ctid,
    kind: composition.kind,
    features,
    application,
    fromEntry: true,
  });
}

/** What the build does for one CTID of a config. */
export type BuildChoice =
  | { readonly ctid: string; readonly use: "module"; readonly module: ContainerModule<unknown> }
  | {
    readonly ctid: string;
    readonly use: "composed";
    readonly composition: Composition;
    /** Why the hand-written module was not used, when there is one. */
    readonly instead?: string;
  }
  | { readonly ctid: string; readonly use: "skipped"; readonly reason: string };

/**
 * Which module entry `ctid` gets: the hand-written one when it fits, else one composed from the
 * entry, else none and why. Every module's settings are derived once here, so an entry the
 * executable would refuse (exit 2) is reported now.
 *
 * @param config The entry, validated by the common schema.
 * @param handWritten The module of `containers/<ctid>.ts`, if there is one.
 */
export function chooseModule(
  config: ContainerConfig,
  handWritten?: ContainerModule<unknown>,
): BuildChoice {
  const { ctid, entry } = config;
  const shape = entryShape(entry);
  const write = `write containers/${ctid}.ts to set it up`;
  let instead: string | undefined;
  const skipped = (reason: string): BuildChoice => ({
    ctid,
    use: "skipped",
    reason: instead ? `${instead}; and composing from the entry: ${reason}` : reason,
  });
  const settingsProblem = (module: ContainerModule<unknown>) => {
    try {
      // No environment: the build machine's tokens and paths are not the host's.
      module.settings(config, {});
      return undefined;
    } catch (error) {
      return (error as Error).message;
    }
  };

  const declared = handWritten as (ContainerModule<unknown> & Partial<Composition>) | undefined;
  if (declared) {
    const problem = declared.features
      ? misfit(declared as Composition, entry, false)?.text
      : "it does not say which features it sets up";
    if (problem === undefined) {
      const refused = settingsProblem(declared);
      return refused ? skipped(`containers/${ctid}.ts refuses the entry: ${refused}`) : {
        ctid,
        use: "module",
        module: declared,
      };
    }
    instead = `containers/${ctid}.ts does not fit: ${problem}`;
  }

  const unsupported = shape.features.filter((name) => !Object.hasOwn(FEATURES, name));
  if (unsupported.length > 0) {
    return skipped(
      `${unsupported.length === 1 ? "feature" : "features"} ${
        unsupported.map((f) => `"${f}"`).join(", ")
      } not supported; ${write}`,
    );
  }
  if (shape.applications.length > 1) {
    return skipped(`it asks for two applications (${shape.applications.join(", ")}); ${write}`);
  }
  const application = shape.applications[0];
  if (application === undefined && entry.application_script !== undefined) {
    return skipped(
      `its application_script ${entry.application_script} is not supported (no supported ` +
        `application is chosen by the entry); ${write}`,
    );
  }
  if (application !== undefined && !shape.features.includes(APPLICATIONS[application].needs)) {
    return skipped(
      `the application ${application} needs the feature "${APPLICATIONS[application].needs}", ` +
        `which the entry's features ${
          shape.listsFeatures ? JSON.stringify(shape.features) : "(a Proxmox flag string)"
        } do not list; add it, or ${write}`,
    );
  }
  if (shape.features.length === 0 && application === undefined) {
    return skipped(
      `${instead ? `${instead}, and the entry` : "the entry"} lists no features to compose from${
        shape.listsFeatures ? "" : " (its features is a Proxmox flag string)"
      }; ${write}`,
    );
  }
  const composition: Composition = {
    ctid,
    kind: shape.kind ?? "standard",
    features: shape.features,
    application,
  };
  const refused = settingsProblem(composedModule(composition));
  if (refused) return skipped(`the composed module refuses the entry: ${refused}`);
  return { ctid, use: "composed", composition, ...instead ? { instead } : {} };
}
