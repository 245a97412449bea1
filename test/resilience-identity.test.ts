/**
 * Traffic features that key on who is calling: per-caller rate limits, consistent hashing on the
 * caller's identity, and the identity a mirrored copy carries. Callers present real SVIDs minted
 * by the control plane.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { applyYaml, sendMany, tokenFor } from "./helpers.js";
import { fakeEndpoint, manualClock, testGateway } from "./resilience-helpers.js";

const MESH = `apiVersion: weft/v1
kind: Mesh
metadata: { name: test }
spec: { trustDomain: shop.weft, identity: { mode: PERMISSIVE } }
---
apiVersion: weft/v1
kind: Service
metadata: { name: alice }
spec: { subsets: [{ name: v1, endpoints: [{ binding: ALICE }] }] }
---
apiVersion: weft/v1
kind: Service
metadata: { name: bob }
spec: { subsets: [{ name: v1, endpoints: [{ binding: BOB }] }] }
---
apiVersion: weft/v1
kind: Service
metadata: { name: limited }
spec:
  subsets: [{ name: v1, endpoints: [{ binding: LIMITED }] }]
  trafficPolicy: { rateLimit: { requestsPerSecond: 1, burst: 3, per: source } }
---
apiVersion: weft/v1
kind: Service
metadata: { name: sticky }
spec:
  subsets: [{ name: v1, endpoints: [{ binding: STICKY_0 }, { binding: STICKY_1 }, { binding: STICKY_2 }, { binding: STICKY_3 }] }]
  trafficPolicy: { loadBalancer: { policy: CONSISTENT_HASH, hashOn: { caller: true } } }
---
apiVersion: weft/v1
kind: Service
metadata: { name: shadow }
spec: { subsets: [{ name: v1, endpoints: [{ binding: SHADOW }] }] }
---
apiVersion: weft/v1
kind: Route
metadata: { name: mirrored }
spec:
  hosts: [limited.mesh]
  http:
    - destinations: [{ service: limited }]
      mirror: { service: shadow, percent: 100 }
`;

function claimsOf(jwt: string | null): Record<string, unknown> {
  const payload = (jwt ?? "").split(".")[1] ?? "";
  return JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/"))) as Record<string, unknown>;
}

const named = (name: string) => fakeEndpoint(() => new Response(name));

describe("traffic features keyed on the caller's identity", () => {
  let alice = "";
  let bob = "";
  beforeAll(async () => {
    const applied = await applyYaml(MESH);
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    [alice, bob] = await Promise.all([tokenFor("alice"), tokenFor("bob")]);
  });

  it("gives each caller its own bucket with per: source", async () => {
    // Starts at the real time: the callers' tokens are checked against this clock too.
    const clock = manualClock(Date.now());
    const gateway = testGateway({ LIMITED: named("limited"), SHADOW: named("shadow") }, { now: () => clock.now });
    const as = (token: string | undefined) => async () =>
      (await gateway.fetch("http://limited.mesh/", token ? { headers: { authorization: `Bearer ${token}` } } : {})).status;
    expect(await sendMany(4, 1, as(alice))).toEqual([200, 200, 200, 429]);
    // Bob and anonymous callers are not held back by Alice's use.
    expect(await sendMany(4, 1, as(bob))).toEqual([200, 200, 200, 429]);
    expect(await sendMany(4, 1, as(undefined))).toEqual([200, 200, 200, 429]);
    clock.advance(1000);
    expect(await as(alice)()).toBe(200);
  });

  it("hashes on the caller: each caller sticks to one endpoint", async () => {
    const endpoints = { STICKY_0: named("0"), STICKY_1: named("1"), STICKY_2: named("2"), STICKY_3: named("3") };
    const gateway = testGateway(endpoints);
    const seenBy = async (token: string) =>
      new Set(await sendMany(50, 5, async () => (await gateway.fetch("http://sticky.mesh/", { headers: { authorization: `Bearer ${token}` } })).text()));
    expect((await seenBy(alice)).size).toBe(1);
    expect((await seenBy(bob)).size).toBe(1);
  });

  it("sends a mirrored copy with a hop token for the mirror service, never the main destination's", async () => {
    const main = named("limited");
    const shadow = named("shadow");
    const gateway = testGateway({ LIMITED: main, SHADOW: shadow });
    const response = await gateway.fetchAndSettle("http://limited.mesh/", { headers: { authorization: `Bearer ${alice}` } });
    expect(await response.text()).toBe("limited");
    expect(shadow.calls).toHaveLength(1);
    const copy = claimsOf(shadow.calls[0]!.headers.get("x-weft-identity"));
    const original = claimsOf(main.calls[0]!.headers.get("x-weft-identity"));
    expect(copy.sub).toBe("spiffe://shop.weft/ns/default/sa/alice");
    expect(copy.aud).toBe("spiffe://shop.weft/ns/default/sa/shadow");
    expect(original.aud).toBe("spiffe://shop.weft/ns/default/sa/limited");
    expect(shadow.calls[0]!.headers.get("authorization")).toBeNull();
  });
});
