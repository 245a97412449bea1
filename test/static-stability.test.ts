import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import type { ControlPlaneApi } from "../gateway-worker/src/admin/api.js";
import type { ConfigSource } from "../gateway-worker/src/config-cache.js";
import { controlPlaneSource, controlPlaneStub, createGateway } from "../gateway-worker/src/gateway.js";
import { ADMIN_TOKEN, applyExampleMesh, applyYaml, EXAMPLE_MESH_YAML, gatewayEnv, sendMany, tokenFor } from "./helpers.js";

type Failure = "none" | "throws" | "unreachable" | "hangs" | "overloaded";

/** What the runtime throws when a Durable Object has too much queued (its `overloaded` property set). */
function overloadedError(): Error {
  return Object.assign(new Error("Durable Object is overloaded. Too many requests queued."), { overloaded: true });
}

/** The real control plane behind a switch that makes it fail the way a test asks. */
function switchableSource() {
  const real = controlPlaneSource(gatewayEnv);
  const state = { failure: "none" as Failure, calls: 0 };
  const source: ConfigSource = {
    getSnapshot(known) {
      state.calls++;
      switch (state.failure) {
        case "throws":
          return Promise.reject(new Error("control plane exploded"));
        case "unreachable":
          return Promise.reject(new TypeError("Network connection lost."));
        case "hangs":
          return new Promise(() => undefined);
        case "overloaded":
          return Promise.reject(overloadedError());
        default:
          return real.getSnapshot(known);
      }
    },
  };
  return { source, state };
}

/** A failure as the control plane's RPC shows it. */
function failing(failure: Exclude<Failure, "none">): Promise<never> {
  if (failure === "throws") return Promise.reject(new Error("control plane exploded"));
  if (failure === "unreachable") return Promise.reject(new TypeError("Network connection lost."));
  if (failure === "overloaded") return Promise.reject(overloadedError());
  return new Promise(() => undefined);
}

/** The real control plane's RPC, with the calls that vouch for callers (signing keys, hop tokens) behind a switch. */
function switchableIdentityControl(which: "signing keys" | "hop tokens") {
  const real = controlPlaneStub(gatewayEnv);
  const state = { failure: "none" as Failure, calls: 0 };
  const control: ControlPlaneApi = {
    ...Object.fromEntries(["getConfig", "applyConfig", "history", "auditLog", "services"].map((name) => [name, (...args: unknown[]) => (real as unknown as Record<string, (...a: unknown[]) => unknown>)[name]?.(...args)])),
    jwks: () => {
      state.calls++;
      return state.failure === "none" || which !== "signing keys" ? real.jwks() : failing(state.failure);
    },
    mintHopToken: (caller: string, destination: string) => {
      state.calls++;
      return state.failure === "none" || which !== "hop tokens" ? real.mintHopToken(caller, destination) : failing(state.failure);
    },
  } as unknown as ControlPlaneApi;
  return { control, state };
}

