// Validates and resolves the files a caller sends into a container: by value (decoded) or by reference (a
// blob of the caller's tenant); relative paths only, size-capped.
import { posix } from "node:path";
import type { InputFile } from "@mend/wire";
import type { ContainerFile } from "@mend/sandboxes";
import { Rejection } from "../core/rejection.ts";

/** Total bytes of input files one execution may carry. */
export const MAX_INPUT_FILES_BYTES = 4 * 1024 * 1024;

/** The bytes of a blob, or null when the caller's tenant has no such blob (another tenant's is "no such"). */
export type BlobReader = (sha256: string) => Promise<Buffer | null>;

function fieldError(
  i: number,
  field: string,
  message: string,
): { errors: { path: string; message: string }[] } {
  return { errors: [{ path: `/files/${i}/${field}`, message }] };
}

/**
 * Checks and resolves files; rejects absolute paths, `..` segments, duplicates, unknown blobs and oversized
 * uploads (Rejection, before anything is journaled).
 * @example await resolveInputFiles([{ path: "data.csv", content: "a,b" }, { path: "b.bin", blob: sha }], read)
 */
export async function resolveInputFiles(
  files: InputFile[] | undefined,
  readBlob: BlobReader,
): Promise<ContainerFile[]> {
  const out: ContainerFile[] = [];
  const seen = new Set<string>();
  let total = 0;
  for (const [i, f] of (files ?? []).entries()) {
    const where = fieldError(i, "path", "must be a relative path without ..");
    if (f.path.startsWith("/") || f.path.includes("\\") || f.path.includes("\0")) {
      throw new Rejection("invalid", `files[${i}].path "${f.path}" must be relative to /workspace`, where);
    }
    const norm = posix.normalize(f.path);
    if (norm.split("/").includes("..") || f.path.split("/").includes("..") || norm === ".") {
      throw new Rejection("invalid", `files[${i}].path "${f.path}" may not contain ".."`, where);
    }
    if (seen.has(norm)) throw new Rejection("invalid", `files[${i}].path "${f.path}" is given twice`, where);
    seen.add(norm);
    let content: Buffer;
    if ("blob" in f) {
      const bytes = await readBlob(f.blob);
      if (!bytes) {
        throw new Rejection(
          "invalid",
          `files[${i}].blob ${f.blob} is not a blob of this tenant (use the sha256 of an output file of one of your runs)`,
          fieldError(i, "blob", "no such blob for this tenant"),
        );
      }
      content = bytes;
    } else {
      content = Buffer.from(f.content, f.encoding === "base64" ? "base64" : "utf8");
    }
    total += content.length;
    if (total > MAX_INPUT_FILES_BYTES) {
      throw new Rejection("too_large", `input files exceed ${MAX_INPUT_FILES_BYTES} bytes in total`);
    }
    out.push({ path: norm, content });
  }
  return out;
}
