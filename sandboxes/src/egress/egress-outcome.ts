// Folds an egress journal into a container outcome: usage.egress, and network_denied when a refusal made the code fail.
import { makeFailure } from "@mend/wire";
import type { ContainerOutcome } from "../container/runner.ts";
import { hostPort } from "./egress-check.ts";
import type { EgressJournal } from "./egress-proxy.ts";

/** Failure kinds a refused connection can be the cause of (the code saw an error and gave up). */
const CODE_KINDS = new Set(["runtime_error", "nonzero_exit", "network_denied"]);

/**
 * Adds the journal to the usage; when the code failed on its own terms and the proxy refused
 * something, the failure becomes `network_denied` naming the (first) refused host.
 * @example withEgress(outcome, { records: [{ host: "a", port: 80, allowed: false, bytesIn: 0, bytesOut: 0 }], omitted: 0 }, ["b:80"])
 */
export function withEgress(
  outcome: ContainerOutcome,
  journal: EgressJournal,
  hosts: readonly string[],
): ContainerOutcome {
  const usage = {
    ...outcome.usage,
    egress: journal.records.map((r) => ({ ...r })),
    ...(journal.omitted > 0 ? { egressOmitted: journal.omitted } : {}),
  };
  const out = { ...outcome, usage };
  if (out.status !== "failed" || !CODE_KINDS.has(out.failure.kind)) return out;
  const denied = journal.records.find((r) => !r.allowed);
  if (denied === undefined) {
    if (out.failure.kind !== "network_denied") return out;
    // the launcher saw a direct connection fail: say what this sandbox does offer
    const message =
      `The code connected directly, which this sandbox does not allow: only the egress proxy in HTTP_PROXY/HTTPS_PROXY ` +
      `is reachable, and it admits ${hosts.length > 0 ? hosts.join(", ") : "nothing"}.`;
    return {
      ...out,
      failure: { ...out.failure, message, limits: { network: { mode: "allowlist", hosts: [...hosts] } } },
    };
  }
  const where = hostPort(denied.host, denied.port);
  const failure = makeFailure(
    "network_denied",
    `The code's connection to ${where} was refused by the egress proxy: ${denied.reason ?? "not allowed"}. ` +
      `Allowed: ${hosts.length > 0 ? hosts.join(", ") : "nothing"}.`,
    false,
    {
      host: denied.host,
      limits: { network: { mode: "allowlist", hosts: [...hosts] } },
      usage: { ...out.failure.usage, egress: usage.egress },
      ...(out.failure.exitCode === undefined ? {} : { exitCode: out.failure.exitCode }),
      ...(out.failure.stderrTail === undefined ? {} : { stderrTail: out.failure.stderrTail }),
      ...(out.failure.cause === undefined ? {} : { cause: out.failure.cause }),
      remedy: {
        action: "use_tool",
        hint: `connect only to ${hosts.join(", ") || "nothing"}, or fetch ${where} with a tool the policy allows`,
      },
    },
  );
  return { ...out, failure };
}
