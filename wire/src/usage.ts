// GET /v1/usage: what the calling tenant stores and holds open, beside the quotas of its policy.
import { Type, type Static } from "@sinclair/typebox";

const bytes = (description: string) => Type.Integer({ minimum: 0, description });

export const UsageSchema = Type.Object(
  {
    tenant: Type.String(),
    usage: Type.Object({
      journalBytes: bytes(
        "runs, steps, tool calls and checkpoints stored (JSON text bytes; events not counted)",
      ),
      blobBytes: bytes("blobs the tenant references, each once"),
      cacheBytes: bytes("the tenant's entries in the tool-result cache"),
      sseStreams: Type.Integer({ minimum: 0, description: "event streams open now (on this replica)" }),
    }),
    limits: Type.Object(
      {
        journalBytes: Type.Optional(Type.Integer()),
        blobBytes: Type.Optional(Type.Integer()),
        cacheBytes: Type.Optional(Type.Integer()),
        toolArgsBytes: Type.Optional(Type.Integer()),
        toolResultBytes: Type.Optional(Type.Integer()),
        sseStreams: Type.Optional(Type.Integer()),
      },
      { description: "the policy's quotas (limits.*); an absent one is unlimited" },
    ),
  },
  { $id: "Usage" },
);
/** The tenant's usage report (GET /v1/usage). */
export type Usage = Static<typeof UsageSchema>;
