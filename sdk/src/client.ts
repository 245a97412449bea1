/**
 * Calling peers through the mesh. A function holds a service binding (conventionally `WEFT`) to
 * the gateway Worker; the SDK turns `mesh.fetch("orders", "/orders/42")` into a request for
 * `http://orders.mesh/orders/42` on that binding, and turns the mesh's own error answers into
 * typed `MeshError`s. Answers from the destination itself (even 4xx/5xx) come back as Responses.
 */
import { meshErrorFromResponse } from "./errors.js";

/** The part of a service binding the SDK needs (a Worker `Fetcher` satisfies it). */
export interface MeshBinding {
  fetch(input: Request | string | URL, init?: RequestInit): Promise<Response>;
}

export interface MeshClientOptions {
  /**
   * When true (the default), an answer produced by the mesh itself (no route, upstream failure,
   * timeout, …) is thrown as a `MeshError`; when false it is returned as a Response like any other.
   */
  throwMeshErrors?: boolean;
}

/** Suffix of mesh host names: `<service>.mesh`. */
export const MESH_HOST_SUFFIX = ".mesh";

/** The URL the gateway understands as a mesh call to `service`. */
export function meshUrl(service: string, path = "/"): string {
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(service)) throw new TypeError(`"${service}" is not a valid service name`);
  const suffix = path.startsWith("/") ? path : `/${path}`;
  return `http://${service}${MESH_HOST_SUFFIX}${suffix}`;
}

export interface MeshClient {
  /**
   * Calls `service` at `path` through the gateway.
   * @example const res = await mesh.fetch("orders", "/orders/42");
   */
  fetch(service: string, path: string, init?: RequestInit): Promise<Response>;
  /**
   * Calls a full mesh URL (`http://<service>.mesh/...`) or a Request for one.
   * @example const res = await mesh.fetch("http://orders.mesh/orders/42", { method: "POST", body });
   */
  fetch(url: string | URL | Request, init?: RequestInit): Promise<Response>;
}

/**
 * Creates a mesh client over the gateway binding.
 * @example
 * const mesh = createMeshClient(env.WEFT);
 * const order = await (await mesh.fetch("orders", "/orders/42")).json();
 */
export function createMeshClient(binding: MeshBinding, options: MeshClientOptions = {}): MeshClient {
  if (!binding || typeof binding.fetch !== "function") {
    throw new TypeError("createMeshClient needs the gateway service binding (e.g. env.WEFT); check the function's wrangler config");
  }
  const throwMeshErrors = options.throwMeshErrors ?? true;

  async function meshFetch(first: string | URL | Request, second?: string | RequestInit, third?: RequestInit): Promise<Response> {
    let request: Request;
    if (typeof first === "string" && typeof second === "string") {
      request = new Request(meshUrl(first, second), third);
    } else {
      const init = typeof second === "object" ? second : undefined;
      request = first instanceof Request ? new Request(first, init) : new Request(String(first), init);
      const host = new URL(request.url).hostname;
      if (!host.endsWith(MESH_HOST_SUFFIX)) {
        throw new TypeError(`mesh.fetch needs a mesh URL such as http://orders.mesh/...; got host "${host}"`);
      }
    }
    const response = await binding.fetch(request);
    if (!throwMeshErrors) return response;
    const meshError = await meshErrorFromResponse(response);
    if (meshError) throw meshError;
    return response;
  }

  return { fetch: meshFetch as MeshClient["fetch"] };
}
