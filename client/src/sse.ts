// Server-Sent Events over fetch streaming: a parser, and a reader of run events that resumes with Last-Event-ID.
import type { Transport } from "./http.ts";
import { textChunks } from "./text-stream.ts";
import type { Run } from "./wire-types.ts";

/** One event of a run's stream. `id` increases; pass it as `lastEventId` to resume after it. */
export interface RunEvent {
  id: number;
  /** step.started, step.output (live output of a running step), step.completed, step.failed, remediation, run.waiting_for_input, run.retrying, run.completed */
  type: string;
  data: unknown;
}

interface SseMessage {
  id?: string | undefined;
  event: string;
  data: string;
}

/** Parses an SSE byte stream into messages (comments and retry fields are skipped). */
export async function* parseSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseMessage> {
  let buf = "";
  let msg: SseMessage = { event: "message", data: "" };
  let hasData = false;
  for await (const chunk of textChunks(body)) {
    buf += chunk;
    let nl: number;
    // A trailing "\r" may be half of "\r\n": wait for the next chunk before splitting on it.
    while ((nl = buf.search(/\r\n|\r(?!$)|\n/)) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + (buf[nl] === "\r" && buf[nl + 1] === "\n" ? 2 : 1));
      if (line === "") {
        if (hasData) yield msg;
        msg = { event: "message", data: "" };
        hasData = false;
        continue;
      }
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const val = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "data") {
        msg.data = hasData ? `${msg.data}\n${val}` : val;
        hasData = true;
      } else if (field === "event") msg.event = val;
      else if (field === "id") msg.id = val;
    }
  }
}

const FINISHED = new Set(["succeeded", "failed", "cancelled"]);

/**
 * Follows a run's events until the run finishes, reconnecting with Last-Event-ID after a dropped stream.
 * @example for await (const ev of runEvents(transport, "run_1")) console.log(ev.type)
 */
export async function* runEvents(
  t: Transport,
  runId: string,
  opts: {
    lastEventId?: number | undefined;
    signal?: AbortSignal | undefined;
    maxReconnects?: number | undefined;
  } = {},
): AsyncGenerator<RunEvent> {
  let last = opts.lastEventId ?? 0;
  let failures = 0;
  const path = `/v1/runs/${encodeURIComponent(runId)}/events`;
  for (;;) {
    let finished = false;
    try {
      const res = await t.send({
        method: "GET",
        path,
        headers: { accept: "text/event-stream", "last-event-id": String(last) },
        signal: opts.signal,
      });
      for await (const m of parseSse(res.body!)) {
        failures = 0;
        const id = Number(m.id ?? last);
        last = Number.isFinite(id) ? id : last;
        let data: unknown = m.data;
        try {
          data = JSON.parse(m.data);
        } catch {
          /* keep the text */
        }
        yield { id: last, type: m.event, data };
        if (m.event === "run.completed") finished = true;
      }
    } catch (err) {
      if (opts.signal?.aborted) return;
      if ((err as Error).name === "MendApiError" || ++failures > (opts.maxReconnects ?? 5)) throw err;
      await new Promise((r) => setTimeout(r, Math.min(5000, 100 * 2 ** failures)));
      continue;
    }
    if (finished || opts.signal?.aborted) return;
    // The stream ended without run.completed: a proxy cut it, or the run finished without the event.
    const run = await t.request<Run>({ method: "GET", path: `/v1/runs/${encodeURIComponent(runId)}` });
    if (FINISHED.has(run.status)) return;
  }
}
