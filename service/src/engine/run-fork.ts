// Forking a run at a step (POST /v1/runs/{id}/fork): the rules of a fork; the store copies the journal.
import type { ForkRun, StepAction } from "@mend/wire";
import type { Config } from "../config/config.ts";
import type { RunRecord } from "../store/records.ts";
import type { Store } from "../store/store.ts";
import type { Caller } from "../core/caller.ts";
import { newId } from "../core/ids.ts";
import { Rejection } from "../core/rejection.ts";
import { LLM_CONFIGURATION_HINT, resolveModel } from "../llm/create-provider.ts";
import { NotFoundError } from "../store/store-errors.ts";

/** Step kinds an edited step may have: the executable ones (a model turn or a human answer is not edited). */
const EDITABLE = new Set(["codemode", "container", "tool"]);

/**
 * Makes the fork of run `parentId` as `who`: the caller's tenant (another tenant's run is not found) and
 * policy (a fork never runs with more than its caller may), the parent's settings unless `body` overrides
 * them. Returns the run; the caller starts a hosted fork's driver.
 * @example const { run } = await forkRun({ store, config }, who, "run_1", { atSeq: 4, model: { name: "m2" } })
 */
export async function forkRun(
  d: { store: Store; config: Config },
  who: Caller,
  parentId: string,
  body: ForkRun,
  idempotencyKey?: string,
): Promise<{ run: RunRecord; created: boolean; copied: number }> {
  const parent = await d.store.getRun(who.tenant, parentId);
  if (!parent) throw new Rejection("not_found", `run ${parentId} does not exist`);
  if (body.policy && body.policy !== who.policy.name) {
    throw new Rejection(
      "invalid",
      `policy "${body.policy}" is not this API key's policy ("${who.policy.name}"); a fork runs under its caller's policy`,
    );
  }
  const steps = await d.store.listSteps(parentId);
  const last = Math.max(0, ...steps.map((s) => s.seq));
  if (body.atSeq > last + 1) {
    throw new Rejection(
      "invalid",
      `run ${parentId} has ${last} step${last === 1 ? "" : "s"}; atSeq is 1 to ${last + 1} (${last + 1}: copy them all)`,
    );
  }
  const model = body.model ? { ...parent.model, ...body.model } : parent.model;
  if (parent.mode === "hosted" && !resolveModel(d.config.llm, model ?? undefined))
    throw new Rejection("not_configured", LLM_CONFIGURATION_HINT);
  let replace = null;
  if (body.replace) {
    if (parent.mode !== "hosted") {
      throw new Rejection(
        "invalid",
        "a client-driven fork takes its edited step from its caller: POST it to /v1/runs/{fork}/steps with the step's key",
      );
    }
    const edited = steps.find((s) => s.seq === body.replace!.seq);
    if (body.replace.seq !== body.atSeq || !edited || !EDITABLE.has(edited.kind)) {
      throw new Rejection(
        "invalid",
        `replace.seq must be the fork point (atSeq ${body.atSeq}) and name a codemode, container or tool step of run ${parentId}`,
      );
    }
    replace = { seq: edited.seq, key: edited.key, input: body.replace.input satisfies StepAction };
  }
  try {
    return await d.store.forkRun({
      id: newId("run"),
      tenant: who.tenant,
      mode: parent.mode,
      goal: body.goal ?? parent.goal,
      implicit: false,
      policy: who.policy.name,
      policyVersion: who.policy.version,
      metadata: body.metadata ?? parent.metadata,
      tools: body.tools ?? parent.tools,
      model,
      idempotencyKey: idempotencyKey ?? null,
      parentRunId: parentId,
      atSeq: body.atSeq,
      replace,
    });
  } catch (e) {
    // Deleted meanwhile (or never the tenant's): the same answer as the read above.
    if (e instanceof NotFoundError) throw new Rejection("not_found", `run ${parentId} does not exist`);
    throw e;
  }
}
