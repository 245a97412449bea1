/** Shared helpers for integration tests that run inside workerd against the gateway. */
import { SELF } from "cloudflare:test";
import meshYaml from "../examples/mesh.yaml?raw";

export const ADMIN_TOKEN = "dev-admin-token";
export const EXAMPLE_MESH_YAML: string = meshYaml;

export function admin(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (!headers.has("authorization")) headers.set("authorization", `Bearer ${ADMIN_TOKEN}`);
  return SELF.fetch(`http://gateway.test/.weft/api/v1${path}`, { ...init, headers });
}

export interface ApplyResult {
  status: number;
  body: {
    version?: number;
    changed?: boolean;
    summary?: string;
    error?: { code: string; message: string; issues?: { document: number; path: string; message: string; line?: number }[] };
  };
}

export async function applyYaml(yaml: string, options: { dryRun?: boolean; actor?: string } = {}): Promise<ApplyResult> {
  const headers: Record<string, string> = { "content-type": "application/yaml" };
  if (options.actor) headers["weft-actor"] = options.actor;
  const response = await admin(`/config${options.dryRun ? "?dryRun=1" : ""}`, { method: "POST", headers, body: yaml });
  return { status: response.status, body: (await response.json()) as ApplyResult["body"] };
}

/** Applies the example mesh and fails the test if it is refused. */
export async function applyExampleMesh(): Promise<number> {
  const result = await applyYaml(EXAMPLE_MESH_YAML);
  if (result.status !== 200) throw new Error(`example mesh refused: ${JSON.stringify(result.body)}`);
  return result.body.version ?? -1;
}

/** Sends `count` requests, `concurrency` at a time, and returns the answers' JSON bodies. */
export async function sendMany<T>(count: number, concurrency: number, send: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      results[i] = await send(i);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return results;
}
