import { describe, expect, it } from "vitest";
import { DEFAULT_SPAN_BUFFER_CAPACITY, SAFE_ATTRIBUTE_KEYS, safeAttributes, SpanBuffer, type Span } from "./spans.js";

function span(n: number): Span {
  return {
    traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
    spanId: n.toString(16).padStart(16, "0"),
    name: `span ${n}`,
    kind: "server",
    startMs: n,
    endMs: n + 1,
    attributes: {},
    status: "ok",
  };
}

describe("span buffer", () => {
  it("drains what was added, oldest first, and is empty afterwards", () => {
    const buffer = new SpanBuffer(4);
    for (const n of [1, 2, 3]) buffer.add(span(n));
    expect(buffer.size).toBe(3);
    expect(buffer.drain().map((s) => s.startMs)).toEqual([1, 2, 3]);
    expect(buffer.size).toBe(0);
    expect(buffer.drain()).toEqual([]);
  });

  it("drops the oldest spans when full and counts them", () => {
    const buffer = new SpanBuffer(3);
    for (let n = 1; n <= 7; n++) buffer.add(span(n));
    expect(buffer.size).toBe(3);
    expect(buffer.dropped).toBe(4);
    expect(buffer.drain().map((s) => s.startMs)).toEqual([5, 6, 7]);
  });

  it("keeps counting drops across drains, and keeps order after wrapping", () => {
    const buffer = new SpanBuffer(2);
    for (let n = 1; n <= 3; n++) buffer.add(span(n));
    buffer.drain();
    for (let n = 4; n <= 6; n++) buffer.add(span(n));
    expect(buffer.dropped).toBe(2);
    expect(buffer.drain().map((s) => s.startMs)).toEqual([5, 6]);
  });

  it("holds 2,000 spans by default", () => {
    const buffer = new SpanBuffer();
    for (let n = 0; n < DEFAULT_SPAN_BUFFER_CAPACITY + 10; n++) buffer.add(span(n));
    expect(DEFAULT_SPAN_BUFFER_CAPACITY).toBe(2_000);
    expect(buffer.size).toBe(2_000);
    expect(buffer.dropped).toBe(10);
  });

  it.each([0, -1, 1.5, Number.NaN])("refuses a capacity of %s", (capacity) => {
    expect(() => new SpanBuffer(capacity)).toThrow(RangeError);
  });
});

describe("span attributes", () => {
  it("allow exactly the gateway's routing facts", () => {
    expect([...SAFE_ATTRIBUTE_KEYS].sort()).toEqual(
      [
        "http.request.method",
        "http.response.status_code",
        "url.path",
        "weft.attempt",
        "weft.destination",
        "weft.error_code",
        "weft.route",
        "weft.source",
        "weft.subset",
      ].sort(),
    );
  });

  it("keep only safe keys with values, so headers and tokens never reach a span", () => {
    expect(
      safeAttributes({
        "weft.source": "frontend",
        "weft.destination": "orders",
        "weft.subset": undefined,
        "http.response.status_code": 200,
        "weft.attempt": 2,
        "http.request.header.authorization": "Bearer secret",
        "url.query": "token=secret",
        "url.full": "http://orders.mesh/x?token=secret",
      }),
    ).toEqual({ "weft.source": "frontend", "weft.destination": "orders", "http.response.status_code": 200, "weft.attempt": 2 });
  });
});
