// blobs.put / blobs.get: content-addressed files shared by the tenant's runs (BlobStore + tenant refs).
import { makeFailure } from "@mend/wire";
import type { BlobStore } from "../store/blob-store.ts";
import type { Store } from "../store/store.ts";
import type { ToolDefinition } from "./tool.ts";
import { putTenantBlob } from "../store/put-blob.ts";
import { QuotaExceededError } from "../store/store-errors.ts";
import { quotaFailure } from "../core/quota-failure.ts";

const MAX_BLOB_BYTES = 8 * 1024 * 1024;
const ENCODING = {
  type: "string",
  enum: ["utf8", "base64"],
  description: "utf8 (default) or base64 for binary",
};

/**
 * The blob tools. A blob is visible to a tenant only if that tenant stored it (or uploaded it via /v1/blobs).
 * @example catalogTools.push(...createBlobTools(store, blobs))
 */
export function createBlobTools(store: Store, blobs: BlobStore): ToolDefinition[] {
  const put: ToolDefinition = {
    name: "blobs.put",
    description:
      "Stores content and returns its address { sha256, size }; identical content gets the same sha256.",
    inputSchema: {
      type: "object",
      properties: {
        content: { type: "string", description: "The content (text, or base64)" },
        encoding: ENCODING,
      },
      required: ["content"],
      additionalProperties: false,
    },
    version: "1",
    idempotent: true,
    async invoke(args, ctx) {
      const { content, encoding } = args as { content: string; encoding?: "utf8" | "base64" };
      const bytes = Buffer.from(content, encoding === "base64" ? "base64" : "utf8");
      if (bytes.length > MAX_BLOB_BYTES) {
        return {
          ok: false,
          failure: makeFailure(
            "tool_failed",
            `blob of ${bytes.length} bytes is over the ${MAX_BLOB_BYTES}-byte limit of blobs.put`,
            false,
            {
              tool: "blobs.put",
            },
          ),
        };
      }
      let put;
      try {
        put = await putTenantBlob(store, blobs, ctx.tenant, bytes);
      } catch (err) {
        if (err instanceof QuotaExceededError)
          return { ok: false, failure: quotaFailure("blobBytes", ctx.policy?.limits.blobBytes) };
        throw err;
      }
      const { sha256, size } = put;
      return { ok: true, value: { sha256, size } };
    },
  };
  const get: ToolDefinition = {
    name: "blobs.get",
    description: "Reads a blob stored by this tenant. Returns { sha256, size, content, encoding }.",
    inputSchema: {
      type: "object",
      properties: {
        sha256: { type: "string", pattern: "^[0-9a-f]{64}$", description: "Address from blobs.put" },
        encoding: ENCODING,
      },
      required: ["sha256"],
      additionalProperties: false,
    },
    version: "1",
    idempotent: true,
    async invoke(args, ctx) {
      const { sha256, encoding } = args as { sha256: string; encoding?: "utf8" | "base64" };
      const content = (await store.hasBlobRef(ctx.tenant, sha256)) ? await blobs.get(sha256) : null;
      if (!content) {
        return {
          ok: false,
          failure: makeFailure("tool_failed", `no blob ${sha256} is stored for this tenant`, false, {
            tool: "blobs.get",
            status: 404,
            remedy: { action: "fix_arguments", hint: "use a sha256 returned by blobs.put" },
          }),
        };
      }
      const enc = encoding ?? "utf8";
      return {
        ok: true,
        value: { sha256, size: content.length, content: content.toString(enc), encoding: enc },
      };
    },
  };
  return [put, get];
}
