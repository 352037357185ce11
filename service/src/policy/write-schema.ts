// Script: regenerates policies/schema.json from the zod policy schema (`node service/src/policy/write-schema.ts`).
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { POLICY_SCHEMA_PATH, policyJsonSchemaText } from "./policy-json-schema.ts";

writeFileSync(POLICY_SCHEMA_PATH, policyJsonSchemaText());
process.stdout.write(`wrote ${fileURLToPath(POLICY_SCHEMA_PATH)}\n`);
