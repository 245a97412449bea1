import { afterEach, describe, expect, it, vi } from "vitest";
import { DEADLINE_HEADER, inboundDeadline } from "./deadline.js";
import { propagationHeaders } from "./propagation.js";

afterEach(() => {
  vi.useRealTimers();
});

describe("propagation headers from the inbound Request", () => {
  it("carry trace context, the request id and named extras, like the Headers form", () => {
    const inbound = new Request("http://orders.mesh/", {
      headers: { traceparent: "00-abc-def-01", "x-request-id": "r1", "x-canary": "1", cookie: "secret=1", authorization: "Bearer t" },
    });
    expect(Object.fromEntries(propagationHeaders(inbound, ["x-canary"]))).toEqual({
      accept: "application/json",
      traceparent: "00-abc-def-01",
      "x-request-id": "r1",
      "x-canary": "1",
    });
  });

  it("set the budget to what is left now, not what arrived", () => {
    vi.useFakeTimers({ now: 50_000 });
    const inbound = new Request("http://orders.mesh/", { headers: { [DEADLINE_HEADER]: "800", "x-request-id": "r1" } });
    inboundDeadline(inbound); // receipt, as the middleware records it
    vi.setSystemTime(50_300);
    const out = propagationHeaders(inbound);
    expect(out.get(DEADLINE_HEADER)).toBe("500");
    expect(out.get("x-request-id")).toBe("r1");
  });

  it("send a zero budget once the inbound deadline has passed", () => {
    vi.useFakeTimers({ now: 1_000 });
    const inbound = new Request("http://orders.mesh/", { headers: { [DEADLINE_HEADER]: "100" } });
    inboundDeadline(inbound);
    vi.setSystemTime(5_000);
    expect(propagationHeaders(inbound).get(DEADLINE_HEADER)).toBe("0");
  });

  it("send no budget when the mesh gave none, or gave a malformed one", () => {
    expect(propagationHeaders(new Request("http://orders.mesh/")).has(DEADLINE_HEADER)).toBe(false);
    const malformed = new Request("http://orders.mesh/", { headers: { [DEADLINE_HEADER]: "-1" } });
    expect(propagationHeaders(malformed, [DEADLINE_HEADER]).has(DEADLINE_HEADER)).toBe(false);
  });

  it("use the computed budget even when the budget header is also named as an extra", () => {
    vi.useFakeTimers({ now: 0 });
    const inbound = new Request("http://orders.mesh/", { headers: { [DEADLINE_HEADER]: "900" } });
    inboundDeadline(inbound);
    vi.setSystemTime(400);
    expect(propagationHeaders(inbound, [DEADLINE_HEADER]).get(DEADLINE_HEADER)).toBe("500");
  });
});

describe("propagation headers from bare inbound Headers", () => {
  it("copy an incoming budget as it arrived, since the time spent is unknown", () => {
    const out = propagationHeaders(new Headers({ [DEADLINE_HEADER]: "750", traceparent: "00-abc-def-01" }));
    expect(Object.fromEntries(out)).toEqual({ accept: "application/json", traceparent: "00-abc-def-01", [DEADLINE_HEADER]: "750" });
  });

  it("drop a malformed budget", () => {
    expect(propagationHeaders(new Headers({ [DEADLINE_HEADER]: "1.5s" })).has(DEADLINE_HEADER)).toBe(false);
  });
});
