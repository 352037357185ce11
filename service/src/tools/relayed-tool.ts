// Adapts a client-hosted tool to the service's ToolDefinition, so the code-mode engine calls it like any tool.
import { validateAgainstSchema } from "@mend/sandboxes";
import { makeFailure } from "@mend/wire";
import type { RelayTool } from "@mend/wire";
import type { ToolDefinition } from "./tool.ts";
import type { RelaySession } from "./relay-session.ts";

const ANY_OBJECT = { type: "object", additionalProperties: true };

/**
 * A ToolDefinition whose invocation is relayed to the client of `session`. Arguments are validated here
 * against the declared schema, so an invalid call fails as tool_input_invalid without a round trip.
 * @example const defs = body.tools.map((t) => relayedTool(session, t))
 */
export function relayedTool(session: RelaySession, spec: RelayTool): ToolDefinition {
  const inputSchema = spec.inputSchema ?? ANY_OBJECT;
  return {
    name: spec.name,
    description: spec.description ?? `Client-hosted tool ${spec.name}`,
    inputSchema,
    version: "relay",
    idempotent: false,
    async invoke(args) {
      const errors = validateAgainstSchema(inputSchema, args ?? {});
      if (errors.length > 0) {
        return {
          ok: false,
          failure: makeFailure(
            "tool_input_invalid",
            `arguments of "${spec.name}" do not match its schema: ${errors.map((e) => `${e.path || "/"} ${e.message}`).join("; ")}`,
            false,
            { tool: spec.name, errors, remedy: { action: "fix_arguments" } },
          ),
        };
      }
      return session.call(spec.name, args ?? {});
    },
  };
}
