/** Shared helpers for integration tests that run inside workerd against the gateway. */
import { createExecutionContext, env, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { importJWK, type JWK } from "jose";
import { CONTROL_PLANE_NAME, type ControlPlane } from "../control-durable/src/control-plane.js";
import meshYaml from "../examples/mesh.yaml?raw";
import worker from "../gateway-worker/src/index.js";
import type { GatewayEnv } from "../gateway-worker/src/env.js";
import type { Gateway } from "../gateway-worker/src/gateway.js";

export const ADMIN_TOKEN = "dev-admin-token";
/**
 * The example mesh as the routing and control-plane suites use it: PERMISSIVE and without its
 * AuthorizationPolicies, so they can send anonymous calls (the identity suites bring their own),
 * and without its Rollout, whose checks on the control plane's real alarm would otherwise move
 * orders' split while a suite runs (the rollout suite brings its own).
 */
export const EXAMPLE_MESH_YAML: string = meshYaml
  .split(/\n---\n/)
  .filter((document) => !/^kind: (AuthorizationPolicy|Rollout)$/m.test(document))
  .join("\n---\n")
  .replace("mode: STRICT", "mode: PERMISSIVE")
  // Thousands of requests per suite: no access-log line for each (the access-log suite has its own mesh).
  .replace(/^  telemetry: .*$/m, "");

/** The example mesh exactly as shipped (STRICT, with its policies). */
export const SHIPPED_MESH_YAML: string = meshYaml;

export const gatewayEnv = env as unknown as GatewayEnv;

/**
 * Sends a request to the gateway Worker's own fetch handler: the same module instance (and so the
 * same isolate caches) that SELF reaches, with the real control plane and example functions
 * behind it, minus SELF's per-request round trip through the test runner (several ms each).
 */
export function gateway(url: string, init: RequestInit = {}, bindings: GatewayEnv = gatewayEnv): Promise<Response> {
  return worker.fetch(new Request(url, init) as unknown as Parameters<typeof worker.fetch>[0], bindings, createExecutionContext());
}

/**
 * Sends a request through a gateway of the test's own making (`createGateway`, a fresh isolate's
 * caches) and waits for its background work (`waitUntil`) before answering.
 */
export async function sendThrough(through: Gateway, url: string, init: RequestInit = {}, bindings: GatewayEnv = gatewayEnv): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await through.fetch(new Request(url, init) as Parameters<Gateway["fetch"]>[0], bindings, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

export function admin(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (!headers.has("authorization")) headers.set("authorization", `Bearer ${ADMIN_TOKEN}`);
  return gateway(`http://gateway.test/.weft/api/v1${path}`, { ...init, headers });
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

/** Applies `yaml` and fails the test when the control plane refuses it. */
export async function applyOk(yaml: string): Promise<number> {
  const result = await applyYaml(yaml);
  if (result.status !== 200) throw new Error(`config refused: ${JSON.stringify(result.body)}`);
  return result.body.version ?? -1;
}

/** An SVID for `service`, minted by the control plane through the admin API. */
export async function tokenFor(service: string): Promise<string> {
  const response = await admin("/tokens", { method: "POST", body: JSON.stringify({ service }) });
  if (response.status !== 200) throw new Error(`could not mint a token for ${service}: HTTP ${response.status} ${await response.text()}`);
  return ((await response.json()) as { token: string }).token;
}

/** Applies the example mesh, fails the test if it is refused, and waits until functions' peer calls see it. */
export async function applyExampleMesh(): Promise<number> {
  const result = await applyYaml(EXAMPLE_MESH_YAML);
  if (result.status !== 200) throw new Error(`example mesh refused: ${JSON.stringify(result.body)}`);
  const version = result.body.version ?? -1;
  await functionsGatewayServes(version);
  return version;
}

/**
 * Waits until the gateway the example functions call through (a second gateway isolate that
 * refreshes every 100 ms) serves `version`, so peer calls made by functions use it too.
 */
export async function functionsGatewayServes(version: number, timeoutMs = 10_000): Promise<void> {
  const functionsGateway = (env as unknown as { FUNCTIONS_GATEWAY: Fetcher }).FUNCTIONS_GATEWAY;
  const deadline = Date.now() + timeoutMs;
  let seen: unknown;
  while (Date.now() < deadline) {
    const response = await functionsGateway.fetch("http://gateway.test/.weft/healthz");
    seen = await response.json();
    if ((seen as { configVersion?: number }).configVersion === version) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the functions' gateway did not reach config version ${version}: ${JSON.stringify(seen)}`);
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

/**
 * The control plane's active signing key, read inside its Durable Object: tests sign tokens with
 * it when the flaw they test is not the signature. Never leaves the test.
 */
export async function activeSigningKey(): Promise<{ kid: string; key: CryptoKey; publicJwk: string }> {
  const stub = gatewayEnv.CONTROL.get(gatewayEnv.CONTROL.idFromName(CONTROL_PLANE_NAME));
  await stub.jwks(); // creates the first key on a fresh mesh
  const active = await runInDurableObject(stub, (_instance: ControlPlane, state) =>
    state.storage.sql.exec<{ kid: string; private_jwk: string; public_jwk: string }>("SELECT kid, private_jwk, public_jwk FROM signing_keys WHERE state = 'active'").one(),
  );
  return { kid: active.kid, key: (await importJWK(JSON.parse(active.private_jwk) as JWK, "ES256")) as CryptoKey, publicJwk: active.public_jwk };
}
