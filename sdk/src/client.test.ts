import { describe, expect, it } from "vitest";
import { createMeshClient, meshUrl } from "./client.js";
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
});
