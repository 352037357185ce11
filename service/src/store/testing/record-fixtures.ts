// Minimal tool and API key records for store tests: the fields every store requires, tenant t1.
import type { ApiKeyRecord, ToolRecord } from "../records.ts";

/**
 * A tool record of tenant t1 named `name` (spec and timestamps fixed).
 * @example await store.putTool(toolRecord("w"))
 */
export const toolRecord = (name: string, overrides: Partial<ToolRecord> = {}): ToolRecord => ({
  tenant: "t1",
  name,
  spec: { url: "http://x" },
  secret: null,
  createdAt: 1,
  updatedAt: 1,
  ...overrides,
});

/**
 * An unrevoked API key record of tenant t1, policy default, with id `id` (salt and hash are placeholders).
 * @example await store.putApiKey(apiKeyRecord("k1"))
 */
export const apiKeyRecord = (id: string, overrides: Partial<ApiKeyRecord> = {}): ApiKeyRecord => ({
  id,
  tenant: "t1",
  policy: "default",
  salt: "s",
  hash: "h",
  createdAt: 1,
  revokedAt: null,
  ...overrides,
});
