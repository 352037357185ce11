// Reads a Server-Sent Events stream (GET /v1/runs/{id}/events) event by event, for tests and benchmarks.

export interface SseEvent {
  id: number;
  event: string;
  data: unknown;
  /** performance.now() when the event's last line arrived. */
  at: number;
}

export interface SseStream {
  /** Resolves with the first event (already received or to come) that matches `pred`; rejects after `timeoutMs`. */
  waitFor(pred: (e: SseEvent) => boolean, what: string, timeoutMs?: number): Promise<SseEvent>;
  events: SseEvent[];
  close(): void;
}

/**
 * Opens the events stream of a run, from `lastEventId` on when given.
 * @example const s = await openSse(url, runId); await s.waitFor((e) => e.event === "step.completed", "a step"); s.close()
 */
export async function openSse(base: string, runId: string, lastEventId?: number): Promise<SseStream> {
  const abort = new AbortController();
  const res = await fetch(`${base}/v1/runs/${runId}/events`, {
    headers: lastEventId === undefined ? {} : { "last-event-id": String(lastEventId) },
    signal: abort.signal,
  });
  if (res.status !== 200 || !res.body) throw new Error(`events stream: ${res.status}`);
  const events: SseEvent[] = [];
  const waiters = new Set<() => void>();
  let ended = false;
  void (async () => {
    const decoder = new TextDecoder();
    let buf = "";
    try {
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(chunk, { stream: true });
        let cut: number;
        while ((cut = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          const fields: Record<string, string> = {};
          for (const line of block.split("\n")) {
            const i = line.indexOf(":");
            if (i > 0) fields[line.slice(0, i)] = line.slice(i + 1).replace(/^ /, "");
          }
          if (fields.id === undefined) continue;
          events.push({
            id: Number(fields.id),
            event: fields.event ?? "message",
            data: fields.data ? (JSON.parse(fields.data) as unknown) : null,
            at: performance.now(),
          });
          for (const w of waiters) w();
        }
      }
    } catch {
      /* aborted */
    } finally {
      ended = true;
      for (const w of waiters) w();
    }
  })();
  return {
    events,
    close: () => abort.abort(),
    waitFor(pred, what, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = events.find(pred);
          if (hit) {
            done();
            resolve(hit);
          } else if (ended) {
            done();
            reject(new Error(`the stream ended before ${what}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
  };
}
