// kv.get / kv.set: small durable values scoped to the run, stored as the run's `kv:` checkpoints.
import { makeFailure } from "@mend/wire";
import type { Store } from "../store/store.ts";
import type { ToolDefinition } from "./tool.ts";

const MAX_VALUE_BYTES = 1024 * 1024;
const KEY_SCHEMA = {
  type: "string",
  minLength: 1,
  maxLength: 256,
  description: "Name of the value within this run",
};

/**
 * The run-scoped key-value tools. A value survives crashes and replays of the run; other runs do not see it.
 * @example catalogTools.push(...createKvTools(store))
 */
export function createKvTools(store: Store): ToolDefinition[] {
  const get: ToolDefinition = {
    name: "kv.get",
    description:
      "Reads a value saved earlier in this run with kv.set. Returns { key, found, value } (value is null when not found).",
    inputSchema: {
      type: "object",
      properties: { key: KEY_SCHEMA },
      required: ["key"],
      additionalProperties: false,
    },
    version: "1",
    idempotent: true,
    async invoke(args, ctx) {
      const { key } = args as { key: string };
      const cp = await store.getCheckpoint(ctx.runId, `kv:${key}`);
      return { ok: true, value: { key, found: cp !== null, value: cp?.value ?? null } };
    },
  };
  const set: ToolDefinition = {
    name: "kv.set",
    description:
      "Saves a JSON value under a key for the rest of this run (durable across crashes and replays). Returns { key }.",
    inputSchema: {
      type: "object",
      properties: { key: KEY_SCHEMA, value: { description: "Any JSON value (at most 1 MiB)" } },
      required: ["key", "value"],
      additionalProperties: false,
    },
    version: "1",
    idempotent: true,
    async invoke(args, ctx) {
      const { key, value } = args as { key: string; value: unknown };
      const size = Buffer.byteLength(JSON.stringify(value ?? null));
      if (size > MAX_VALUE_BYTES) {
        return {
          ok: false,
          failure: makeFailure(
            "tool_failed",
            `kv.set value for "${key}" is ${size} bytes; the limit is ${MAX_VALUE_BYTES}`,
            false,
            {
              tool: "kv.set",
              remedy: {
                action: "fix_arguments",
                hint: "store large data with blobs.put and keep its sha256 in kv",
              },
            },
          ),
        };
      }
      await store.putCheckpoint(ctx.runId, `kv:${key}`, value ?? null);
      return { ok: true, value: { key } };
    },
  };
  return [get, set];
}
