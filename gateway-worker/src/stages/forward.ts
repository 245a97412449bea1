/**
 * Last stage: sends the request to the chosen endpoint (a service binding or a URL) under the
 * timeout that applies (rule, else service, else the mesh default), and hands back the answer.
 * A destination may not pose as the mesh: its `x-weft-*` response headers are dropped.
 */
import { MeshError } from "@weft/sdk";
import { CONFIG_DEFAULTS } from "@weft/sdk/config";
import { bindingNamed, type Fetcherish } from "../bindings.js";
import type { MeshRequest } from "../stage.js";
import { MESH_HEADER_PREFIX, stripMeshHeaders } from "./sanitize.js";


export function effectiveTimeoutMs(request: MeshRequest): number {
  return request.route?.rule.timeoutMs ?? request.service?.timeoutMs ?? CONFIG_DEFAULTS.timeoutMs;
}

export async function forward(request: MeshRequest): Promise<Response> {
  const endpoint = request.endpoint;
  if (!endpoint) throw new MeshError("internal", "forward ran before an endpoint was chosen");
  const path = request.upstreamPath ?? request.path;

  let target: Fetcherish;
  let upstreamUrl: string;
  if (endpoint.target.kind === "binding") {
    const binding = bindingNamed(request.env, endpoint.target.binding);
    if (!binding) {
      throw new MeshError("no_healthy_upstream", `endpoint ${endpoint.id}: the gateway has no service binding named ${endpoint.target.binding}`);
    }
    target = binding;
    upstreamUrl = `${request.url.protocol}//${request.url.host}${path}${request.url.search}`;
  } else {
    target = { fetch: (r) => fetch(r) };
    upstreamUrl = `${endpoint.target.baseUrl}${path}${request.url.search}`;
  }

  const timeoutMs = effectiveTimeoutMs(request);
  const controller = new AbortController();
  const hasBody = request.method !== "GET" && request.method !== "HEAD";
  const upstream = new Request(upstreamUrl, {
    method: request.method,
    headers: request.headers,
    body: hasBody ? request.original.body : null,
    redirect: "manual",
    signal: controller.signal,
  });

  let timer: ReturnType<typeof setTimeout> | undefined;
  const expiry = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutMs);
  });
  try {
    const outcome = await Promise.race([target.fetch(upstream), expiry]);
    if (outcome === "timeout") {
      controller.abort();
      throw new MeshError("timeout", `${endpoint.id} did not answer within ${timeoutMs} ms`);
    }
    return withoutMeshHeaders(outcome);
  } catch (error) {
    if (error instanceof MeshError) throw error;
    throw new MeshError("upstream_failure", `${endpoint.id} failed: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

function withoutMeshHeaders(response: Response): Response {
  let spoofed = false;
  response.headers.forEach((_value, name) => {
    if (name.toLowerCase().startsWith(MESH_HEADER_PREFIX)) spoofed = true;
  });
  if (!spoofed) return response;
  // x-weft-error among them: only the mesh may say an answer is its own.
  const copy = new Response(response.body, response);
  stripMeshHeaders(copy.headers);
  return copy;
}
