// Host side of every tool call a guest makes, shared by both engines: policy, schema, journal replay, invoke.
import { makeFailure, valueDepthExceeds, type Failure } from "@mend/wire";
import { BRIDGE_LIMITS, overBridgeBounds } from "./bridge-limits.ts";
import { canonicalJson } from "./canonical-json.ts";
import type { CodeModeRequest, ToolBinding, ToolCallRecord } from "./engine.ts";
import { compileSchema, type SchemaCheck } from "../json-schema/json-schema-check.ts";

/** What the guest gets back for one call: the result as JSON text, or a failure (`fatal` stops the script). */
export type ToolCallSettlement =
  { ok: true; valueJson: string; seq: number } | { ok: false; failure: Failure; seq: number; fatal: boolean };

type BrokerRequest = Pick<CodeModeRequest, "tools" | "limits" | "invokeTool" | "journal">;

const keyOf = (tool: string, argsJson: string, occurrence: number): string =>
  `${occurrence}\u0000${tool}\u0000${argsJson}`;

/**
 * Validates, journals and runs the tool calls of one execution. A call is checked against the policy
 * (`tool_not_allowed`, naming the allowed tools), the call cap (`policy_violation`, fatal) and the
 * tool's JSON Schema (`tool_input_invalid` with JSON Pointer paths). A call whose
 * (tool, canonical args, occurrence) was recorded in `request.journal` by an earlier attempt returns
 * the recorded result (`replayed: true`) without invoking the tool; other calls go live and are
 * recorded as soon as they settle. `call` never rejects: host faults become `tool_failed`.
 *
 * Bounds (BRIDGE_LIMITS), checked before anything parses or walks the value: arguments over
 * `maxArgsBytes` or nested deeper than `maxDepth` are `tool_input_invalid`; a tool result over
 * `maxToolResultBytes` or too deep becomes that call's `tool_failed`.
 *
 * `rewind()` starts the guest over (its sandbox was lost to another guest's crash): the calls this
 * execution already settled are answered again from memory and calls still in flight are joined, so a
 * deterministic re-run (same seed, same clock) invokes no tool twice.
 *
 * @example
 * const broker = new ToolCallBroker(request);
 * await broker.load();
 * const settled = await broker.call("echo", '{"text":"hi"}');
 * const { toolCalls, unmatchedReplays } = broker.report();
 */
export class ToolCallBroker {
  readonly #request: BrokerRequest;
  readonly #bindings = new Map<string, ToolBinding>();
  readonly #checks = new Map<string, SchemaCheck>();
  readonly #recorded = new Map<string, ToolCallRecord>();
  readonly #matched = new Set<string>();
  readonly #occurrences = new Map<string, number>();
  /** Settled calls by seq (a re-run after rewind() reissues the same seqs). */
  readonly #settled = new Map<number, ToolCallRecord>();
  readonly #inflight = new Set<Promise<unknown>>();
  /** This execution's live calls by key: settled (their record) or still in flight. */
  readonly #memo = new Map<string, ToolCallSettlement | Promise<ToolCallSettlement>>();
  #issued = 0;
  #fatal: Failure | undefined;

  constructor(request: BrokerRequest) {
    this.#request = request;
    for (const tool of request.tools) this.#bindings.set(tool.name, tool);
  }

  /** Loads the journal's recorded calls (call once, before the guest starts). */
  async load(): Promise<void> {
    const journal = this.#request.journal;
    if (journal === undefined) return;
    for (const call of await journal.recorded()) {
      if (call.status !== "succeeded" && call.status !== "failed") continue;
      this.#recorded.set(keyOf(call.tool, call.argsJson, call.occurrence), call);
    }
  }

  /** The first fatal failure (call cap exceeded, journal unwritable): the execution must end with it. */
  get fatalFailure(): Failure | undefined {
    return this.#fatal;
  }

  /** How many calls the guest has issued so far (the next call gets `issued + 1` as its seq). */
  get issued(): number {
    return this.#issued;
  }

