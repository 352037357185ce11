// Labels that identify Mend containers, the execution and the owning runner (for the janitor).
import { hostname } from "node:os";

export const LABEL_MEND = "mend";
export const LABEL_EXECUTION = "mend.execution";
export const LABEL_OWNER = "mend.owner";
export const LABEL_OWNER_PID = "mend.owner.pid";
export const LABEL_OWNER_HOST = "mend.owner.host";
export const LABEL_POOLED = "mend.pooled";

/**
 * The labels of a container created by the runner instance `ownerId`.
 * @example ownerLabels("r_1", "ex_1") // { mend: "1", "mend.execution": "ex_1", "mend.owner": "r_1", ... }
 */
export function ownerLabels(
  ownerId: string,
  executionId: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    ...extra,
    [LABEL_MEND]: "1",
    [LABEL_EXECUTION]: executionId,
    [LABEL_OWNER]: ownerId,
    [LABEL_OWNER_PID]: String(process.pid),
    [LABEL_OWNER_HOST]: hostname(),
  };
}
