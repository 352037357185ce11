// Applies the destination policy at connect time: an undici dispatcher whose connector resolves, decides, and dials the checked address.
import type * as UndiciModule from "undici";
import type { Agent } from "undici";
import {
  checkDestination,
  compileRules,
  readHostsFile,
  systemResolver,
  type DestinationDecision,
  type DestinationDenial,
  type DestinationPolicy,
  type Resolver,
} from "@mend/sandboxes";
import { makeFailure, type Failure } from "@mend/wire";
import type { Policy } from "../policy/policy-schema.ts";

type Undici = typeof UndiciModule;
let undiciModule: Promise<Undici> | undefined;
/** undici is loaded at the first outbound call: ~80 ms of module loading a start does not need. */
const loadUndici = (): Promise<Undici> => (undiciModule ??= import("undici"));

/** A connection refused by the destination policy; undici hands it back as the `cause` of a fetch error. */
export class DestinationDeniedError extends Error {
  override name = "DestinationDeniedError";
  readonly denial: DestinationDenial;
  constructor(denial: DestinationDenial) {
    super(denial.message);
    this.denial = denial;
  }
}

export interface DestinationGuardOptions {
  /** MEND_NETWORK_ALLOW_LOOPBACK. */
  allowLoopback: boolean;
  /** Defaults to the system resolver behind the MEND_HOSTS_FILE map. Tests inject answers here. */
  resolver?: Resolver;
  /** MEND_HOSTS_FILE, read once. */
  hostsFile?: string;
}

type PolicyLike = Pick<Policy, "name" | "network"> | undefined;
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * The one way tenant-driven HTTP leaves the service. `fetch` uses a dispatcher per rule set whose
 * connector checks the address after DNS resolution and connects to exactly that address, so a name
 * that resolves to loopback only at connect time (DNS rebinding) is refused as well.
 * @example const res = await guard.fetch(policy)("http://api.example.com/x", { redirect: "manual" })
 */
export class DestinationGuard {
  readonly #allowLoopback: boolean;
  readonly #resolve: Resolver;
  readonly #agents = new Map<string, Agent>();

  constructor(opts: DestinationGuardOptions) {
    this.#allowLoopback = opts.allowLoopback;
    this.#resolve =
      opts.resolver ?? systemResolver(opts.hostsFile ? readHostsFile(opts.hostsFile) : new Map());
  }

  /** The decision inputs of a policy (no policy: no rules, nothing internal is open). */
  policyOf(policy: PolicyLike): DestinationPolicy {
    return {
      rules: compileRules(policy?.network.allow ?? []),
      allowLoopback: this.#allowLoopback,
      ...(policy ? { policyName: policy.name } : {}),
    };
  }

  /** Checks a URL now (registration, listing): resolves its host and decides every address. */
  check(url: URL, policy: PolicyLike): Promise<DestinationDecision> {
    return checkDestination({ host: url.hostname, port: portOf(url) }, this.policyOf(policy), this.#resolve);
  }

  /** The dispatcher that applies `policy`'s rules at connect time (one per distinct rule set, kept). */
  #dispatcher(policy: PolicyLike, { Agent, buildConnector }: Undici): Agent {
    const key = JSON.stringify([policy?.name ?? "", policy?.network.allow ?? []]);
    let agent = this.#agents.get(key);
    if (!agent) {
      const decide = this.policyOf(policy);
      const base = buildConnector({ timeout: CONNECT_TIMEOUT_MS });
      agent = new Agent({
        connect: (opts, cb) => {
          const port = Number(opts.port) || (opts.protocol === "https:" ? 443 : 80);
          checkDestination({ host: opts.hostname, port }, decide, this.#resolve).then(
            (d) => {
              if (!d.ok) cb(new DestinationDeniedError(d.denial), null);
              // The checked address, not the name: a second resolution could answer differently.
              else base({ ...opts, hostname: d.address }, cb);
            },
            (e: unknown) => cb(e as Error, null),
          );
        },
      });
      this.#agents.set(key, agent);
    }
    return agent;
  }

  /** A fetch bound to the policy's dispatcher (the MCP SDK's transports take one). Redirects are never followed. */
  fetch(policy: PolicyLike): typeof fetch {
    let dispatcher: Agent | undefined;
    return async (input: string | URL | Request, init?: RequestInit) => {
      const undici = await loadUndici();
      dispatcher ??= this.#dispatcher(policy, undici);
      return undici.fetch(
        input as never,
        {
          ...(init as object),
          redirect: "manual",
          dispatcher,
        } as never,
      );
    };
  }

  /** Closes the kept connections. */
  async close(): Promise<void> {
    const agents = [...this.#agents.values()];
    this.#agents.clear();
    await Promise.allSettled(agents.map((a) => a.close()));
  }
}

/** The port a URL connects to. */
export function portOf(url: URL): number {
  return url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
}

/**
 * The denial behind an error thrown by fetch (undici wraps the connector's error as `cause`), if any.
 * @example const d = denialOf(err); if (d) return { ok: false, failure: networkDenied(d, "crm.find") }
 */
export function denialOf(err: unknown): DestinationDenial | undefined {
  for (let e = err, i = 0; e && i < 5; e = (e as { cause?: unknown }).cause, i++) {
    if (e instanceof DestinationDeniedError) return e.denial;
  }
  return undefined;
}

/**
 * The `network_denied` failure of a refused destination: names host, address, range and rule.
 * @example networkDeniedFailure(denial, "web.get")
 */
export function networkDeniedFailure(d: DestinationDenial, tool?: string): Failure {
  return makeFailure("network_denied", tool ? `tool "${tool}": ${d.message}` : d.message, false, {
    ...(tool ? { tool } : {}),
    rule: d.rule,
    host: d.host,
    port: d.port,
    ...(d.address ? { address: d.address } : {}),
    ...(d.range ? { range: d.range } : {}),
    remedy: {
      action: "use_allowed_host",
      hint: "use a public destination, or ask for the destination to be added to the policy's network.allow",
    },
  });
}