  /**
   * Continues after an interpreter snapshot taken at call `throughSeq + 1`: the recorded calls up to
   * `throughSeq` count as made (reported as replayed, never invoked again) and numbering resumes
   * after them. Call once, after `load()` and before the first `call()`.
   */
  restore(throughSeq: number): void {
    for (const [key, call] of this.#recorded) {
      if (call.seq > throughSeq || this.#matched.has(key)) continue;
      this.#matched.add(key);
      const pair = `${call.tool}\u0000${call.argsJson}`;
      this.#occurrences.set(pair, Math.max(this.#occurrences.get(pair) ?? 0, call.occurrence));
      this.#settled.set(call.seq, { ...call, ms: 0, replayed: true });
    }
    this.#issued = Math.max(this.#issued, throughSeq);
  }

  /** Names of the tools the guest may call, in request order. */
  get toolNames(): string[] {
    return this.#request.tools.map((tool) => tool.name);
  }

  /** Handles one guest call; `argsJson` is the guest's JSON text of the arguments. Never rejects. */
  async call(tool: string, argsJson: string): Promise<ToolCallSettlement> {
    const seq = ++this.#issued;
    const started = performance.now();
    const reject = (failure: Failure, fatal = false): ToolCallSettlement => {
      // Oversized argument text is not kept (the failure says how big it was).
      const text = argsJson.length <= BRIDGE_LIMITS.maxArgsBytes ? argsJson : "";
      this.#settled.set(seq, { seq, tool, argsJson: text, occurrence: 0, status: "failed", failure, ms: 0 });
      return { ok: false, failure, seq, fatal };
    };
    const max = this.#request.limits.maxToolCalls;
    if (seq > max) {
      this.#fatal ??= makeFailure(
        "policy_violation",
        `The script made more than ${max} tool calls, the limit of one execution. Batch the work into fewer calls or split it across executions.`,
        false,
        { rule: "maxToolCalls", limits: { maxToolCalls: max }, tool },
      );
      return reject(this.#fatal, true);
    }
    const binding = this.#bindings.get(tool);
    if (binding === undefined) {
      const allowed = this.toolNames;
      return reject(
        makeFailure(
          "tool_not_allowed",
          `The tool "${tool}" is not available to this script. Allowed tools: ${allowed.length > 0 ? allowed.join(", ") : "(none)"}.`,
          false,
          { tool, allowedTools: allowed },
        ),
      );
    }
    const over = overBridgeBounds(argsJson, BRIDGE_LIMITS.maxArgsBytes);
    if (over !== undefined)
      return reject(invalid(tool, [{ path: "/", message: `the arguments are too big: ${over}` }]));
    let args: unknown;
    try {
      args = JSON.parse(argsJson);
    } catch {
      return reject(invalid(tool, [{ path: "/", message: "arguments are not JSON" }]));
    }
    const errors = this.#check(binding).errors(args);
    if (errors.length > 0) return reject(invalid(tool, errors));

    const canonical = canonicalJson(args);
    const pair = `${tool}\u0000${canonical}`;
    const occurrence = (this.#occurrences.get(pair) ?? 0) + 1;
    this.#occurrences.set(pair, occurrence);
    const key = keyOf(tool, canonical, occurrence);
    const memo = this.#memo.get(key);
    if (memo !== undefined) return memo;
    const recorded = this.#recorded.get(key);
    if (recorded !== undefined && !this.#matched.has(key)) {
      this.#matched.add(key);
      const base = {
        seq,
        tool,
        argsJson: canonical,
        occurrence,
        ms: performance.now() - started,
        replayed: true,
      };
      if (recorded.status === "succeeded") {
        this.#settled.set(seq, {
          ...base,
          status: "succeeded",
          output: recorded.output,
          cached: recorded.cached ?? false,
        });
        return { ok: true, valueJson: JSON.stringify(recorded.output) ?? "null", seq };
      }
      const failure =
        recorded.failure ?? makeFailure("tool_failed", `The tool "${tool}" failed (replayed).`, false);
      this.#settled.set(seq, { ...base, status: "failed", failure });
      return { ok: false, failure, seq, fatal: false };
    }
    const live = this.#live(seq, tool, args, canonical, occurrence, started);
    this.#inflight.add(live);
    this.#memo.set(key, live);
    try {
      const settled = await live;
      this.#memo.set(key, settled);
      return settled;
    } finally {
      this.#inflight.delete(live);
    }
  }

  /**
   * Prepares a re-run of the same script from the start: seqs and occurrences count again from 1,
   * journaled calls replay again, and this execution's live calls answer from memory (or join the call
   * still in flight). The calls already reported stay reported.
   */
  rewind(): void {
    this.#issued = 0;
    this.#occurrences.clear();
    this.#matched.clear();
  }

