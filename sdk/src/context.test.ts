import { Hono } from "hono";
import { AutoRouter } from "itty-router";
import { AsyncLocalStorage } from "node:async_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { createMeshClient, type MeshBinding } from "./client.js";
import {
  applyInboundDefaults,
  createInboundScope,
  currentInbound,
  findAsyncLocalStorage,
  inboundPropagationAvailable,
  runWithInbound,
  withWeftContext,
  type InboundContext,
} from "./context.js";
import { DEADLINE_HEADER, inboundDeadline } from "./deadline.js";
import { withWeftIdentity, type InboundCaller, type InboundOptions } from "./inbound.js";
import { weftIdentity } from "./hono.js";

const TP_A = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const TP_B = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00";
const PROPAGATED = ["traceparent", "tracestate", "x-request-id", DEADLINE_HEADER];

function recordingBinding() {
  const requests: Request[] = [];
  const binding: MeshBinding = {
    fetch: async (input, init) => {
      requests.push(input instanceof Request ? input : new Request(String(input), init));
      return new Response("ok");
    },
  };
  return { binding, requests };
}

/** The propagated headers a recorded request carried (absent ones left out). */
function propagated(request: Request | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of PROPAGATED) {
    const value = request?.headers.get(name);
    if (value !== null && value !== undefined) out[name] = value;
  }
  return out;
}

function inbound(headers: Record<string, string>): Request {
  return new Request("http://orders.mesh/orders/42", { headers });
}

describe("automatic propagation from the inbound request to mesh calls", () => {
  it("is available in Node (AsyncLocalStorage via process.getBuiltinModule)", () => {
    expect(inboundPropagationAvailable()).toBe(true);
  });

  it("copies trace context, request id and the remaining budget with no headers passed", async () => {
    const { binding, requests } = recordingBinding();
    const mesh = createMeshClient(binding, { now: () => 1_300 });
    const request = inbound({ traceparent: TP_A, tracestate: "rojo=1", "x-request-id": "req-1", [DEADLINE_HEADER]: "2000", cookie: "s=1" });
    inboundDeadline(request, 1_000); // arrived at t=1000 with 2000 ms to spare: 1700 left at t=1300
    await runWithInbound(request, async () => {
      await sleep(1); // across real async hops, as in a handler
      await mesh.fetch("catalog", "/products");
    });
    expect(propagated(requests[0])).toEqual({ traceparent: TP_A, tracestate: "rojo=1", "x-request-id": "req-1", [DEADLINE_HEADER]: "1700" });
    expect(requests[0]?.headers.get("cookie")).toBeNull();
  });

  it("lets headers the caller set win, and keeps the inbound tracestate off a caller-chosen trace", async () => {
    const { binding, requests } = recordingBinding();
    const mesh = createMeshClient(binding, { now: () => 1_000 });
    const request = inbound({ traceparent: TP_A, tracestate: "rojo=1", "x-request-id": "req-1", [DEADLINE_HEADER]: "2000" });
    inboundDeadline(request, 1_000);
    await runWithInbound(request, async () => {
      await mesh.fetch("catalog", "/a", { headers: { traceparent: TP_B, "x-request-id": "mine", [DEADLINE_HEADER]: "150" } });
      await mesh.fetch("catalog", "/b", { headers: { tracestate: "congo=2" } });
    });
    expect(propagated(requests[0])).toEqual({ traceparent: TP_B, "x-request-id": "mine", [DEADLINE_HEADER]: "150" });
    expect(propagated(requests[1])).toEqual({ traceparent: TP_A, tracestate: "congo=2", "x-request-id": "req-1", [DEADLINE_HEADER]: "2000" });
  });

  it("adds nothing outside a request, or for headers the inbound request lacked", async () => {
    const { binding, requests } = recordingBinding();
    const mesh = createMeshClient(binding);
    await mesh.fetch("catalog", "/outside");
    await runWithInbound(inbound({}), () => mesh.fetch("catalog", "/bare"));
    expect(propagated(requests[0])).toEqual({});
    expect(propagated(requests[1])).toEqual({});
  });

  it("refuses, unsent, a call whose inherited budget is spent", async () => {
    const { binding, requests } = recordingBinding();
    const mesh = createMeshClient(binding, { now: () => 5_000 });
    const request = inbound({ [DEADLINE_HEADER]: "100" });
    inboundDeadline(request, 1_000);
    const error = await runWithInbound(request, () => mesh.fetch("catalog", "/late")).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "timeout" });
    expect(requests).toHaveLength(0);
  });

  it("keeps two overlapping requests apart", async () => {
    const { binding, requests } = recordingBinding();
    const mesh = createMeshClient(binding);
    const handle = (traceparent: string, id: string, delays: number[]) =>
      runWithInbound(inbound({ traceparent, "x-request-id": id }), async () => {
        for (const delay of delays) {
          await sleep(delay);
          await mesh.fetch("catalog", `/${id}`);
        }
      });
    // Interleaved: a, b, a, b ... each on its own timers.
    await Promise.all([handle(TP_A, "a", [1, 10, 10]), handle(TP_B, "b", [5, 10, 10])]);
    expect(requests).toHaveLength(6);
    for (const request of requests) {
      const id = new URL(request.url).pathname.slice(1);
      expect(propagated(request)).toEqual(id === "a" ? { traceparent: TP_A, "x-request-id": "a" } : { traceparent: TP_B, "x-request-id": "b" });
    }
    expect(requests.map((r) => new URL(r.url).pathname).join(" ")).not.toBe("/a /a /a /b /b /b");
  });

  it("sees the innermost request in a nested run, and the outer one again after it", async () => {
    const seen: (string | undefined)[] = [];
    await runWithInbound(inbound({ "x-request-id": "outer" }), async () => {
      seen.push(currentInbound()?.requestId);
      await runWithInbound(inbound({ "x-request-id": "inner" }), async () => {
        await sleep(1);
        seen.push(currentInbound()?.requestId);
      });
      seen.push(currentInbound()?.requestId);
    });
    seen.push(currentInbound()?.requestId);
    expect(seen).toEqual(["outer", "inner", "outer", undefined]);
  });
});

