// An execution step's input: its identity hash, the form the journal keeps, its seed, and the refusal of a
// key reused with another input.
import { hash } from "node:crypto";
import { canonicalJson, type ContainerFile } from "@mend/sandboxes";
import { Rejection } from "../core/rejection.ts";
import type { Determinism } from "./run-codemode.ts";
import type { ActionSpec } from "./step-action.ts";

/** One-shot SHA-256 (hex): a Hash object per call cost more than the hashing of these small inputs. */
const sha256 = (data: string | Buffer) => hash("sha256", data);

/**
 * The identity of what a request asked for: the SHA-256 of the canonical JSON of its action, files by
 * content hash (given by value or by blob, the same bytes are the same input), stdin by hash. The
 * determinism a code-mode step journals (seed, clock) is not part of it; an explicit `seed` is.
 * @example const h = inputHash({ type: "codemode", code: "return 1" }, []);
 */
export function inputHash(action: ActionSpec, files: ContainerFile[]): string {
  const identity: Record<string, unknown> = { ...action };
  if (action.type === "container") {
    identity.files = files.map((f) => ({ path: f.path, sha256: sha256(f.content) }));
    if (action.stdin !== undefined) identity.stdin = { sha256: sha256(action.stdin) };
  }
  return sha256(canonicalJson(identity));
}

/**
 * Journaled form of an action: file contents and stdin are summarised, never inlined.
 * @example const input = journalInput(action, { seed: 7, clockMs: Date.now() }, files, inputHash(action, files));
 */
export function journalInput(
  action: ActionSpec,
  det: Determinism | null,
  files: ContainerFile[],
  hash: string,
): Record<string, unknown> {
  const input: Record<string, unknown> = { ...action };
  if (action.type === "container") {
    input.files = files.map((f) => ({ path: f.path, size: f.content.length, sha256: sha256(f.content) }));
    if (action.stdin !== undefined) input.stdin = { bytes: Buffer.byteLength(action.stdin) };
  }
  if (det) input.determinism = det;
  input.inputHash = hash;
  return input;
}

/**
 * Seed derived from the run and key, so a script replays the same random path without storing anything.
 * @example const det = { seed: action.seed ?? seedFor(runId, key), clockMs: Date.now() };
 */
export function seedFor(runId: string, key: string): number {
  return hash("sha256", `${runId}\0${key}`, "buffer").readUInt32BE(0);
}

/**
 * The refusal of step `key` of `runId`, first claimed with input hash `journaled`, asked again with `hash`.
 * @example if (journaled !== hash) throw inputMismatch(runId, key, journaled, hash);
 */
export function inputMismatch(runId: string, key: string, journaled: string, hash: string): Rejection {
  return new Rejection(
    "input_mismatch",
    `step key "${key}" of run ${runId} was first used with a different input (journaled ${journaled.slice(0, 12)}…, this request ${hash.slice(0, 12)}…): replaying it would return the result of other work. Use a new key for new work, or send "onInputMismatch": "replay" to get the journaled result anyway.`,
    { key, journaledInputHash: journaled, requestInputHash: hash },
  );
}
