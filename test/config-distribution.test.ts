import { beforeAll, describe, expect, it } from "vitest";
import { CONTROL_PLANE_NAME } from "../control-durable/src/control-plane.js";
import { coloCacheKey, coloCachedSource } from "../gateway-worker/src/colo-cache.js";
import { createGateway } from "../gateway-worker/src/gateway.js";
import { ADMIN_TOKEN, admin, applyExampleMesh, gatewayEnv, sendThrough } from "./helpers.js";

/** This mesh's identity, as its gateways key the colo cache with. */
const meshId = gatewayEnv.CONTROL.idFromName(CONTROL_PLANE_NAME).toString();

describe("config distribution through the colo cache (workerd's Cache API)", () => {
  let version = 0;
  beforeAll(async () => {
    version = await applyExampleMesh();
  });

  it("leaves the snapshot in the colo cache, where another isolate can load it with the control plane down", async () => {
    await caches.default.delete(coloCacheKey(meshId));
    const first = createGateway();
    expect((await sendThrough(first, "http://orders.mesh/orders/1001")).status).toBe(200);

    const cached = await caches.default.match(coloCacheKey(meshId));
    expect(cached).toBeDefined();
    expect(((await cached?.json()) as { version: number }).version).toBe(version);

    const controlPlaneDown = { getSnapshot: () => Promise.reject(new Error("control plane down")) };
    const second = createGateway({ configSource: () => coloCachedSource(controlPlaneDown, caches.default, { ttlMs: 60_000, now: Date.now, meshId, secret: ADMIN_TOKEN }) });
    const response = await sendThrough(second, "http://orders.mesh/orders/1001");
    expect(response.status).toBe(200);
    const health = (await (await sendThrough(second, "http://gw.test/.weft/healthz")).json()) as { configVersion: number };
    expect(health.configVersion).toBe(version);
  });

  it("clears the colo's copy when a new version is applied", async () => {
    const gateway = createGateway();
    await sendThrough(gateway, "http://orders.mesh/orders/1001");
    expect(await caches.default.match(coloCacheKey(meshId))).toBeDefined();
    const bumped = await admin("/config", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ documents: [] }),
    });
    expect(bumped.status).toBe(200);
    expect(await caches.default.match(coloCacheKey(meshId))).toBeUndefined();
    await applyExampleMesh();
  });
});