describe("static stability: the gateway outlives its control plane", () => {
  let exampleVersion = 0;
  beforeAll(async () => {
    exampleVersion = await applyExampleMesh();
  });

  function harness() {
    const { source, state } = switchableSource();
    const clock = { now: 1_000_000 };
    const gateway = createGateway({ configSource: () => source, now: () => clock.now, configPullTimeoutMs: 50 });
    const send = async (url: string, init: RequestInit = {}) => {
      const ctx = createExecutionContext();
      const response = await gateway.fetch(new Request(url, init) as Parameters<typeof gateway.fetch>[0], gatewayEnv, ctx);
      await waitOnExecutionContext(ctx); // lets background refreshes finish
      return response;
    };
    const health = async () => (await (await send("http://gw.test/.weft/healthz")).json()) as { status: string; stale: boolean; configVersion: number; lastRefreshError: string | null; refreshFailures: number };
    return { state, clock, send, health };
  }

  async function routesCorrectly(send: (url: string, init?: RequestInit) => Promise<Response>) {
    const canary = await send("http://orders.mesh/orders/1001", { headers: { "x-canary": "1" } });
    expect(canary.status).toBe(200);
    expect(((await canary.json()) as { version: string }).version).toBe("v2");
    const ingress = await send("http://shop.example/httpbin/anything/x");
    expect(ingress.status).toBe(200);
    expect(((await ingress.json()) as { path: string }).path).toBe("/anything/x");
    const versions = await sendMany(400, 8, async () => ((await (await send("http://orders.mesh/orders/1001")).json()) as { version: string }).version);
    const v2Share = versions.filter((v) => v === "v2").length / versions.length;
    expect(v2Share).toBeGreaterThan(0.03);
    expect(v2Share).toBeLessThan(0.2);
  }

  it.each(["throws", "unreachable", "hangs", "overloaded"] as const)("keeps routing with the last snapshot when the control plane %s, and says it is stale", async (failure) => {
    const { state, clock, send, health } = harness();
    await routesCorrectly(send);
    expect(await health()).toMatchObject({ status: "ok", stale: false, configVersion: exampleVersion });

    state.failure = failure;
    clock.now += 6_000; // past the refresh interval: the next request triggers a background pull
    const callsBefore = state.calls;
    await routesCorrectly(send);
    expect(state.calls).toBeGreaterThan(callsBefore); // the refresh was attempted, and failed
    const stale = await health();
    expect(stale).toMatchObject({ status: "stale", stale: true, configVersion: exampleVersion });
    expect(stale.lastRefreshError).toMatch({ hangs: /did not answer/, throws: /exploded/, unreachable: /connection lost/i, overloaded: /overloaded/ }[failure]);

    // Hours later, still serving.
    clock.now += 3 * 3_600_000;
    await routesCorrectly(send);

    // Failures back off to a pull a minute: within a minute of the control plane's return, it is fresh again.
    const failures = (await health()).refreshFailures;
    expect(failures).toBeGreaterThan(1);
    // The same count for Prometheus (the metrics page reads the isolate's figures, not the control plane).
    const metrics = await (await send("http://gw.test/.weft/metrics", { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).text();
    expect(metrics).toMatch(new RegExp(`^weft_config_refresh_failures ${failures}$`, "m"));
    expect(metrics).toMatch(/^weft_config_stale 1$/m);
    state.failure = "none";
    clock.now += 60_000;
    await send("http://orders.mesh/orders/1001");
    expect(await health()).toMatchObject({ status: "ok", stale: false, lastRefreshError: null, refreshFailures: 0 });
  });

  it("answers 503 control_plane_unavailable (never a guess) when it has never had a config", async () => {
    const { state, send } = harness();
    state.failure = "unreachable";
    const response = await send("http://orders.mesh/orders/1001");
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ error: { code: "control_plane_unavailable" } });
    const health = await send("http://gw.test/.weft/healthz");
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ status: "unconfigured", configVersion: null });
  });

  it("makes no control-plane call per request, and picks up a new version in the background", async () => {
    const { state, clock, send, health } = harness();
    await send("http://orders.mesh/orders/1001");
    const callsAfterWarmUp = state.calls;
    await sendMany(200, 8, () => send("http://orders.mesh/orders/1001"));
    expect(state.calls).toBe(callsAfterWarmUp); // steady state: served from the isolate's snapshot

    const allToV2 = EXAMPLE_MESH_YAML.replace(
      "- { service: orders, subset: v1, weight: 90 }\n        - { service: orders, subset: v2, weight: 10 }",
      "- { service: orders, subset: v2, weight: 100 }",
    );
    const applied = await applyYaml(allToV2);
    expect(applied.status).toBe(200);
    expect((await health()).configVersion).toBe(exampleVersion); // not yet due for a refresh

    clock.now += 6_000;
    await send("http://orders.mesh/orders/1001"); // served at once; the pull runs in waitUntil
    expect((await health()).configVersion).toBe(applied.body.version);
    const versions = await sendMany(50, 8, async () => ((await (await send("http://orders.mesh/orders/1001")).json()) as { version: string }).version);
    expect(new Set(versions)).toEqual(new Set(["v2"]));
    exampleVersion = await applyExampleMesh();
  });
});

