/**
 * Harness for the traffic and resiliency suites: a gateway instance of its own (fresh isolate
 * state: budgets, ejections, buckets) with an injectable clock, and fake endpoints whose
 * behaviour and call log a test controls. Real example functions can be wrapped to count calls.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { controlPlaneSource, createGateway, type Gateway, type GatewayOptions } from "../gateway-worker/src/gateway.js";
import type { GatewayEnv } from "../gateway-worker/src/env.js";
import { gatewayEnv } from "./helpers.js";

/** A Worker-binding look-alike that records every request it gets. */
export interface FakeEndpoint {
  fetch(request: Request): Promise<Response>;
  readonly calls: { at: number; method: string; url: string; headers: Headers; body: string | null }[];
}

export type Behaviour = (request: Request, call: number) => Response | Promise<Response>;

/** An endpoint answering with `behaviour`; `clock` stamps the call log (default: the wall clock). */
export function fakeEndpoint(behaviour: Behaviour, clock: () => number = Date.now): FakeEndpoint & { behaviour: Behaviour } {
  const endpoint = {
    behaviour,
    calls: [] as FakeEndpoint["calls"],
    async fetch(request: Request): Promise<Response> {
      const body = request.body === null ? null : await request.text();
      endpoint.calls.push({ at: clock(), method: request.method, url: request.url, headers: new Headers(request.headers), body });
      return endpoint.behaviour(request, endpoint.calls.length);
    },
  };
  return endpoint;
}

/** Wraps a real binding (an example function) so its calls are counted. */
export function counted(binding: Fetcher): FakeEndpoint {
  const endpoint: FakeEndpoint = {
    calls: [],
    fetch(request: Request) {
      endpoint.calls.push({ at: Date.now(), method: request.method, url: request.url, headers: new Headers(request.headers), body: null });
      return binding.fetch(request);
    },
  };
  return endpoint;
}

export const status = (code: number, headers: Record<string, string> = {}) => (): Response => new Response(JSON.stringify({ status: code }), { status: code, headers });

/** A clock tests move by hand; `sleep` advances it instead of waiting. */
export function manualClock(start = 1_700_000_000_000) {
  const clock = {
    now: start,
    advance(ms: number) {
      clock.now += ms;
    },
    sleep: async (ms: number) => {
      clock.now += ms;
    },
  };
  return clock;
}

export interface TestGateway {
  fetch(url: string, init?: RequestInit & { cf?: Record<string, string> }): Promise<Response>;
  /** Sends a Request as is (what a service binding to this gateway would do). */
  fetchRequest(request: Request): Promise<Response>;
  /** Like fetch, then waits for the request's background work (mirrors, refreshes). */
  fetchAndSettle(url: string, init?: RequestInit & { cf?: Record<string, string> }): Promise<Response>;
  env: GatewayEnv;
  /** Pulls the newest config version now, as the isolate's next background refresh would. */
  reload(): Promise<void>;
  /** Sends the isolate's telemetry now. */
  flush(): Promise<void>;
  readonly gateway: Gateway;
}

/**
 * A gateway of its own over the shared control plane, with `extraBindings` (fake endpoints)
 * added to its env. Reads config straight from the control plane (no colo cache), so a version
 * applied by the test is what it serves.
 */
export function testGateway(extraBindings: Record<string, FakeEndpoint | Fetcher>, options: GatewayOptions = {}): TestGateway {
  const env = { ...gatewayEnv, ...extraBindings } as unknown as GatewayEnv;
  const gateway = createGateway({ configSource: controlPlaneSource, ...options });
  const send = async (url: string | Request, init: RequestInit & { cf?: Record<string, string> } = {}, settle: boolean) => {
    const ctx = createExecutionContext();
    const request = typeof url === "string" ? new Request(url, init) : url;
    const response = await gateway.fetch(request as Parameters<typeof gateway.fetch>[0], env, ctx);
    if (settle) await waitOnExecutionContext(ctx);
    return response;
  };
  return {
    env,
    gateway,
    flush: () => gateway.flushTelemetry(env),
    reload: async () => {
      await gateway.configCache(env).refresh();
    },
    fetch: (url, init) => send(url, init, false),
    fetchRequest: (request) => send(request, {}, false),
    fetchAndSettle: (url, init) => send(url, init, true),
  };
}

/** A PERMISSIVE mesh with one Service `name` whose v1 subset has the given endpoint bindings. */
export function poolMesh(name: string, bindings: readonly (string | { binding: string; locality?: string; weight?: number })[], trafficPolicy = "", ruleExtras = ""): string {
  const endpoints = bindings.map((b) => (typeof b === "string" ? { binding: b } : b));
  return `apiVersion: weft/v1
kind: Mesh
metadata: { name: test }
spec: { identity: { mode: PERMISSIVE } }
---
apiVersion: weft/v1
kind: Service
metadata: { name: ${name} }
spec:
  subsets:
    - name: v1
      endpoints: ${JSON.stringify(endpoints)}
  trafficPolicy:
    ${trafficPolicy.trim().split("\n").join("\n    ") || "{}"}
---
apiVersion: weft/v1
kind: Route
metadata: { name: ${name}-mesh }
spec:
  hosts: [${name}.mesh]
  http:
    - destinations: [{ service: ${name}, subset: v1 }]
      ${ruleExtras.trim().split("\n").join("\n      ")}
`;
}
