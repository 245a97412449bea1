/**
 * Telemetry that never waits for traffic: a burst of requests followed by silence reaches the
 * telemetry objects within two flush intervals, with no later request to carry the flush — the
 * gateway arms a flush at the interval's end, kept alive by the burst's own waitUntil. The same
 * burst with that flush turned off stays in the isolate: the control that shows the test can fail.
 */
import { createExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createGateway, controlPlaneSource } from "../gateway-worker/src/gateway.js";
import type { GatewayEnv } from "../gateway-worker/src/env.js";
import { admin, applyOk, gatewayEnv } from "./helpers.js";
import { poolMesh } from "./resilience-helpers.js";

const FLUSH_MS = 1000;
const BURST = 25;

/** Requests the telemetry API has for `service` (what `weft status` reads). */
async function recorded(service: string): Promise<number> {
  const view = (await (await admin(`/telemetry?service=${service}&window=1h`)).json()) as { golden: { requests: number } };
  return view.golden.requests;
}

/** Sends a burst through a gateway isolate of its own, leaving each request's waitUntil running as the runtime would. */
async function burst(service: string, trailingFlush: "on" | "off"): Promise<void> {
  const env = { ...gatewayEnv, WEFT_TELEMETRY_FLUSH_MS: String(FLUSH_MS), WEFT_TELEMETRY_TRAILING_FLUSH: trailingFlush } as GatewayEnv;
  const gateway = createGateway({ configSource: controlPlaneSource });
  for (let i = 0; i < BURST; i++) {
    const response = await gateway.fetch(new Request(`http://${service}.mesh/anything`) as Parameters<typeof gateway.fetch>[0], env, createExecutionContext());
    expect(response.status).toBe(200);
    await response.arrayBuffer();
  }
}

describe("telemetry after a burst and then silence", () => {
  it("is all in the telemetry API within two flush intervals, with no further traffic", async () => {
    const service = `quiet-${crypto.randomUUID().slice(0, 8)}`;
    await applyOk(poolMesh(service, ["HTTPBIN_V1"]));
    const started = Date.now();
    await burst(service, "on");
    let seen = 0;
    while (Date.now() - started < 2 * FLUSH_MS && seen < BURST) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      seen = await recorded(service);
    }
    expect(seen, `after ${Date.now() - started} ms`).toBe(BURST);
  });

  it("stays in the isolate until the next request when the trailing flush is off", async () => {
    const service = `idle-${crypto.randomUUID().slice(0, 8)}`;
    await applyOk(poolMesh(service, ["HTTPBIN_V1"]));
    await burst(service, "off");
    await new Promise((resolve) => setTimeout(resolve, 2 * FLUSH_MS + 200));
    expect(await recorded(service)).toBe(0);
  });
});