describe("static stability: callers' identities while the control plane fails", () => {
  beforeAll(async () => {
    await applyExampleMesh();
  });

  /** Settles within `ms`, or says it did not. */
  async function within<T>(ms: number, work: Promise<T>): Promise<T | "no answer"> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"no answer">((resolve) => (timer = setTimeout(() => resolve("no answer"), ms)));
    try {
      return await Promise.race([work, late]);
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
  }

  it.each((["signing keys", "hop tokens"] as const).flatMap((which) => (["throws", "unreachable", "hangs", "overloaded"] as const).map((failure) => [which, failure] as const)))(
    "answers a first authenticated call 503 control_plane_unavailable within its bound when the control plane, asked for %s, %s; then serves once it is back",
    async (which, failure) => {
      const token = await tokenFor("frontend");
      const { control, state } = switchableIdentityControl(which);
      // A cold isolate with a config (from the colo's cache, say) but no signing keys or hop token yet.
      const gateway = createGateway({ controlPlane: () => control, controlCallTimeoutMs: 200 });
      const send = async () => {
        const ctx = createExecutionContext();
        const response = await gateway.fetch(new Request("http://orders.mesh/orders/1001", { headers: { authorization: `Bearer ${token}` } }) as Parameters<typeof gateway.fetch>[0], gatewayEnv, ctx);
        return { response, ctx };
      };
      state.failure = failure;
      const answer = await within(3_000, send());
      expect(answer === "no answer" ? "no answer within 3 s" : answer.response.status).toBe(503);
      if (answer !== "no answer") expect(await answer.response.json()).toMatchObject({ error: { code: "control_plane_unavailable" } });
      expect(state.calls).toBeGreaterThan(0);

      state.failure = "none";
      const served = await send();
      await waitOnExecutionContext(served.ctx);
      expect(served.response.status).toBe(200);
      // Warm now: the same caller keeps being served while the control plane fails again.
      state.failure = failure;
      const callsBefore = state.calls;
      for (let i = 0; i < 5; i++) expect((await send()).response.status).toBe(200);
      expect(state.calls).toBe(callsBefore);
    },
  );

  it("serves the signing keys it has (stale) within its bound when the control plane hangs past the copy's lifetime", async () => {
    const state = { hang: false };
    const real = controlPlaneStub(gatewayEnv);
    const control = { jwks: () => (state.hang ? new Promise<never>(() => undefined) : real.jwks()) } as unknown as ControlPlaneApi;
    const clock = { now: 1_000_000 };
    const gateway = createGateway({ controlPlane: () => control, controlCallTimeoutMs: 200, now: () => clock.now });
    const keys = () => gateway.fetch(new Request("http://gw.test/.well-known/jwks.json") as Parameters<typeof gateway.fetch>[0], gatewayEnv, createExecutionContext());
    const fresh = await keys();
    expect(fresh.status).toBe(200);
    const published = await fresh.text();

    state.hang = true;
    clock.now += 10 * 60_000; // long past the isolate's copy lifetime: the next read asks the control plane
    const answer = await within(3_000, keys());
    expect(answer === "no answer" ? "no answer within 3 s" : answer.status).toBe(200);
    if (answer !== "no answer") expect(await answer.text()).toBe(published);
  });

  it("answers a function's token exchange 503 control_plane_unavailable within its bound when the control plane hangs", async () => {
    const hanging = { exchangeCredential: () => new Promise<never>(() => undefined) } as unknown as ControlPlaneApi;
    const gateway = createGateway({ controlPlane: () => hanging, controlCallTimeoutMs: 200 });
    const ctx = createExecutionContext();
    const exchange = gateway.fetch(new Request("http://gw.test/.weft/token", { method: "POST", headers: { authorization: "Bearer weft_cred_example" } }) as Parameters<typeof gateway.fetch>[0], gatewayEnv, ctx);
    const answer = await within(3_000, exchange);
    expect(answer === "no answer" ? "no answer within 3 s" : answer.status).toBe(503);
    if (answer !== "no answer") expect(await answer.json()).toMatchObject({ error: { code: "control_plane_unavailable" } });
  });
});
