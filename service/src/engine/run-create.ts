// The rules of a new run (POST /v1/runs): what a request may ask for, and the record it makes.
import type { CreateRun } from "@mend/wire";
import type { Config } from "../config/config.ts";
import type { Caller } from "../core/caller.ts";
import { newId } from "../core/ids.ts";
import { Rejection } from "../core/rejection.ts";
import { LLM_CONFIGURATION_HINT, resolveModel } from "../llm/create-provider.ts";
import type { NewRun } from "../store/store.ts";

/**
 * Throws Rejection when `who` may not create run `body`: a hosted run without a model configured or without
 * a goal, or a policy other than the API key's.
 * @example assertCreatable(config, who, { mode: "hosted", goal: "summarise the inbox" });
 */
export function assertCreatable(config: Config, who: Caller, body: CreateRun): void {
  if (body.mode === "hosted" && !resolveModel(config.llm, body.model)) {
    throw new Rejection("not_configured", LLM_CONFIGURATION_HINT);
  }
  if (body.mode === "hosted" && !body.goal) throw new Rejection("invalid", "a hosted run needs a `goal`");
  if (body.policy && body.policy !== who.policy.name) {
    throw new Rejection(
      "invalid",
      `policy "${body.policy}" is not this API key's policy ("${who.policy.name}")`,
    );
  }
}

/**
 * The record of `who`'s new run `body` (idempotent by key when one is given), under the caller's policy.
 * @example const { run, created } = await store.createRun(newRunOf(who, { mode: "client" }, key));
 */
export function newRunOf(who: Caller, body: CreateRun, idempotencyKey: string | undefined): NewRun {
  return {
    id: newId("run"),
    tenant: who.tenant,
    mode: body.mode,
    goal: body.goal ?? null,
    implicit: false,
    policy: who.policy.name,
    policyVersion: who.policy.version,
    metadata: body.metadata ?? null,
    tools: body.tools ?? null,
    model: body.model ?? null,
    idempotencyKey: idempotencyKey ?? null,
  };
}
