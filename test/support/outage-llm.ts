// A fake model whose availability a test switches per conversation: up (echo, then finish), down (429,
// 5xx and malformed answers in turn), or refusing (401). For the hosted loop's outage tests.
import { startFakeLlm, type FakeLlm } from "./fake-llm.ts";
import { callTool, finish, httpError, rawBody, type Turn } from "./fake-llm-turns.ts";

export type Availability = "up" | "down" | "refusing";

/** What a down provider answers, in turn: each a failure the provider code retries. */
const OUTAGE: Turn[] = [
  httpError(429, 0),
  { status: 503, body: '{"error":{"message":"overloaded"}}' },
  rawBody('{"choices":[]}'),
  rawBody("{not json"),
];

export interface OutageLlm {
  llm: FakeLlm;
  /** Sets the availability of the conversations whose goal contains `goal`. */
  set(goal: string, availability: Availability): void;
  close(): Promise<void>;
}

/**
 * Starts the fake model; every conversation is `up` until set otherwise.
 * @example const m = await startOutageLlm(); m.set("outage-1", "down"); ...; m.set("outage-1", "up")
 */
export async function startOutageLlm(): Promise<OutageLlm> {
  const modes = new Map<string, Availability>();
  let failures = 0;
  const llm = await startFakeLlm({
    script: (_req, turn, ctx) => {
      const mode = [...modes].find(([goal]) => ctx.conversation.includes(goal))?.[1] ?? "up";
      if (mode === "down") return OUTAGE[failures++ % OUTAGE.length]!;
      if (mode === "refusing")
        return { status: 401, body: '{"error":{"message":"Incorrect API key provided"}}' };
      return turn === 0 ? callTool("echo", { text: "the model is back" }) : finish("done after the outage");
    },
  });
  return { llm, set: (goal, a) => modes.set(goal, a), close: () => llm.close() };
}
