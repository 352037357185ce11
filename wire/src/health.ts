// GET /healthz: liveness plus what the service can reach (store, Docker engine, runtime images).
import { Type, type Static } from "@sinclair/typebox";

const TenantLoadSchema = Type.Object({
  running: Type.Integer({ description: "units of work holding capacity (code-mode slices, containers)" }),
  parked: Type.Integer({ description: "code-mode executions awaiting a tool call (they hold no CPU)" }),
  queued: Type.Integer({ description: "work waiting for capacity" }),
});

const SandboxLoadSchema = Type.Object({
  running: Type.Integer(),
  parked: Type.Integer(),
  queued: Type.Integer(),
  tenants: Type.Optional(
    Type.Record(Type.String(), TenantLoadSchema, {
      description: "per tenant (shown to loopback callers only: tenant names are not public)",
    }),
  ),
});

export const HealthSchema = Type.Object(
  {
    ok: Type.Boolean(),
    version: Type.String(),
    store: Type.Object({
      kind: Type.Union([Type.Literal("sqlite"), Type.Literal("postgres")]),
      error: Type.Optional(Type.String()),
    }),
    replica: Type.Optional(
      Type.Object(
        {
          id: Type.String({ description: "this process as a replica: host/pid/random" }),
          live: Type.Integer({
            description:
              "replicas with a live heartbeat on the same store, this one included (limits are shared by it)",
          }),
        },
        { description: "several replicas on one PostgreSQL database (shown to loopback callers only)" },
      ),
    ),
    docker: Type.Object({ available: Type.Boolean(), version: Type.Optional(Type.String()) }),
    images: Type.Array(Type.String()),
    engines: Type.Optional(
      Type.Array(
        Type.Object({
          name: Type.String(),
          state: Type.Union([Type.Literal("up"), Type.Literal("down")], {
            description: "down: not answering, left out of placement until it answers again",
          }),
          version: Type.Optional(Type.String()),
          containers: Type.Integer({ description: "Mend containers on it (running jobs and idle pool)" }),
          memoryMb: Type.Optional(Type.Integer()),
          reservedMb: Type.Number({ description: "memory reserved by the jobs placed on it and its pool" }),
          error: Type.Optional(Type.String({ description: "why it is down" })),
        }),
        { description: "every Docker engine of MEND_DOCKER_HOSTS (or the one engine)" },
      ),
    ),
    sandboxes: Type.Optional(
      Type.Object(
        {
          codemode: Type.Record(Type.String(), SandboxLoadSchema, { description: "per engine" }),
          containers: Type.Optional(SandboxLoadSchema),
        },
        { description: "load of the sandboxes, scheduled fairly between tenants" },
      ),
    ),
  },
  { $id: "Health" },
);
export type Health = Static<typeof HealthSchema>;
