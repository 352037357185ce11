// GET /healthz: liveness plus what the service can reach (store, Docker engine, runtime images).
import { Type, type Static } from "@sinclair/typebox";

export const HealthSchema = Type.Object(
  {
    ok: Type.Boolean(),
    version: Type.String(),
    store: Type.Object({
      kind: Type.Union([Type.Literal("sqlite"), Type.Literal("postgres")]),
      error: Type.Optional(Type.String()),
    }),
    docker: Type.Object({ available: Type.Boolean(), version: Type.Optional(Type.String()) }),
    images: Type.Array(Type.String()),
  },
  { $id: "Health" },
);
export type Health = Static<typeof HealthSchema>;
