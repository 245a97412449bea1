import { describe, expect, it } from "vitest";
import { anyValue, exportTraceServiceRequest, otlpHttpSender, SpanExporter, unixNanos, type ExportTraceServiceRequest } from "./otlp.js";
import type { Span } from "./spans.js";

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";

const server: Span = {
  traceId: TRACE,
  spanId: "00f067aa0ba902b7",
  parentSpanId: "b7ad6b7169203331",
  name: "GET orders",
  kind: "server",
  startMs: 1_767_225_600_000,
  endMs: 1_767_225_600_012.5,
  attributes: { "weft.source": "frontend", "http.response.status_code": 200, "weft.route": "orders#0" },
  status: "ok",
};

const attempt: Span = {
  traceId: TRACE,
  spanId: "1111111111111111",
  parentSpanId: "00f067aa0ba902b7",
  name: "attempt orders/v1",
  kind: "client",
  startMs: 1_767_225_600_001,
  endMs: 1_767_225_600_011,
  attributes: { "weft.attempt": 1, "weft.subset": "v1", "weft.error_code": "upstream_failure" },
  status: "error",
};

function spans(count: number): Span[] {
  return Array.from({ length: count }, (_, i) => ({ ...server, spanId: (i + 1).toString(16).padStart(16, "0") }));
}

describe("OTLP JSON encoding", () => {
  it("writes an ExportTraceServiceRequest with the proto's JSON field names, hex ids, integer enums and string nanos", () => {
    expect(exportTraceServiceRequest([server, attempt])).toEqual({
      resourceSpans: [
        {
          resource: { attributes: [{ key: "service.name", value: { stringValue: "weft-gateway" } }] },
          scopeSpans: [
            {
              scope: { name: "weft" },
              spans: [
                {
                  traceId: TRACE,
                  spanId: "00f067aa0ba902b7",
                  parentSpanId: "b7ad6b7169203331",
                  name: "GET orders",
                  kind: 2,
                  startTimeUnixNano: "1767225600000000000",
                  endTimeUnixNano: "1767225600012500000",
                  attributes: [
                    { key: "weft.source", value: { stringValue: "frontend" } },
                    { key: "http.response.status_code", value: { intValue: "200" } },
                    { key: "weft.route", value: { stringValue: "orders#0" } },
                  ],
                  status: { code: 1 },
                },
                {
                  traceId: TRACE,
                  spanId: "1111111111111111",
                  parentSpanId: "00f067aa0ba902b7",
                  name: "attempt orders/v1",
                  kind: 3,
                  startTimeUnixNano: "1767225600001000000",
                  endTimeUnixNano: "1767225600011000000",
                  attributes: [
                    { key: "weft.attempt", value: { intValue: "1" } },
                    { key: "weft.subset", value: { stringValue: "v1" } },
                    { key: "weft.error_code", value: { stringValue: "upstream_failure" } },
                  ],
                  status: { code: 2 },
                },
              ],
            },
          ],
        },
      ],
    } satisfies ExportTraceServiceRequest);
  });

  it("leaves out the parent of a root span rather than writing an empty id", () => {
    const root: Span = { ...server };
    delete root.parentSpanId;
    const [encoded] = exportTraceServiceRequest([root]).resourceSpans[0]?.scopeSpans[0]?.spans ?? [];
    expect(encoded).toBeDefined();
    expect(encoded).not.toHaveProperty("parentSpanId");
  });

  it("uses only fields that exist on the OTLP messages", () => {
    const encoded = exportTraceServiceRequest([server, attempt]);
    const span = encoded.resourceSpans[0]?.scopeSpans[0]?.spans[0] ?? {};
    // opentelemetry/proto/trace/v1/trace.proto `message Span`, lowerCamelCase (the JSON mapping).
    const spanFields = ["traceId", "spanId", "traceState", "parentSpanId", "flags", "name", "kind", "startTimeUnixNano", "endTimeUnixNano", "attributes", "droppedAttributesCount", "events", "droppedEventsCount", "links", "droppedLinksCount", "status"];
    for (const key of Object.keys(span)) expect(spanFields).toContain(key);
    expect(Object.keys(encoded.resourceSpans[0] ?? {}).sort()).toEqual(["resource", "scopeSpans"]);
    expect(Object.keys(encoded)).toEqual(["resourceSpans"]);
  });

  it("survives a JSON round trip unchanged", () => {
    const encoded = exportTraceServiceRequest([server, attempt]);
    expect(JSON.parse(JSON.stringify(encoded))).toEqual(encoded);
  });

  it.each([
    ["a string", "GET", { stringValue: "GET" }],
    ["a boolean", true, { boolValue: true }],
    ["a whole number, as an int64 string", 503, { intValue: "503" }],
    ["zero", 0, { intValue: "0" }],
    ["a negative whole number", -3, { intValue: "-3" }],
    ["a fraction, as a double", 0.25, { doubleValue: 0.25 }],
    ["NaN, spelled as proto3 JSON spells it", Number.NaN, { doubleValue: "NaN" }],
    ["infinity", Number.POSITIVE_INFINITY, { doubleValue: "Infinity" }],
  ])("encodes %s", (_what, value, expected) => {
    expect(anyValue(value)).toEqual(expected);
  });

  it.each([
    [0, "0"],
    [1, "1000000"],
    [1.5, "1500000"],
    [1_767_225_600_123, "1767225600123000000"],
    [1_767_225_600_123.456789, "1767225600123456789"],
    [-5, "0"],
  ])("turns %s ms into %s ns as a decimal string, exact for whole ms", (ms, nanos) => {
    // A double near 1.7e12 ms resolves ~0.25 µs, so sub-ms fractions may differ in the last digits;
    // whole ms (what Date.now gives) must come out exact, which ms * 1e6 as a double would not.
    if (Number.isInteger(ms)) expect(unixNanos(ms)).toBe(nanos);
    const got = BigInt(unixNanos(ms));
    expect(got - BigInt(nanos) <= 1_000n && BigInt(nanos) - got <= 1_000n).toBe(true);
    expect(unixNanos(ms)).toMatch(/^\d+$/);
  });
});

