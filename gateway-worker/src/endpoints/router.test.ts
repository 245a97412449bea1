import { describe, expect, it } from "vitest";
import type { GatewayEnv } from "../env.js";
import type { IsolateWiring } from "../wiring.js";
import { isReservedPath } from "./endpoint.js";
import { createReservedRouter } from "./router.js";

const ENV = { WEFT_ADMIN_TOKEN: "dev-admin-token", WEFT_ENV: "dev", WEFT_ADMIN_HOST: "weft-admin.localhost" } as unknown as GatewayEnv;
const CTX = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;

/** Wiring whose every part fails unless a test supplies it: each test says what its endpoint reads. */
function wiring(parts: Partial<IsolateWiring> = {}): IsolateWiring {
  const unused = (name: string) => () => {
    throw new Error(`${name} is not used here`);
  };
  return {
    now: () => 0,
    control: unused("control"),
    configCache: unused("configCache"),
    telemetryAccess: unused("telemetryAccess"),
    liveHealth: () => undefined,
    onApplied: unused("onApplied"),
    maybeFlushTelemetry: () => undefined,
    flushTelemetry: unused("flushTelemetry"),
    figures: unused("figures"),
    ...parts,
  } as IsolateWiring;
}

function send(router: ReturnType<typeof createReservedRouter>, url: string, init: RequestInit = {}): Promise<Response> {
  return router(new Request(url, init), ENV, CTX);
}

describe("isReservedPath", () => {
  it.each([
    ["/.weft", true],
    ["/.weft/", true],
    ["/.weft/healthz", true],
    ["/.weft/api/v1/config", true],
    ["/.well-known/jwks.json", true],
    ["/.weftx", false],
    ["/.well-known/openid-configuration", false],
    ["/orders/.weft/healthz", false],
    ["/", false],
    ["", false],
  ])("%s → %s", (path, reserved) => {
    expect(isReservedPath(path)).toBe(reserved);
  });
});

describe("the reserved router", () => {
  it("answers a known path asked with another method 405 with Allow, in the mesh's error shape", async () => {
    const router = createReservedRouter(wiring());
    for (const [method, path, allow] of [
      ["POST", "/.weft/healthz", "GET, HEAD"],
      ["DELETE", "/.weft/metrics", "GET, HEAD"],
      ["PUT", "/.well-known/jwks.json", "GET, HEAD"],
      ["GET", "/.weft/token", "POST"],
    ] as const) {
      const res = await send(router, `http://gateway.test${path}`, { method });
      expect(res.status, `${method} ${path}`).toBe(405);
      expect(res.headers.get("allow")).toBe(allow);
      expect(res.headers.get("x-weft-error")).toBe("method_not_allowed");
      expect(await res.json()).toEqual({ error: { code: "method_not_allowed", message: `${method} ${path} is not allowed: it answers ${allow}` } });
    }
  });

  it("answers other reserved paths 404 not_found, matching the path as sent (no percent-decoding, no trailing slash)", async () => {
    const router = createReservedRouter(wiring());
    for (const path of ["/.weft", "/.weft/", "/.weft/nope", "/.weft/healthz/", "/.weft/health%7Az", "/.weft/dashboardx"]) {
      const res = await send(router, `http://gateway.test${path}`);
      expect(res.status, path).toBe(404);
      expect(await res.json()).toEqual({ error: { code: "not_found", message: `${path} is reserved by the mesh and not served by this release` } });
    }
  });

  it("answers every other path on the admin host 404, never a function's answer", async () => {
    const res = await send(createReservedRouter(wiring()), "http://weft-admin.localhost/orders/1");
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: "not_found", message: "weft-admin.localhost is the mesh's admin host: it serves the dashboard and /.weft paths, never a function" } });
  });

  it("answers HEAD on a GET endpoint as GET, without the body", async () => {
    const router = createReservedRouter(wiring({ control: () => ({ jwks: async () => ({ keys: [] }) }) as unknown as ReturnType<IsolateWiring["control"]> }));
    const res = await send(router, "http://gateway.test/.well-known/jwks.json", { method: "HEAD" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/jwk-set+json");
    expect(await res.text()).toBe("");
  });

  it("hands the admin API and the dashboard their whole subtrees", async () => {
    const router = createReservedRouter(wiring());
    // The admin API checks its token before routing: its own 401, for its base and any path under it.
    for (const path of ["/.weft/api/v1", "/.weft/api/v1/config", "/.weft/api/v1/nope"]) {
      const res = await send(router, `http://gateway.test${path}`);
      expect(res.status, path).toBe(401);
      expect(await res.json()).toMatchObject({ error: { code: "unauthenticated" } });
    }
    const signIn = await send(router, "http://weft-admin.localhost/.weft/dashboard/sign-in");
    expect(signIn.status).toBe(200);
    expect(signIn.headers.get("content-security-policy")).toContain("script-src 'self'");
    const elsewhere = await send(router, "http://gateway.test/.weft/dashboard/sign-in");
    expect(elsewhere.status).toBe(404);
    expect(await elsewhere.json()).toEqual({ error: { code: "not_found", message: "the dashboard is served only on the admin host: http://weft-admin.localhost/.weft/dashboard" } });
  });

  it("answers 500 internal in the mesh's error shape when an endpoint fails unexpectedly", async () => {
    const errors: unknown[] = [];
    const original = console.error;
    console.error = (line: unknown) => errors.push(line);
    try {
      const res = await send(createReservedRouter(wiring()), "http://gateway.test/.weft/healthz");
      expect(res.status).toBe(500);
      expect(await res.json()).toEqual({ error: { code: "internal", message: "the gateway could not answer this request" } });
      expect(String(errors[0])).toContain("configCache is not used here");
    } finally {
      console.error = original;
    }
  });
});
