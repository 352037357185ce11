// One script held by the Monty thread: its bindings, guest state, namespaces, pending log lines and pause.
import type { MontySnapshot } from "@pydantic/monty";
import { MAX_VALUE_DEPTH } from "./monty-values.ts";
import type { GuestSetup, GuestState } from "./protocol.ts";
import type { NamespaceSpec } from "./python-names.ts";

/**
 * A script between its start and its end, in this thread: paused at a tool call, or running a segment.
 * @example const exec: Exec = { id, setup, guest, spaces: new Map(setup.namespaces.map((s) => [s.typeId, s])), lines: [] }
 */
export interface Exec {
  id: number;
  setup: GuestSetup;
  guest: GuestState;
  spaces: Map<number, NamespaceSpec>;
  lines: string[];
  paused?: MontySnapshot;
}

/**
 * Values are read only above Monty's recursion limit (deeper ones it replaces by "<deeply nested>").
 * @example toJsonText(output, exec.setup.limits.maxResultBytes, depthOf(exec))
 */
export const depthOf = (exec: Exec): number =>
  Math.min(MAX_VALUE_DEPTH, exec.setup.limits.maxRecursionDepth - 1);
