// Human-readable numbers for the inspector (durations, times, sizes, JSON), kept in one place so pages agree.

/**
 * A duration for people: "840 ms", "3.2 s", "4 min 05 s", "2 h 03 min".
 * @example formatDuration(3200) // "3.2 s"
 */
export function formatDuration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return "—";
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min ${String(Math.floor(s % 60)).padStart(2, "0")} s`;
  return `${Math.floor(min / 60)} h ${String(min % 60).padStart(2, "0")} min`;
}

/**
 * An instant as UTC text ("2025-11-26 02:41:05 UTC"); the client script re-renders it in local time.
 * @example formatTime(0) // "1970-01-01 00:00:00 UTC"
 */
export function formatTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/**
 * A byte count: "512 B", "3.4 KiB", "1.2 MiB".
 * @example formatBytes(2048) // "2.0 KiB"
 */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/**
 * Indented JSON for <pre>, cut at `maxChars` so one huge value cannot make a page unusable.
 * @example prettyJson({ a: 1 }) // '{\n  "a": 1\n}'
 */
export function prettyJson(value: unknown, maxChars = 20_000): string {
  let text: string;
  try {
    text = JSON.stringify(value, null, 2) ?? "null";
  } catch {
    text = String(value);
  }
  return text.length > maxChars
    ? `${text.slice(0, maxChars)}\n… (${text.length - maxChars} more characters)`
    : text;
}

/**
 * The first line of a text, shortened to `maxChars`, for one-line summaries.
 * @example firstLine("a\nb") // "a"
 */
export function firstLine(text: string, maxChars = 90): string {
  const line = text.trim().split("\n", 1)[0] ?? "";
  return line.length > maxChars ? `${line.slice(0, maxChars - 1)}…` : line;
}
