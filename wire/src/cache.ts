// The global cache's statistics and clearing answers; and the checkpoint write answer.
import { Type, type Static } from "@sinclair/typebox";

export const CacheStatsSchema = Type.Object(
  { entries: Type.Integer(), bytes: Type.Integer(), hits: Type.Integer(), misses: Type.Integer() },
  { $id: "CacheStats" },
);
export type CacheStats = Static<typeof CacheStatsSchema>;
export const CacheClearedSchema = Type.Object({ removed: Type.Integer() });
export const CheckpointPutSchema = Type.Object({ key: Type.String(), value: Type.Unknown() });
