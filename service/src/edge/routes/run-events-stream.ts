// GET /v1/runs/{id}/events: Server-Sent Events from the journal, resumable with Last-Event-ID.
import type { Context } from "hono";
import { streamSSE } from "hono/streaming";
import type { Services } from "../../services/services.ts";
import type { AppEnv } from "../app-env.ts";
import { HttpProblem } from "../problem.ts";

const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);

/** Replays events after Last-Event-ID, then follows new ones until the run finishes or the client leaves. */
export async function streamRunEvents(c: Context<AppEnv>, s: Services): Promise<Response> {
  const who = c.get("caller");
  const id = c.req.param("id")!;
  const raw = c.req.header("last-event-id") ?? c.req.query("lastEventId") ?? "0";
  if (!/^\d{1,15}$/.test(raw)) throw new HttpProblem(400, "validation", "Last-Event-ID must be an event id");
  let last = Number(raw);
  await s.runs.get(who, id);
  // Open streams per tenant are bounded (limits.sseStreams, per replica): one more is a 429.
  const release = s.quotas.openStream(who);
  if (!release) {
    const max = who.policy.limits.sseStreams;
    throw new HttpProblem(
      429,
      "rate-limited",
      `the tenant already holds ${max} open event streams (policy limits.sseStreams); close one, or poll GET /v1/runs/{id}`,
      { limits: { sseStreams: max } },
      { "retry-after": "5" },
    );
  }
  return streamSSE(c, async (stream) => {
    let wake: (() => void) | null = null;
    const unsubscribe = s.events.onAppend(id, () => wake?.());
    stream.onAbort(() => wake?.());
    try {
      while (!stream.aborted) {
        const pending = new Promise<void>((resolve) => (wake = resolve));
        for (const ev of await s.runs.eventsAfter(who, id, last)) {
          await stream.writeSSE({ id: String(ev.id), event: ev.type, data: JSON.stringify(ev.data) });
          last = ev.id;
        }
        const run = await s.runs.get(who, id);
        if (TERMINAL.has(run.status)) {
          const rest = await s.runs.eventsAfter(who, id, last);
          for (const ev of rest)
            await stream.writeSSE({ id: String(ev.id), event: ev.type, data: JSON.stringify(ev.data) });
          break;
        }
        // Heartbeat keeps proxies from closing an idle stream; a new event wakes us earlier.
        let timer: NodeJS.Timeout | undefined;
        const idle = new Promise<"idle">((resolve) => (timer = setTimeout(() => resolve("idle"), 15_000)));
        const woke = await Promise.race([pending.then(() => "event" as const), idle]);
        clearTimeout(timer);
        if (woke === "idle" && !stream.aborted) await stream.write(": keep-alive\n\n");
      }
    } finally {
      unsubscribe();
      release();
    }
  });
}
