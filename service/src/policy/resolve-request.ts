// The one place where a request meets its policy: defaults filled in, ceilings enforced, tools filtered.
import {
  enginesFor,
  makeFailure,
  type CodeModeEngineName,
  type CodeModeLanguageName,
  type Failure,
} from "@mend/wire";
import type { ContainerNetwork } from "@mend/sandboxes";
import { globMatch } from "./glob.ts";
import type { CodeModeLimitValues, ContainerLimitValues, Policy, ToolSourceKind } from "./policy-schema.ts";
import type { ContainerRuntime } from "@mend/sandboxes";

export type Admission<T> = { ok: true; value: T } | { ok: false; failure: Failure };

/**
 * Whether the policy lets a caller use this tool: named by an `allow` glob, or one of the tenant's own tools
 * of a `registered` source (`source`: where the tool comes from; absent for built-ins) — minus `deny` globs.
 * @example toolAllowed(policy, "github.search", "mcp")
 */
export function toolAllowed(policy: Policy, tool: string, source?: ToolSourceKind): boolean {
  const allowed =
    policy.tools.allow.some((p) => globMatch(p, tool)) ||
    (source !== undefined && policy.tools.registered.includes(source));
  return allowed && !policy.tools.deny.some((p) => globMatch(p, tool));
}

/** A refusal naming the broken rule; `hint` tells the model what it can do instead. */
function violation(rule: string, message: string, hint: string): { ok: false; failure: Failure } {
  return {
    ok: false,
    failure: makeFailure("policy_violation", message, false, {
      rule,
      remedy: { action: "change_request", hint },
    }),
  };
}

function withinCeilings<T extends Record<string, number>>(
  policy: Policy,
  section: "codemode" | "container",
  requested: Partial<T> | undefined,
  defaults: T,
  max: T,
): Admission<T> {
  const out = { ...defaults };
  for (const [k, v] of Object.entries(requested ?? {}) as [keyof T & string, number | undefined][]) {
    if (v === undefined) continue;
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0 || !(k in defaults)) {
      return {
        ok: false,
        failure: makeFailure(
          "policy_violation",
          `${section} ${k}=${JSON.stringify(v)} is not a valid limit: expected one of ${Object.keys(defaults).join(", ")} with a positive number`,
          false,
          { rule: `${section}.limits`, remedy: { action: "fix_request" } },
        ),
      };
    }
    const ceiling = max[k];
    if (ceiling !== undefined && v > ceiling) {
      return {
        ok: false,
        failure: makeFailure(
          "policy_violation",
          `${section} ${k}=${v} is over the maximum of ${ceiling} allowed by policy "${policy.name}" (rule ${section}.max.${k}); ask for at most ${ceiling}, or ask a human`,
          false,
          {
            rule: `${section}.max.${k}`,
            limits: { [k]: ceiling },
            remedy: { action: "ask_within_limits", [k]: ceiling, withinPolicy: true },
          },
        ),
      };
    }
    (out as Record<string, number>)[k] = v;
  }
  return { ok: true, value: out };
}

/**
 * Resolves code-mode language, engine and limits; tools are checked per call by the sandbox against
 * `allowedTools`. The engine defaults to the language's first (quickjs for JavaScript, monty for Python).
 */
export function admitCodeMode(
  policy: Policy,
  req: {
    language?: CodeModeLanguageName;
    engine?: CodeModeEngineName;
    limits?: Partial<CodeModeLimitValues>;
  },
): Admission<{ language: CodeModeLanguageName; engine: CodeModeEngineName; limits: CodeModeLimitValues }> {
  if (!policy.codemode.enabled) {
    return violation(
      "codemode.enabled",
      `policy "${policy.name}" does not allow code-mode executions (rule codemode.enabled)`,
      "call a tool directly, or ask a human",
    );
  }
  const language = req.language ?? "javascript";
  const languages = policy.codemode.languages;
  if (!languages.includes(language)) {
    return violation(
      "codemode.languages",
      `language "${language}" is not allowed by policy "${policy.name}" (rule codemode.languages); allowed: ${languages.join(", ") || "(none)"}`,
      `write the script in ${languages[0] ?? "an allowed language"}`,
    );
  }
  const runs = enginesFor(language);
  const engine = req.engine ?? runs[0]!;
  if (!runs.includes(engine)) {
    return violation(
      "codemode.engines",
      `engine "${engine}" does not run ${language}; ${language} runs on ${runs.join(", ")}`,
      `omit engine, or use ${runs[0]!}`,
    );
  }
  if (!policy.codemode.engines.includes(engine)) {
    return violation(
      "codemode.engines",
      `engine "${engine}" is not allowed by policy "${policy.name}" (rule codemode.engines); allowed: ${policy.codemode.engines.join(", ")}`,
      `use engine ${policy.codemode.engines[0] ?? "quickjs"}`,
    );
  }
  const limits = withinCeilings(
    policy,
    "codemode",
    req.limits,
    policy.codemode.defaults,
    policy.codemode.max,
  );
  return limits.ok ? { ok: true, value: { language, engine, limits: limits.value } } : limits;
}

/** Resolves container image and limits against the policy. */
export function admitContainer(
  policy: Policy,
  req: { image: string; limits?: Partial<ContainerLimitValues> & { network?: string } },
): Admission<{
  image: string;
  limits: ContainerLimitValues & { network: ContainerNetwork };
  runtime: ContainerRuntime;
}> {
  if (!policy.container.enabled) {
    return violation(
      "container.enabled",
      `policy "${policy.name}" does not allow container executions (rule container.enabled)`,
      "use code-mode or a tool instead, or ask a human",
    );
  }
  if (!policy.container.images.includes(req.image)) {
    return violation(
      "container.images",
      `image "${req.image}" is not allowed by policy "${policy.name}" (rule container.images); allowed: ${policy.container.images.join(", ")}`,
      `pick one of: ${policy.container.images.join(", ")}`,
    );
  }
  const { network, ...numeric } = req.limits ?? {};
  const granted = policy.container.network[req.image] ?? "none";
  const mode = granted === "none" ? "none" : granted.mode;
  // asking for less (no network under an allowlist policy) is always fine
  if (network !== undefined && network !== mode && network !== "none") {
    return violation(
      `container.network.${req.image}`,
      `network "${network}" is not allowed for image "${req.image}" by policy "${policy.name}"; allowed: ${mode}`,
      `use network "${mode}", or a tool for remote data`,
    );
  }
  const net: ContainerNetwork =
    network === "none" || granted === "none" ? "none" : { mode: "allowlist", hosts: [...granted.hosts] };
  const limits = withinCeilings(
    policy,
    "container",
    numeric,
    policy.container.defaults,
    policy.container.max,
  );
  if (!limits.ok) return limits;
  const runtime = runtimeFor(policy, req.image);
  return { ok: true, value: { image: req.image, limits: { ...limits.value, network: net }, runtime } };
}

/**
 * The OCI runtime a policy gives an image: `container.runtime`, one value or per image; default runc.
 * @example runtimeFor(policy, "python") // "runsc" when the policy says `runtime: { python: runsc }`
 */
export function runtimeFor(policy: Policy, image: string): ContainerRuntime {
  const r = policy.container.runtime;
  return typeof r === "string" ? r : (r[image] ?? "runc");
}

/** Narrows a requested tool list to what the policy allows (run- or request-level `tools`). */
export function allowedTools(policy: Policy, available: string[], requested?: string[]): string[] {
  const permitted = available.filter((t) => toolAllowed(policy, t));
  return requested ? permitted.filter((t) => requested.includes(t)) : permitted;
}