  async #live(
    seq: number,
    tool: string,
    args: unknown,
    argsJson: string,
    occurrence: number,
    started: number,
  ): Promise<ToolCallSettlement> {
    let record: ToolCallRecord;
    let valueJson = "null";
    try {
      const result = await this.#request.invokeTool({ tool, args, seq });
      const ms = performance.now() - started;
      if (!result.ok) {
        record = { seq, tool, argsJson, occurrence, status: "failed", failure: result.failure, ms };
      } else {
        const fit = resultJsonFor(result.value);
        if (fit.ok) {
          valueJson = fit.json;
          record = { seq, tool, argsJson, occurrence, status: "succeeded", output: result.value, ms };
          record.cached = result.cached ?? false;
          if (result.deterministic === true) record.deterministic = true;
        } else {
          const failure = makeFailure(
            "tool_failed",
            `The tool "${tool}" returned a result the script cannot receive: ${fit.reason}. Ask the tool for less (a page, a summary).`,
            false,
            { tool },
          );
          record = { seq, tool, argsJson, occurrence, status: "failed", failure, ms };
        }
      }
    } catch (error) {
      const failure = makeFailure(
        "tool_failed",
        `The tool "${tool}" failed inside the host: ${error instanceof Error ? error.message : String(error)}`,
        true,
        { tool, cause: { type: error instanceof Error ? error.name : typeof error, message: String(error) } },
      );
      record = {
        seq,
        tool,
        argsJson,
        occurrence,
        status: "failed",
        failure,
        ms: performance.now() - started,
      };
    }
    this.#settled.set(seq, record);
    try {
      await this.#request.journal?.record(record);
    } catch (error) {
      // A journal that refuses the record for good (the tenant's quota) says why with a failure of its own;
      // anything else is a fault the execution can be resumed after.
      const refused = (error as { failure?: Failure } | null)?.failure;
      this.#fatal ??=
        refused ??
        makeFailure(
          "interrupted",
          `The tool call "${tool}" could not be journaled (${String(error)}); the execution was stopped so it can be resumed.`,
          true,
        );
      return { ok: false, failure: this.#fatal, seq, fatal: true };
    }
    if (record.status === "succeeded") return { ok: true, valueJson, seq };
    return { ok: false, failure: record.failure!, seq, fatal: false };
  }

  #check(binding: ToolBinding): SchemaCheck {
    let check = this.#checks.get(binding.name);
    if (check === undefined) {
      check = compileSchema(binding.inputSchema);
      this.#checks.set(binding.name, check);
    }
    return check;
  }

  /** Resolves when every live call issued so far has settled and been journaled. */
  async idle(): Promise<void> {
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
  }

  /** The calls settled so far (in issue order) and the recorded calls this execution never made. */
  report(): { toolCalls: ToolCallRecord[]; unmatchedReplays: ToolCallRecord[] } {
    const toolCalls = [...this.#settled.values()].sort((a, b) => a.seq - b.seq);
    const unmatchedReplays = [...this.#recorded.entries()]
      .filter(([key]) => !this.#matched.has(key))
      .map(([, call]) => call);
    return { toolCalls, unmatchedReplays };
  }
}

/** The JSON text of a tool's result for the guest, or why it cannot cross (too deep, too big, not JSON). */
function resultJsonFor(value: unknown): { ok: true; json: string } | { ok: false; reason: string } {
  if (valueDepthExceeds(value, BRIDGE_LIMITS.maxDepth)) {
    return { ok: false, reason: `it is nested deeper than ${BRIDGE_LIMITS.maxDepth} levels, the limit` };
  }
  let json: string;
  try {
    json = JSON.stringify(value) ?? "null";
  } catch (error) {
    return {
      ok: false,
      reason: `it is not JSON (${error instanceof Error ? error.message : String(error)})`,
    };
  }
  const bytes = Buffer.byteLength(json);
  if (bytes > BRIDGE_LIMITS.maxToolResultBytes) {
    return {
      ok: false,
      reason: `it is ${bytes} bytes of JSON, over the ${BRIDGE_LIMITS.maxToolResultBytes}-byte limit`,
    };
  }
  return { ok: true, json };
}

function invalid(tool: string, errors: { path: string; message: string }[]): Failure {
  const list = errors.map((e) => `${e.path}: ${e.message}`).join("; ");
  return makeFailure(
    "tool_input_invalid",
    `The arguments of "${tool}" do not match its input schema: ${list}.`,
    false,
    {
      tool,
      errors,
    },
  );
}
