/** Reading admin request bodies with a hard size cap, so a huge upload is refused, not buffered. */
import { MeshError } from "@weft/sdk";

export const MAX_ADMIN_BODY_BYTES = 1024 * 1024;

export async function readBodyText(request: Request, limit = MAX_ADMIN_BODY_BYTES): Promise<string> {
  const declared = Number(request.headers.get("content-length"));
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
  if (!request.body) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new MeshError("bad_request", "the body is not valid UTF-8 text");
  }
}

function tooLarge(limit: number): MeshError {
  return new MeshError("body_too_large", `the body is larger than ${limit} bytes`);
}

export type BodyFormat = "yaml" | "json";

/** YAML for application/yaml (and friends), JSON for application/json; sniffed when absent. */
export function bodyFormat(contentType: string | null, text: string): BodyFormat {
  const type = (contentType ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  if (type === "") return /^\s*[[{]/.test(text) ? "json" : "yaml";
  if (type === "application/json") return "json";
  if (["application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain"].includes(type)) return "yaml";
  throw new MeshError("bad_request", `unsupported content-type "${type}"; send application/yaml or application/json`);
}
