// Who is asking: the tenant, the API key and the policy resolved for it. Every engine call carries one.
import type { Policy } from "../policy/policy-schema.ts";

export interface Caller {
  tenant: string;
  keyId: string | null;
  policy: Policy;
}
