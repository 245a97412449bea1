/**
 * A gateway isolate keeps picking up new config versions whatever reads it served in between:
 * no caller can start a refresh that dies with its request and then blocks every later one.
 * The isolate under test is the functions' gateway (its own Worker, every fetch its own request,
 * refreshing every 100 ms); versions are applied through the other gateway.
 */
import { env } from "cloudflare:test";
import { CONTROL_PLANE_NAME } from "../control-durable/src/control-plane.js";
import { createGateway } from "../gateway-worker/src/gateway.js";
import { afterAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, applyExampleMesh, applyOk, EXAMPLE_MESH_YAML, functionsGatewayServes, gatewayEnv, sendThrough } from "./helpers.js";

const functionsGateway = (env as unknown as { FUNCTIONS_GATEWAY: Fetcher }).FUNCTIONS_GATEWAY;
const bearer = { authorization: `Bearer ${ADMIN_TOKEN}` };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let applied = 0;
/** The example mesh plus one route of its own, so every apply is a new version. */
function nextMesh(): string {
  applied++;
  return `${EXAMPLE_MESH_YAML}
---
apiVersion: weft/v1
kind: Route
metadata: { name: refresh-probe-${applied} }
spec:
  hosts: [probe-${applied}.example.com]
  http: [{ destinations: [{ service: httpbin, subset: v1 }] }]
`;
}

/** The dashboard's data, read with a session cookie on the admin host, as an open dashboard polls it. */
async function dashboardData(): Promise<Response> {
  const origin = `http://${gatewayEnv.WEFT_ADMIN_HOST ?? "weft-admin.localhost"}`;
  const signIn = await functionsGateway.fetch(`${origin}/.weft/dashboard/sign-in`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token: ADMIN_TOKEN }).toString(),
    redirect: "manual",
  });
  const cookie = (signIn.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
  expect(cookie).toMatch(/weft_session=/);
  return functionsGateway.fetch(`${origin}/.weft/dashboard/data`, { headers: { cookie } });
}

/** Reads of the operator surface, each answered by the gateway isolate under test. */
const READS: [string, () => Promise<Response>][] = [
  ["GET /.weft/api/v1/telemetry", () => functionsGateway.fetch("http://gateway.test/.weft/api/v1/telemetry?window=1m", { headers: bearer })],
  ["GET /.weft/api/v1/telemetry?service=httpbin", () => functionsGateway.fetch("http://gateway.test/.weft/api/v1/telemetry?service=httpbin&window=1m", { headers: bearer })],
  ["GET /.weft/api/v1/services", () => functionsGateway.fetch("http://gateway.test/.weft/api/v1/services", { headers: bearer })],
  ["GET /.weft/api/v1/config", () => functionsGateway.fetch("http://gateway.test/.weft/api/v1/config", { headers: bearer })],
  ["GET /.weft/metrics", () => functionsGateway.fetch("http://gateway.test/.weft/metrics", { headers: bearer })],
  ["GET /.weft/healthz", () => functionsGateway.fetch("http://gateway.test/.weft/healthz")],
  ["GET /.weft/dashboard/data", dashboardData],
  [
    "POST /.weft/api/v1/explain",
    () => functionsGateway.fetch("http://gateway.test/.weft/api/v1/explain", { method: "POST", headers: { ...bearer, "content-type": "application/json" }, body: JSON.stringify({ method: "GET", url: "http://httpbin.mesh/anything" }) }),
  ],
];

describe("config refresh after operator reads", () => {
  afterAll(async () => {
    await applyExampleMesh();
  });

  it.each(READS)("%s, then traffic: the isolate still reaches newer versions", async (_name, read) => {
    const before = await applyOk(nextMesh());
    await functionsGatewayServes(before);
    // Let a refresh fall due, so the read below is the request that would start it.
    await sleep(150);
    const answer = await read();
    await answer.arrayBuffer();
    expect(answer.status).toBeLessThan(500);

    const after = await applyOk(nextMesh());
    expect(after).toBeGreaterThan(before);
    // Ordinary traffic through the isolate, then it must serve the new version within a few refreshes.
    for (let i = 0; i < 5; i++) {
      await (await functionsGateway.fetch("http://httpbin.mesh/anything")).arrayBuffer();
      await sleep(100);
    }
    await functionsGatewayServes(after, 3_000);
  });
});

describe("healthz", () => {
  it("does not report stale after the gateway sat idle: it refreshes when due, then answers", async () => {
    const version = await applyOk(nextMesh());
    const clock = { now: Date.now() };
    const gateway = createGateway({ now: () => clock.now });
    const first = (await (await sendThrough(gateway, "http://gw.test/.weft/healthz")).json()) as { configVersion: number; stale: boolean };
    expect(first).toMatchObject({ configVersion: version, stale: false });
    // Ten minutes without a request, then a newer version applied elsewhere.
    clock.now += 600_000;
    const newer = await applyOk(nextMesh());
    const health = (await (await sendThrough(gateway, "http://gw.test/.weft/healthz")).json()) as Record<string, unknown>;
    expect(health).toMatchObject({ status: "ok", stale: false, configVersion: newer, lastRefreshError: null });
    expect(health.configAgeSeconds).toBeLessThanOrEqual(1);
  });

  it("reports stale, with the error, when the control plane cannot answer", async () => {
    await applyOk(nextMesh());
    const clock = { now: Date.now() };
    let down = false;
    const real = gatewayEnv.CONTROL.get(gatewayEnv.CONTROL.idFromName(CONTROL_PLANE_NAME));
    const gateway = createGateway({
      now: () => clock.now,
      configSource: () => ({ getSnapshot: (known) => (down ? Promise.reject(new Error("control plane unreachable")) : real.getSnapshot(known)) }),
    });
    expect((await sendThrough(gateway, "http://gw.test/.weft/healthz")).status).toBe(200);
    down = true;
    clock.now += 60_000;
    const health = (await (await sendThrough(gateway, "http://gw.test/.weft/healthz")).json()) as Record<string, unknown>;
    expect(health).toMatchObject({ status: "stale", stale: true, lastRefreshError: "control plane unreachable" });
  });
});
