// `mend keys create|list|revoke|usage`: manages API keys, and reports each tenant's stored bytes, in the store at MEND_DATA_DIR (the service may be running).
import { parseArgs } from "node:util";
import { loadConfig } from "../config/config.ts";
import { openStore } from "../services/open-store.ts";
import { loadPolicies, PolicyError } from "../policy/policy-loader.ts";
import { ApiKeyError, ApiKeys, type ApiKeyInfo } from "../auth/api-keys.ts";
import type { TenantUsage } from "../store/records.ts";
import { RotateError, rotateSecret } from "./rotate-secret.ts";

export const KEYS_USAGE = `usage:
  mend keys create --tenant NAME [--policy NAME]   create a key; it is printed once, alone on the last line of stdout
  mend keys list [--json]                          id, tenant, policy, created, revoked (never the key)
  mend keys revoke ID                              revoke a key; requests with it fail from then on
  mend keys usage [--tenant NAME] [--json]          bytes each tenant stores (journal, blobs, cache) and its quotas
  mend keys rotate-secret                          new key for stored tool credentials (MEND_SECRET_KEY_FILE):
                                                   every credential re-encrypted, the old key dropped
`;

/** Where the command writes; tests pass their own. */
export interface KeysIo {
  out(text: string): void;
  err(text: string): void;
}

const processIo: KeysIo = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
};

const iso = (ms: number | null) => (ms === null ? "-" : new Date(ms).toISOString());

function table(keys: ApiKeyInfo[]): string {
  return columns([
    ["ID", "TENANT", "POLICY", "CREATED", "REVOKED"],
    ...keys.map((k) => [k.id, k.tenant, k.policy, iso(k.createdAt), iso(k.revokedAt)]),
  ]);
}

const quota = (n: number | null) => (n === null ? "-" : String(n));

function usageTable(usage: TenantUsage[]): string {
  return columns([
    ["TENANT", "JOURNAL_BYTES", "JOURNAL_QUOTA", "BLOB_BYTES", "BLOB_QUOTA", "CACHE_BYTES"],
    ...usage.map((u) => [
      u.tenant,
      String(u.journalBytes),
      quota(u.quota.journalBytes),
      String(u.blobBytes),
      quota(u.quota.blobBytes),
      String(u.cacheBytes),
    ]),
  ]);
}

function columns(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return (
    rows
      .map((r) =>
        r
          .map((cell, i) => cell.padEnd(widths[i]!))
          .join("  ")
          .trimEnd(),
      )
      .join("\n") + "\n"
  );
}

/**
 * Runs `mend keys …` with the arguments after `keys`; returns the exit code.
 * @example process.exitCode = await keysCommand(["create", "--tenant", "acme", "--policy", "research"])
 */
export async function keysCommand(
  argv: string[],
  env = process.env,
  io: KeysIo = processIo,
): Promise<number> {
  const [verb, ...rest] = argv;
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      options: {
        tenant: { type: "string" },
        policy: { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    io.err(`mend keys: ${(e as Error).message}\n${KEYS_USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (verb === "help" || verb === "--help" || values.help) {
    io.out(KEYS_USAGE);
    return 0;
  }
  if (
    verb !== "create" &&
    verb !== "list" &&
    verb !== "revoke" &&
    verb !== "usage" &&
    verb !== "rotate-secret"
  ) {
    io.err(verb === undefined ? KEYS_USAGE : `mend keys: unknown command "${verb}"\n${KEYS_USAGE}`);
    return 2;
  }
  if (verb === "create" && (!values.tenant || positionals.length > 0)) {
    io.err(`mend keys create: --tenant NAME is required\n${KEYS_USAGE}`);
    return 2;
  }
  if (verb === "revoke" && positionals.length !== 1) {
    io.err(`mend keys revoke: expected one key id\n${KEYS_USAGE}`);
    return 2;
  }
  const config = loadConfig(env);
  if (verb === "create") {
    const policy = values.policy ?? "default";
    let policies;
    try {
      policies = await loadPolicies(config.policiesDir);
    } catch (e) {
      if (!(e instanceof PolicyError)) throw e;
      io.err(`mend keys create: the policies in ${config.policiesDir} are invalid: ${e.message}\n`);
      return 78;
    }
    if (!policies.has(policy)) {
      io.err(
        `mend keys create: no policy "${policy}" in ${config.policiesDir}; known: ${[...policies.keys()].sort().join(", ")}\n`,
      );
      return 2;
    }
  }
  const store = await openStore(config);
  try {
    const keys = new ApiKeys(store);
    switch (verb) {
      case "create": {
        const { key, token } = await keys.create({
          tenant: values.tenant!,
          policy: values.policy ?? "default",
        });
        io.err(
          `created API key ${key.id} for tenant "${key.tenant}" with policy "${key.policy}"; ` +
            `it is shown only this once (only its salted hash is stored):\n`,
        );
        io.out(`${token}\n`);
        return 0;
      }
      case "list": {
        const list = await keys.list();
        io.out(values.json ? `${JSON.stringify(list, null, 2)}\n` : table(list));
        return 0;
      }
      case "usage": {
        // What the store counts (tenant_usage); the quotas are those the service last applied per tenant.
        const all = await store.listUsage();
        const list = values.tenant ? all.filter((u) => u.tenant === values.tenant) : all;
        io.out(values.json ? `${JSON.stringify(list, null, 2)}\n` : usageTable(list));
        return 0;
      }
      case "rotate-secret": {
        const r = await rotateSecret(config, store);
        io.err(
          `rotated the secret key in ${r.file}: ${r.resealed} credential(s) re-encrypted, the old key dropped; a running service re-reads the file\n`,
        );
        if (r.unreadable.length > 0) {
          io.err(
            `${r.unreadable.length} credential(s) could not be opened with any key and were left as they were (register them again): ${r.unreadable.join(", ")}\n`,
          );
          return 1;
        }
        io.out(`${r.resealed}\n`);
        return 0;
      }
      case "revoke": {
        const id = positionals[0]!;
        if (!(await keys.revoke(id))) {
          io.err(`mend keys revoke: no active API key "${id}" (see mend keys list)\n`);
          return 1;
        }
        io.out(`revoked ${id}\n`);
        return 0;
      }
    }
  } catch (e) {
    if (e instanceof RotateError) {
      io.err(`mend keys rotate-secret: ${e.message}\n`);
      return 2;
    }
    if (e instanceof ApiKeyError) {
      io.err(`mend keys ${verb}: ${e.message}\n`);
      return 2;
    }
    throw e;
  } finally {
    await store.close();
  }
}
