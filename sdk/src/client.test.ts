import { describe, expect, it } from "vitest";
import { createMeshClient, meshUrl } from "./client.js";
import { DEADLINE_HEADER } from "./deadline.js";
import { MeshError } from "./errors.js";

function recordingBinding(answer: () => Response) {
  const requests: Request[] = [];
  return {
    requests,
    binding: {
      fetch: async (input: Request | string | URL, init?: RequestInit) => {
        requests.push(input instanceof Request ? input : new Request(String(input), init));
        return answer();
      },
    },
  };
}

describe("mesh client", () => {
  it("addresses a peer as http://<service>.mesh/<path> on the gateway binding", async () => {
    const { binding, requests } = recordingBinding(() => new Response("ok"));
    const mesh = createMeshClient(binding);
    await mesh.fetch("orders", "/orders/42?full=1", { method: "POST", body: "x" });
    await mesh.fetch("http://catalog.mesh/products");
    expect(requests.map((r) => [r.method, r.url])).toEqual([
      ["POST", "http://orders.mesh/orders/42?full=1"],
      ["GET", "http://catalog.mesh/products"],
    ]);
  });

  it("throws a MeshError with code, status and Retry-After when the mesh itself answered", async () => {
    const { binding } = recordingBinding(() => new MeshError("rate_limited", "slow down", { retryAfterSeconds: 3 }).toResponse());
    const error = await createMeshClient(binding).fetch("orders", "/").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MeshError);
    expect(error).toMatchObject({ code: "rate_limited", status: 429, message: "slow down", retryAfterSeconds: 3 });
  });

  it("returns the mesh's answer instead when told not to throw", async () => {
    const { binding } = recordingBinding(() => new MeshError("no_route", "nope").toResponse());
    const response = await createMeshClient(binding, { throwMeshErrors: false }).fetch("orders", "/");
    expect(response.status).toBe(404);
  });

  it("returns a destination's own error answers as responses", async () => {
    const { binding } = recordingBinding(() => Response.json({ error: { code: "no_route", message: "app-level" } }, { status: 404 }));
    const response = await createMeshClient(binding).fetch("orders", "/");
    expect(response.status).toBe(404);
  });

  it("refuses bad service names, non-mesh URLs and a missing binding", async () => {
    expect(() => meshUrl("Orders!")).toThrow(/not a valid service name/);
    const { binding } = recordingBinding(() => new Response("ok"));
    await expect(createMeshClient(binding).fetch("https://example.com/x")).rejects.toThrow(/mesh URL/);
    expect(() => createMeshClient(undefined as unknown as typeof binding)).toThrow(/WEFT/);
  });
});

describe("header propagation", () => {
  it("copies trace context, the request id and named extras, nothing else", async () => {
    const { propagationHeaders } = await import("./propagation.js");
    const inbound = new Headers({ traceparent: "00-abc-def-01", "x-request-id": "r1", "x-canary": "1", cookie: "secret=1", authorization: "Bearer t" });
    const out = propagationHeaders(inbound, ["x-canary"]);
    expect(Object.fromEntries(out)).toEqual({ accept: "application/json", traceparent: "00-abc-def-01", "x-request-id": "r1", "x-canary": "1" });
  });
});

