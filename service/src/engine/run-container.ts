// Runs a container step: policy admission, the one-shot container, produced files into the blob store.
import { makeFailure, type ContainerAction } from "@mend/wire";
import type { ContainerFile, ContainerRunner } from "@mend/sandboxes";
import { admitContainer } from "../policy/resolve-request.ts";
import type { BlobStore } from "../store/blob-store.ts";
import type { Store } from "../store/store.ts";
import type { StepContext, StepResult } from "./step-context.ts";
import { putTenantBlob } from "../store/put-blob.ts";
import { telemetry } from "../lib/telemetry.ts";

export interface ContainerDeps {
  runner: ContainerRunner | null;
  store: Store;
  blobs: BlobStore;
}

export type ContainerSpec = Omit<ContainerAction, "sandbox">;

/** Runs the container step; `files` are the action's input files, already decoded and checked. */
export async function runContainer(
  deps: ContainerDeps,
  ctx: StepContext,
  action: ContainerSpec,
  files: ContainerFile[],
): Promise<StepResult> {
  const admitted = admitContainer(ctx.who.policy, { image: action.image, limits: action.limits });
  if (!admitted.ok) return { status: "failed", failure: admitted.failure, output: { usage: { wallMs: 0 } } };
  if (!deps.runner) {
    return {
      status: "failed",
      failure: makeFailure(
        "sandbox_unavailable",
        "the container sandbox is not configured on this service",
        true,
        {
          remedy: { action: "retry_later" },
        },
      ),
      output: { usage: { wallMs: 0 } },
    };
  }
  const inputBytes = files.reduce((n, f) => n + f.content.length, 0);
  if (inputBytes > admitted.value.limits.diskMb * 1024 * 1024) {
    return {
      status: "failed",
      failure: makeFailure(
        "disk_full",
        `the input files (${inputBytes} bytes) do not fit the ${admitted.value.limits.diskMb} MiB workspace`,
        true,
        {
          limits: { diskMb: admitted.value.limits.diskMb },
          remedy: { action: "increase_disk", diskMb: Math.ceil((inputBytes * 2) / (1024 * 1024)) },
        },
      ),
      output: { usage: { wallMs: 0 } },
    };
  }
  const outcome = await deps.runner.run({
    image: admitted.value.image,
    code: action.code,
    files,
    stdin: action.stdin,
    argv: action.argv,
    limits: admitted.value.limits,
    runtime: admitted.value.runtime,
    labels: { "mend.run": ctx.runId, "mend.step": String(ctx.step.seq), "mend.tenant": ctx.who.tenant },
    signal: ctx.signal,
    tenant: ctx.who.tenant,
    weight: ctx.who.policy.limits.share,
    ...(ctx.output ? { onOutput: ctx.output } : {}),
  });
  telemetry().pool(admitted.value.image, outcome.pooled);
  const produced = [];
  for (const f of outcome.files) {
    const { sha256, size } = await putTenantBlob(deps.store, deps.blobs, ctx.who.tenant, f.content);
    produced.push({ path: f.path, size, sha256, url: `/v1/blobs/${sha256}` });
  }
  const output = {
    stdout: outcome.stdout,
    stderr: outcome.stderr,
    exitCode: outcome.exitCode,
    files: produced,
    usage: outcome.usage,
  };
  const resolved = {
    image: admitted.value.image,
    limits: admitted.value.limits,
    runtime: admitted.value.runtime,
  };
  // refusals stay in the audit even when the code shrugged them off and succeeded
  const refused = (outcome.usage.egress ?? []).filter((r) => !r.allowed);
  const audit = refused.length > 0 ? { egressDenied: refused } : undefined;
  if (outcome.status === "succeeded")
    return { status: "succeeded", output, resolved, ...(audit ? { audit } : {}) };
  return { status: "failed", output, failure: outcome.failure, resolved, ...(audit ? { audit } : {}) };
}