describe("span exporter", () => {
  function collector(answer: (body: string) => Response | Promise<Response> = () => Response.json({})) {
    const bodies: ExportTraceServiceRequest[] = [];
    return {
      bodies,
      send: async (body: string) => {
        bodies.push(JSON.parse(body) as ExportTraceServiceRequest);
        return answer(body);
      },
    };
  }
  const spanCount = (body: ExportTraceServiceRequest) => body.resourceSpans[0]?.scopeSpans[0]?.spans.length;

  it("posts at most maxBatch spans per request and reports them sent", async () => {
    const { bodies, send } = collector();
    expect(await new SpanExporter(send, { maxBatch: 2 }).flush(spans(5))).toEqual({ sent: 5, failed: 0, retries: 0 });
    expect(bodies.map(spanCount)).toEqual([2, 2, 1]);
  });

  it("sends nothing for no spans", async () => {
    const { bodies, send } = collector();
    expect(await new SpanExporter(send).flush([])).toEqual({ sent: 0, failed: 0, retries: 0 });
    expect(bodies).toEqual([]);
  });

  it("counts a batch failed on an answer it must not retry, and carries on with the rest", async () => {
    let call = 0;
    const { send } = collector(() => {
      call++;
      if (call === 1) return new Response("bad", { status: 400 });
      if (call === 2) return new Response("no key", { status: 401 });
      return new Response(null, { status: 200 });
    });
    expect(await new SpanExporter(send, { maxBatch: 2 }).flush(spans(5))).toEqual({ sent: 1, failed: 4, retries: 0 });
    expect(call).toBe(3);
  });

  it("retries 429, 502, 503, 504 and network errors with growing jittered backoff, following a short Retry-After, up to maxAttempts", async () => {
    const answers: (() => Response)[] = [
      () => new Response("slow down", { status: 429, headers: { "retry-after": "2" } }),
      () => {
        throw new Error("connection reset");
      },
      () => Response.json({}),
      () => new Response("busy", { status: 503 }),
      () => new Response("busy", { status: 502 }),
      () => new Response("busy", { status: 504, headers: { "retry-after": "3600" } }),
    ];
    let call = 0;
    const { send } = collector(() => (answers[call++] ?? (() => Response.json({})))());
    const waits: number[] = [];
    const exporter = new SpanExporter(send, { maxBatch: 2, sleep: async (ms) => void waits.push(ms), random: () => 0.5 });
    // Batch 1: 429 (waits its Retry-After), reset (waits half of 2 × 250 ms), then sent. Batch 2:
    // 503, 502, 504: three tries, so failed. Batch 3: sent at once.
    expect(await exporter.flush(spans(5))).toEqual({ sent: 3, failed: 2, retries: 4 });
    expect(waits).toEqual([2000, 250, 125, 250]);
    expect(call).toBe(7);
  });

  it("gzips the body and sends the configured headers when asked", async () => {
    const seen: Request[] = [];
    const send = otlpHttpSender("https://collector.example/v1/traces", async (input, init) => (seen.push(new Request(input, init)), new Response("{}")), { headers: { "x-api-key": "k-123" }, compression: "gzip" });
    await new SpanExporter(send).flush([server]);
    const [request] = seen;
    expect([request?.headers.get("content-encoding"), request?.headers.get("content-type"), request?.headers.get("x-api-key")]).toEqual(["gzip", "application/json", "k-123"]);
    const text = await new Response((request?.body ?? new ReadableStream()).pipeThrough(new DecompressionStream("gzip"))).text();
    expect((JSON.parse(text) as ExportTraceServiceRequest).resourceSpans[0]?.scopeSpans[0]?.spans[0]?.spanId).toBe(server.spanId);
  });

  it("counts spans the collector rejected in a partial success as failed", async () => {
    const { send } = collector(() => Response.json({ partialSuccess: { rejectedSpans: "1", errorMessage: "span too old" } }));
    expect(await new SpanExporter(send, { maxBatch: 3 }).flush(spans(3))).toEqual({ sent: 2, failed: 1, retries: 0 });
  });

  it("refuses a batch size below 1", () => {
    expect(() => new SpanExporter(async () => new Response(), { maxBatch: 0 })).toThrow(RangeError);
  });

  it("posts JSON to the collector's URL through the given fetcher", async () => {
    const seen: Request[] = [];
    const send = otlpHttpSender("https://collector.example/v1/traces", { fetch: async (input, init) => (seen.push(new Request(input, init)), new Response("{}")) }, { headers: { authorization: "Bearer t" } });
    await new SpanExporter(send).flush([server]);
    const [request] = seen;
    expect(request?.method).toBe("POST");
    expect(request?.url).toBe("https://collector.example/v1/traces");
    expect(request?.headers.get("content-type")).toBe("application/json");
    expect(request?.headers.get("content-encoding")).toBeNull();
    expect(request?.headers.get("authorization")).toBe("Bearer t");
    expect(((await request?.json()) as ExportTraceServiceRequest).resourceSpans[0]?.scopeSpans[0]?.spans[0]?.spanId).toBe(server.spanId);
  });
});