describe("the isolate's mesh client", () => {
  it("is created once per binding and credential", async () => {
    const { meshClient } = await import("./client.js");
    const { binding } = recordingBinding(() => new Response("ok"));
    const credential = "weft1.abcdefghijkl.abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
    expect(meshClient(binding, { credential })).toBe(meshClient(binding, { credential }));
    expect(meshClient(binding)).not.toBe(meshClient(binding, { credential }));
  });

  it("for a request (inbound), gives each call that request's trace context, request id and deadline, with no wrapper", async () => {
    const { meshClient } = await import("./client.js");
    const { binding, requests } = recordingBinding(() => new Response("ok"));
    const inbound = new Request("https://billing.example/", {
      headers: { traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", tracestate: "acme=1", "x-request-id": "req-7", [DEADLINE_HEADER]: "5000", cookie: "session=secret" },
    });
    const mesh = meshClient(binding, { inbound });
    await mesh.fetch("users", "/users/42");
    // A call's own headers win over the inherited ones.
    await mesh.fetch("users", "/users/43", { headers: { traceparent: "00-11111111111111111111111111111111-2222222222222222-01" } });
    const [first, second] = requests;
    expect([first?.headers.get("traceparent"), first?.headers.get("tracestate"), first?.headers.get("x-request-id"), first?.headers.get("cookie")]).toEqual(["00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "acme=1", "req-7", null]);
    expect(Number(first?.headers.get(DEADLINE_HEADER))).toBeGreaterThan(4000);
    expect(Number(first?.headers.get(DEADLINE_HEADER))).toBeLessThanOrEqual(5000);
    expect(second?.headers.get("traceparent")).toBe("00-11111111111111111111111111111111-2222222222222222-01");
    // The per-request client shares the isolate client's SVID and state; the isolate client itself inherits nothing.
    await meshClient(binding).fetch("users", "/users/44");
    expect(requests[2]?.headers.get("traceparent")).toBeNull();
  });
});

describe("the caller's deadline on mesh calls", () => {
  it("refuses to send a call whose budget is spent, with a timeout MeshError", async () => {
    const { binding, requests } = recordingBinding(() => new Response("ok"));
    const error = await createMeshClient(binding)
      .fetch("orders", "/orders/42", { headers: { [DEADLINE_HEADER]: "0" } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MeshError);
    expect(error).toMatchObject({ code: "timeout", status: 504, message: "the caller's deadline has passed" });
    expect(requests).toHaveLength(0);
  });

  it("answers a spent budget with the gateway's 504 instead when told not to throw, still without sending", async () => {
    const { binding, requests } = recordingBinding(() => new Response("ok"));
    const response = await createMeshClient(binding, { throwMeshErrors: false }).fetch("http://orders.mesh/x", { headers: { [DEADLINE_HEADER]: "0" } });
    expect(response.status).toBe(504);
    expect(response.headers.get("x-weft-error")).toBe("timeout");
    expect(requests).toHaveLength(0);
  });

  it("sends a call with budget left normally, carrying that budget", async () => {
    const { binding, requests } = recordingBinding(() => new Response("ok"));
    const mesh = createMeshClient(binding, { now: () => 7_000 });
    const response = await mesh.fetch("orders", "/orders/42", { headers: { [DEADLINE_HEADER]: "350", "x-request-id": "r1" } });
    expect(await response.text()).toBe("ok");
    expect(requests).toHaveLength(1);
    expect(requests[0]?.headers.get(DEADLINE_HEADER)).toBe("350");
    expect(requests[0]?.headers.get("x-request-id")).toBe("r1");
  });

  it("leaves calls without a budget, or with a malformed one, as they are", async () => {
    const { binding, requests } = recordingBinding(() => new Response("ok"));
    const mesh = createMeshClient(binding);
    await mesh.fetch("orders", "/a");
    await mesh.fetch(new Request("http://orders.mesh/b", { headers: { [DEADLINE_HEADER]: "soon" } }));
    expect(requests.map((r) => r.headers.get(DEADLINE_HEADER))).toEqual([null, "soon"]);
  });

  describe("with a credential, whose token exchange spends time", () => {
    const CREDENTIAL = "weft1.abcdefghijkl.abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

    /** A gateway whose token exchange takes `exchangeMs` on the injected clock, and which answers every other call with `answer()`. */
    function slowGateway(clock: { now: number }, exchangeMs: number, answer: () => Response) {
      const calls: Request[] = [];
      const binding = {
        fetch: async (input: Request | string | URL, init?: RequestInit) => {
          const request = input instanceof Request ? input : new Request(String(input), init);
          if (request.url.endsWith("/.weft/token")) {
            clock.now += exchangeMs;
            return Response.json({ token: `t${clock.now}`, expiresAt: new Date(clock.now + 600_000).toISOString() });
          }
          calls.push(request);
          return answer();
        },
      };
      return { binding, calls };
    }

    it("sends only the budget left after the exchange", async () => {
      const clock = { now: 1_000_000 };
      const { binding, calls } = slowGateway(clock, 120, () => new Response("ok"));
      await createMeshClient(binding, { credential: CREDENTIAL, now: () => clock.now }).fetch("orders", "/x", { headers: { [DEADLINE_HEADER]: "500" } });
      expect(calls.map((r) => r.headers.get(DEADLINE_HEADER))).toEqual(["380"]);
    });

    it("does not start the call when the exchange used up the whole budget", async () => {
      const clock = { now: 1_000_000 };
      const { binding, calls } = slowGateway(clock, 600, () => new Response("ok"));
      const mesh = createMeshClient(binding, { credential: CREDENTIAL, now: () => clock.now });
      await expect(mesh.fetch("orders", "/x", { headers: { [DEADLINE_HEADER]: "500" } })).rejects.toMatchObject({ code: "timeout" });
      expect(calls).toHaveLength(0);
    });

    it("does not retry after a 401 once the budget is spent", async () => {
      const clock = { now: 1_000_000 };
      const { binding, calls } = slowGateway(clock, 200, () => new MeshError("unauthenticated", "token revoked").toResponse());
      const mesh = createMeshClient(binding, { credential: CREDENTIAL, now: () => clock.now });
      await expect(mesh.fetch("orders", "/x", { headers: { [DEADLINE_HEADER]: "300" } })).rejects.toMatchObject({ code: "timeout" });
      // First attempt went out with 100 ms left; the renewal took 200 ms more, so no second attempt.
      expect(calls.map((r) => r.headers.get(DEADLINE_HEADER))).toEqual(["100"]);
    });
  });
});
