// The durable snapshot of a Python script paused at a tool call: Monty's dump plus what lives outside its heap.
import { createHash } from "node:crypto";
import type { GuestState } from "./protocol.ts";

const MAGIC = "mend-monty-snapshot/1\n";

/** What a snapshot says about itself; checked before its state is handed to Monty. */
export interface SnapshotHeader {
  montyVersion: string;
  /** sha256 of the prepared source: a snapshot only resumes the script it was taken from. */
  codeSha256: string;
  /** sha256 of the bindings (tool namespaces, modules, memory and recursion limits). */
  bindingsSha256: string;
  /** The call the interpreter is paused at. */
  seq: number;
  tool: string;
  argsJson: string;
  guest: GuestState;
  /** Every log line up to the pause. */
  logs: string[];
}

/** sha256 hex of a text. */
export const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex");

/**
 * Packs a header and Monty's state into one blob (one content-addressed write per call).
 * @example unpackSnapshot(packSnapshot(header, state))?.header.seq === header.seq
 */
export function packSnapshot(header: SnapshotHeader, state: Uint8Array): Uint8Array {
  const head = Buffer.from(`${MAGIC}${JSON.stringify(header)}\n`);
  return Buffer.concat([head, state]);
}

/** The header and state of a blob written by packSnapshot, or undefined for anything else. */
export function unpackSnapshot(data: Uint8Array): { header: SnapshotHeader; state: Uint8Array } | undefined {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (buf.subarray(0, MAGIC.length).toString() !== MAGIC) return undefined;
  const end = buf.indexOf(0x0a, MAGIC.length);
  if (end < 0) return undefined;
  try {
    const header = JSON.parse(buf.subarray(MAGIC.length, end).toString()) as SnapshotHeader;
    if (typeof header.seq !== "number" || typeof header.tool !== "string" || !Array.isArray(header.logs)) {
      return undefined;
    }
    return { header, state: buf.subarray(end + 1) };
  } catch {
    return undefined;
  }
}
