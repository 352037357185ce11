// Extracts the tar of /workspace/out that the launcher returns, into Buffers (regular files only).
import { Readable } from "node:stream";
import { extract } from "tar-stream";
import type { ContainerFile } from "./runner.ts";

/**
 * Unpacks a tar archive into files with relative paths; skips links, devices and unsafe paths.
 * @example const files = await untarFiles(Buffer.from(result.outTarBase64, "base64"), 64 << 20);
 */
export async function untarFiles(tar: Buffer, maxBytes: number): Promise<ContainerFile[]> {
  const files: ContainerFile[] = [];
  let total = 0;
  const ex = extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on("entry", (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on("data", (c: unknown) => chunks.push(c as Buffer));
      stream.on("end", () => {
        const path = header.name.replace(/^\.\//, "");
        const safe = path.length > 0 && !path.startsWith("/") && !path.split("/").includes("..");
        const content = Buffer.concat(chunks);
        if (header.type === "file" && safe && total + content.length <= maxBytes) {
          total += content.length;
          files.push({ path, content });
        }
        next();
      });
      stream.on("error", reject);
    });
    ex.on("finish", () => resolve());
    ex.on("error", reject);
  });
  Readable.from([tar]).pipe(ex);
  await done;
  return files;
}
