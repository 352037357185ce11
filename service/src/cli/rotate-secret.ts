// `mend keys rotate-secret`: a new secret key first in the keyring, every stored credential re-sealed with it, the old keys dropped.
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { Config } from "../config/config.ts";
import { createLogger } from "../log/logger.ts";
import { ApiKeys } from "../auth/api-keys.ts";
import type { Store } from "../store/store.ts";
import { parseKeyring, SecretBox, secretKeyPath, writeKeyring } from "../tools/secret-box.ts";

/** A running service that read the two-key ring may seal with the old key until it sees the new file. */
const SETTLE_MS = 1_000;

export interface RotateReport {
  file: string;
  /** Credentials re-sealed with the new key. */
  resealed: number;
  /** Records whose secret opened with no key of the ring (left as they were; their tools must be registered again). */
  unreadable: string[];
}

/**
 * Rotates the key that seals tool credentials. Steps: write the keyring `[new, ...old]` (a running service
 * re-reads it and seals with the new key from then on, opening with both); re-seal every stored
 * credential with the new key, twice, the second pass after a pause to catch a seal made with the old key
 * by a service that had not yet seen the file; write the keyring `[new]`.
 * @example const report = await rotateSecret(config, store)
 */
export async function rotateSecret(config: Config, store: Store): Promise<RotateReport> {
  if (config.secretKey) {
    throw new RotateError(
      "MEND_SECRET_KEY is set: the key comes from the environment, so rotation is yours to make there; or move it to a file named by MEND_SECRET_KEY_FILE and rotate with this command",
    );
  }
  const file = secretKeyPath({ dataDir: config.dataDir, keyFile: config.secretKeyFile });
  let old: Buffer[];
  try {
    old = parseKeyring(await readFile(file, "utf8"), file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT")
      throw new RotateError(
        `${file} does not exist: no credential was sealed yet, so there is nothing to rotate`,
      );
    throw e;
  }
  const fresh = randomBytes(32);
  await writeKeyring(file, [fresh, ...old]);
  const box = new SecretBox({ dataDir: config.dataDir, keyFile: file, log: createLogger("silent") });
  const tenants = new Set(["local", ...(await new ApiKeys(store).list()).map((k) => k.tenant)]);
  const report: RotateReport = { file, resealed: 0, unreadable: [] };
  await reseal(store, box, tenants, report);
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  await reseal(store, box, tenants, report);
  await writeKeyring(file, [fresh]);
  return report;
}

/** Raised for a rotation that cannot start; the message says why and what to do. */
export class RotateError extends Error {
  override name = "RotateError";
}

async function reseal(
  store: Store,
  box: SecretBox,
  tenants: Set<string>,
  report: RotateReport,
): Promise<void> {
  for (const tenant of tenants) {
    for (const record of await store.listTools(tenant)) {
      if (!record.secret) continue;
      const aad = `${record.tenant}/${record.name}`;
      if (await box.isCurrent(record.secret, aad)) continue;
      let plain: string;
      try {
        plain = await box.open(record.secret, aad);
      } catch {
        if (!report.unreadable.includes(aad)) report.unreadable.push(aad);
        continue;
      }
      // Same times: the record's configuration did not change (MCP connections stay as they are).
      await store.putTool({ ...record, secret: await box.seal(plain, aad) });
      report.resealed += 1;
    }
  }
}