describe("the middleware wiring", () => {
  const anonymous = (binding: MeshBinding): InboundOptions => ({ binding, service: "orders", trustDomain: "shop.weft", allowAnonymous: true });

  it("Hono's weftIdentity runs the handlers inside the inbound request", async () => {
    const { binding, requests } = recordingBinding();
    const mesh = createMeshClient(binding);
    const app = new Hono<{ Variables: { weftCaller: InboundCaller | null } }>();
    app.use("*", weftIdentity(() => anonymous(binding)));
    app.get("/orders/:id", async (c) => c.text(await (await mesh.fetch("catalog", "/products")).text()));
    const response = await app.request(inbound({ traceparent: TP_A, "x-request-id": "hono-1" }));
    expect(response.status).toBe(200);
    expect(propagated(requests[0])).toEqual({ traceparent: TP_A, "x-request-id": "hono-1" });
  });

  it("itty-router's routes run inside the inbound request when the router is wrapped in withWeftContext", async () => {
    const { binding, requests } = recordingBinding();
    const mesh = createMeshClient(binding);
    const router = AutoRouter();
    router.all("*", withWeftIdentity(() => anonymous(binding)));
    router.get("/orders/:id", async () => (await mesh.fetch("catalog", "/products")).text());
    const worker = { fetch: withWeftContext(router.fetch) } satisfies ExportedHandler;
    const response = await worker.fetch(inbound({ traceparent: TP_B, "x-request-id": "itty-1" }), {}, {} as ExecutionContext);
    expect(response.status).toBe(200);
    expect(propagated(requests[0])).toEqual({ traceparent: TP_B, "x-request-id": "itty-1" });
  });

  it("withWeftContext passes the handler's arguments and result through", async () => {
    const env = { VERSION: "v1" };
    const handler = withWeftContext((request: Request, e: typeof env) => new Response(`${e.VERSION} ${currentInbound()?.request === request}`));
    expect(await handler(inbound({}), env).text()).toBe("v1 true");
  });
});

