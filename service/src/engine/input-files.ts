// Validates and decodes the files a caller sends into a container: relative paths only, size-capped.
import { posix } from "node:path";
import type { ContainerFile } from "@mend/sandboxes";
import { Rejection } from "../core/rejection.ts";

/** Total bytes of input files one execution may carry. */
export const MAX_INPUT_FILES_BYTES = 4 * 1024 * 1024;

/**
 * Decodes files; rejects absolute paths, `..` segments, duplicates and oversized uploads.
 * @example decodeInputFiles([{ path: "data.csv", content: "a,b" }])
 */
export function decodeInputFiles(
  files: { path: string; content: string; encoding?: "utf8" | "base64" }[] | undefined,
): ContainerFile[] {
  const out: ContainerFile[] = [];
  const seen = new Set<string>();
  let total = 0;
  for (const [i, f] of (files ?? []).entries()) {
    const where = { errors: [{ path: `/files/${i}/path`, message: "must be a relative path without .." }] };
    if (f.path.startsWith("/") || f.path.includes("\\") || f.path.includes("\0")) {
      throw new Rejection("invalid", `files[${i}].path "${f.path}" must be relative to /workspace`, where);
    }
    const norm = posix.normalize(f.path);
    if (norm.split("/").includes("..") || f.path.split("/").includes("..") || norm === ".") {
      throw new Rejection("invalid", `files[${i}].path "${f.path}" may not contain ".."`, where);
    }
    if (seen.has(norm)) throw new Rejection("invalid", `files[${i}].path "${f.path}" is given twice`, where);
    seen.add(norm);
    const content = Buffer.from(f.content, f.encoding === "base64" ? "base64" : "utf8");
    total += content.length;
    if (total > MAX_INPUT_FILES_BYTES) {
      throw new Rejection("too_large", `input files exceed ${MAX_INPUT_FILES_BYTES} bytes in total`);
    }
    out.push({ path: norm, content });
  }
  return out;
}
