// The JSON Schema of the policy file format, generated from the zod schema so editors validate policies/*.yaml.
import { z } from "zod";
import { PolicyFileSchema } from "./policy-schema.ts";

/** Where the generated schema is committed (relative to the repository root). */
export const POLICY_SCHEMA_PATH = new URL("../../../policies/schema.json", import.meta.url);

/**
 * The policy format as JSON Schema text (2-space indented, trailing newline), as committed in policies/schema.json.
 * Describes the file as written: defaults like `backoffMs: 0` are optional to the author.
 * @example writeFileSync(POLICY_SCHEMA_PATH, policyJsonSchemaText())
 */
export function policyJsonSchemaText(): string {
  const schema = z.toJSONSchema(PolicyFileSchema, { io: "input" });
  return `${JSON.stringify({ ...schema, $id: "https://mend.dev/schemas/policy.json", title: "Mend policy" }, null, 2)}\n`;
}
