// Carries a QuickJS guest's tool call to its broker, and its settlement back in the form its worker takes.
import { makeFailure, type Failure } from "@mend/wire";
import type { ToolCallBroker, ToolCallSettlement } from "../tool-calls.ts";
import type { GuestCall, SettledCall } from "./protocol.ts";

/**
 * Hands `call` to `broker`; `deliver` gets its settlement, or a retryable `tool_failed` when the host path
 * itself threw (the broker never rejects, but a rejection nobody handles would end the process).
 *
 * @example relayToolCall(broker, call, (settled) => pending.push(settledCall(call.callId, settled)));
 */
export function relayToolCall(
  broker: ToolCallBroker,
  call: GuestCall,
  deliver: (settled: ToolCallSettlement) => void,
): void {
  void broker
    .call(call.tool, call.argsJson)
    .then(deliver)
    .catch((error: unknown) =>
      deliver({ ok: false, seq: 0, fatal: false, failure: hostToolFailure(call.tool, error) }),
    );
}

/**
 * A broker's settlement of call `callId` as the worker delivers it to the guest.
 *
 * @example slot.post({ type: "settle", id, calls: [settledCall(1, settled)], budgetMs });
 */
export function settledCall(callId: number, settled: ToolCallSettlement): SettledCall {
  return settled.ok
    ? { callId, ok: true, json: settled.valueJson }
    : { callId, ok: false, failure: settled.failure, fatal: settled.fatal };
}

/** The broker's call itself threw inside the host (not the tool's own failure). */
function hostToolFailure(tool: string, error: unknown): Failure {
  return makeFailure("tool_failed", `The tool "${tool}" failed inside the host: ${String(error)}`, true, {
    tool,
  });
}