describe("without AsyncLocalStorage", () => {
  it("is not found on a host without process.getBuiltinModule or a global AsyncLocalStorage", () => {
    expect(findAsyncLocalStorage({})).toBeUndefined();
    expect(findAsyncLocalStorage({ process: {} })).toBeUndefined();
    expect(findAsyncLocalStorage({ process: { getBuiltinModule: () => undefined } })).toBeUndefined();
    expect(
      findAsyncLocalStorage({
        process: {
          getBuiltinModule: () => {
            throw new Error("No such built-in module: node:async_hooks");
          },
        },
      }),
    ).toBeUndefined();
  });

  it("is found through process.getBuiltinModule, or a global one", () => {
    expect(findAsyncLocalStorage({ process: { getBuiltinModule: (id: string) => (id === "node:async_hooks" ? { AsyncLocalStorage } : undefined) } })).toBe(AsyncLocalStorage);
    expect(findAsyncLocalStorage({ AsyncLocalStorage })).toBe(AsyncLocalStorage);
  });

  it("still runs the request, only without propagation", async () => {
    const scope = createInboundScope(undefined);
    expect(scope.propagates).toBe(false);
    expect(await scope.run(inbound({ "x-request-id": "r" }), async () => scope.current())).toBeUndefined();
  });

  it("a scope over a real AsyncLocalStorage snapshots the inbound headers", () => {
    const scope = createInboundScope(AsyncLocalStorage);
    const request = inbound({ traceparent: TP_A, "x-request-id": "r" });
    expect(scope.run(request, () => scope.current())).toEqual({ request, traceparent: TP_A, requestId: "r" });
  });
});

describe("applyInboundDefaults", () => {
  const request = inbound({ [DEADLINE_HEADER]: "1000" });
  inboundDeadline(request, 0);
  const from: InboundContext = { request, traceparent: TP_A, tracestate: "rojo=1", requestId: "req" };

  it.each<[string, Record<string, string>, InboundContext | undefined, Record<string, string>]>([
    ["fills all four from the inbound request", {}, from, { traceparent: TP_A, tracestate: "rojo=1", "x-request-id": "req", [DEADLINE_HEADER]: "750" }],
    ["changes nothing without an inbound request", {}, undefined, {}],
    ["keeps every header the caller set", { traceparent: TP_B, tracestate: "x=1", "x-request-id": "mine", [DEADLINE_HEADER]: "5" }, from, { traceparent: TP_B, tracestate: "x=1", "x-request-id": "mine", [DEADLINE_HEADER]: "5" }],
    ["keeps a caller's traceparent without adding the inbound tracestate", { traceparent: TP_B }, from, { traceparent: TP_B, "x-request-id": "req", [DEADLINE_HEADER]: "750" }],
    ["keeps a caller's tracestate under the inbound traceparent", { tracestate: "x=1" }, from, { traceparent: TP_A, tracestate: "x=1", "x-request-id": "req", [DEADLINE_HEADER]: "750" }],
    ["keeps a caller's malformed budget (for the gateway to ignore) rather than replace it", { [DEADLINE_HEADER]: "soon" }, from, { traceparent: TP_A, tracestate: "rojo=1", "x-request-id": "req", [DEADLINE_HEADER]: "soon" }],
    ["adds no budget when the inbound request had none", {}, { request: inbound({}), requestId: "req" }, { "x-request-id": "req" }],
  ])("%s", (_what, set, context, expected) => {
    const headers = new Headers(set);
    applyInboundDefaults(headers, context, 250);
    expect(Object.fromEntries(headers)).toEqual(expected);
  });
});
