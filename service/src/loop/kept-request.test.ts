import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LlmMessage, LlmTool } from "../llm/llm-provider.ts";
import { FileBlobStore } from "../store/file-blob-store.ts";
import { SqliteStore } from "../store/sqlite/sqlite-store.ts";
import { isKeptRequest, keepRequest, rebuildRequest, type KeptRequest } from "./kept-request.ts";

/** Files under the blob folder (fan-out folders included). */
function blobFiles(root: string): string[] {
  try {
    return readdirSync(root, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => e.name);
  } catch {
    return [];
  }
}

describe("kept requests", () => {
  it("rebuild every turn's whole request, as the conversation grows and is compacted, from one head blob", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mend-kept-"));
    const store = SqliteStore.open(join(dir, "mend.db"));
    const blobs = new FileBlobStore(join(dir, "blobs"));
    try {
      const tools: LlmTool[] = [{ name: "finish", description: "ends", inputSchema: { type: "object" } }];
      const system = 'the "system"\n';
      const messages: LlmMessage[] = [{ role: "user", content: "goal" }];
      const audits = new Map<string, KeptRequest>();
      const sent = new Map<string, unknown>();
      const turn = async (key: string, commit = true) => {
        const k = await keepRequest(blobs, store, "acme", key, { model: "m", system, tools, messages });
        // As journaled: the audit goes through JSON (the step row).
        audits.set(key, JSON.parse(JSON.stringify(k.audit)) as KeptRequest);
        sent.set(key, JSON.parse(JSON.stringify({ model: "m", system, tools, messages })));
        if (commit) k.commit();
      };
      await turn("iter-1/llm");
      messages.push({
        role: "assistant",
        content: null,
        toolCalls: [{ id: "1", name: "x", argumentsJson: "{}" }],
      });
      messages.push({ role: "tool", toolCallId: "1", name: "x", content: "y".repeat(500) });
      await turn("iter-2/llm");
      // Compaction replaces an old message's object: the delta starts before it.
      messages[2] = { ...messages[2]!, content: "short" };
      messages.push({ role: "user", content: "more" });
      // A call whose end was not journaled is no base for the next one.
      await turn("iter-3/llm", false);
      messages.push({ role: "assistant", content: "done" });
      await turn("iter-3/llm/retry-1");

      assert.equal(audits.get("iter-1/llm")!.base, undefined);
      assert.deepEqual(
        { base: audits.get("iter-2/llm")!.base, keep: audits.get("iter-2/llm")!.keep },
        { base: "iter-1/llm", keep: 1 },
      );
      assert.deepEqual(
        { base: audits.get("iter-3/llm/retry-1")!.base, keep: audits.get("iter-3/llm/retry-1")!.keep },
        { base: "iter-2/llm", keep: 2 },
      );
      for (const [key, audit] of audits) {
        assert.ok(isKeptRequest(audit));
        const rebuilt = await rebuildRequest(
          audit,
          (k) => audits.get(k),
          (sha) => blobs.get(sha),
        );
        assert.deepEqual(rebuilt, sent.get(key), key);
      }
      // One blob for every turn (the head), referenced once by the tenant.
      assert.equal(blobFiles(join(dir, "blobs")).length, 1);
      assert.equal(await store.hasBlobRef("acme", audits.get("iter-1/llm")!.head.blob), true);
      // A missing link rebuilds nothing (never a wrong request).
      assert.equal(
        await rebuildRequest(
          audits.get("iter-2/llm")!,
          () => undefined,
          (sha) => blobs.get(sha),
        ),
        null,
      );
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("tells the older format (a blob of the whole request) apart", () => {
    assert.equal(isKeptRequest({ blob: "a".repeat(64), size: 10 }), false);
    assert.equal(isKeptRequest(null), false);
    assert.equal(isKeptRequest({ head: { blob: "a".repeat(64), size: 1 }, added: [], messages: 0 }), true);
  });

  it("forgets remembered heads past 1,024 distinct prompts, and a forgotten head is put again under the same sha256", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mend-kept-"));
    const store = SqliteStore.open(join(dir, "mend.db"));
    let puts = 0;
    const files = new FileBlobStore(join(dir, "blobs"));
    // A real blob store whose puts are counted: a remembered head is not put again.
    const blobs = Object.assign(Object.create(files) as FileBlobStore, {
      put: (b: Buffer) => {
        puts++;
        return files.put(b);
      },
    });
    try {
      const tools: LlmTool[] = [];
      const messages: LlmMessage[] = [{ role: "user", content: "goal" }];
      const keep = (system: string) =>
        keepRequest(blobs, store, "acme", "k", { model: "m", system, tools, messages });
      const first = (await keep("prompt 0")).audit.head;
      await keep("prompt 0");
      assert.equal(puts, 1, "a remembered head is put once");
      for (let i = 1; i < 1_100; i++) await keep(`prompt ${i}`);
      assert.equal(puts, 1_100);
      const again = (await keep("prompt 0")).audit.head;
      assert.equal(puts, 1_101, "the first head was forgotten (bounded memory) and put again");
      assert.deepEqual(again, first);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
