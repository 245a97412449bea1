/**
 * Spans as OTLP/HTTP JSON (`ExportTraceServiceRequest`, opentelemetry-proto trace/v1 and
 * collector/trace/v1), and an exporter that posts them in bounded batches. The JSON mapping is
 * protobuf's with OTLP's exceptions (opentelemetry-proto docs/specification.md, "JSON Protobuf
 * Encoding"): lowerCamelCase field names, `traceId`/`spanId` as hex (not base64), enums as
 * integers (not names), 64-bit integers as decimal strings.
 */
import type { AttributeValue, Span } from "./spans.js";

/** opentelemetry.proto.trace.v1.Span.SpanKind */
export const SPAN_KIND_SERVER = 2;
export const SPAN_KIND_CLIENT = 3;
/** opentelemetry.proto.trace.v1.Status.StatusCode */
export const STATUS_CODE_OK = 1;
export const STATUS_CODE_ERROR = 2;

export const OTLP_SERVICE_NAME = "weft-gateway";
export const OTLP_SCOPE_NAME = "weft";

/** opentelemetry.proto.common.v1.AnyValue: only the variants the gateway writes. */
export type OtlpAnyValue = { stringValue: string } | { intValue: string } | { doubleValue: number | "NaN" | "Infinity" | "-Infinity" } | { boolValue: boolean };

export interface OtlpKeyValue {
  key: string;
  value: OtlpAnyValue;
}

export interface OtlpSpan {
  traceId: string;
  spanId: string;
  /** Omitted for a root span (proto3 JSON leaves out fields at their default, the empty bytes). */
  parentSpanId?: string;
  name: string;
  kind: typeof SPAN_KIND_SERVER | typeof SPAN_KIND_CLIENT;
  /** fixed64 nanoseconds since the epoch, as a decimal string. */
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: OtlpKeyValue[];
  status: { code: typeof STATUS_CODE_OK | typeof STATUS_CODE_ERROR };
}

export interface ExportTraceServiceRequest {
  resourceSpans: {
    resource: { attributes: OtlpKeyValue[] };
    scopeSpans: { scope: { name: string }; spans: OtlpSpan[] }[];
  }[];
}

/** Epoch ms (fractions allowed) → integer ns as a decimal string, exact past 2^53 ns. */
export function unixNanos(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "0";
  const whole = Math.floor(ms);
  const fraction = Math.round((ms - whole) * 1_000_000);
  return (BigInt(whole) * 1_000_000n + BigInt(fraction)).toString();
}

/**
 * One attribute value. Whole numbers are `intValue` (int64, so a string); other numbers are
 * `doubleValue`, with proto3 JSON's spellings for the non-finite ones, which JSON has no literal for.
 */
export function anyValue(value: AttributeValue): OtlpAnyValue {
  if (typeof value === "string") return { stringValue: value };
  if (typeof value === "boolean") return { boolValue: value };
  if (Number.isSafeInteger(value)) return { intValue: String(value) };
  if (Number.isNaN(value)) return { doubleValue: "NaN" };
  if (!Number.isFinite(value)) return { doubleValue: value > 0 ? "Infinity" : "-Infinity" };
  return { doubleValue: value };
}

export function otlpSpan(span: Span): OtlpSpan {
  const out: OtlpSpan = {
    traceId: span.traceId,
    spanId: span.spanId,
    name: span.name,
    kind: span.kind === "server" ? SPAN_KIND_SERVER : SPAN_KIND_CLIENT,
    startTimeUnixNano: unixNanos(span.startMs),
    endTimeUnixNano: unixNanos(span.endMs),
    attributes: Object.entries(span.attributes).map(([key, value]) => ({ key, value: anyValue(value) })),
    status: { code: span.status === "ok" ? STATUS_CODE_OK : STATUS_CODE_ERROR },
  };
  if (span.parentSpanId !== undefined) out.parentSpanId = span.parentSpanId;
  return out;
}

/** Spans as one `ExportTraceServiceRequest`, all under the gateway's resource and scope. */
export function exportTraceServiceRequest(spans: readonly Span[], serviceName: string = OTLP_SERVICE_NAME): ExportTraceServiceRequest {
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: "service.name", value: { stringValue: serviceName } }] },
        scopeSpans: [{ scope: { name: OTLP_SCOPE_NAME }, spans: spans.map(otlpSpan) }],
      },
    ],
  };
}

/** OTLP/HTTP's path for traces, appended to a collector's base endpoint. */
export const OTLP_TRACES_PATH = "/v1/traces";

/**
 * A `send` for SpanExporter: POSTs an OTLP JSON body to `url` through `fetcher` (global fetch or a
 * service binding), with `content-type: application/json` as OTLP/HTTP requires for JSON bodies.
 * @example new SpanExporter(otlpHttpSender("https://otel.example.com/v1/traces", fetch, { authorization: `Bearer ${env.OTEL_TOKEN}` }))
 */
export function otlpHttpSender(
  url: string,
  fetcher: { fetch(input: string, init?: RequestInit): Promise<Response> } | ((input: string, init?: RequestInit) => Promise<Response>),
  headers: Record<string, string> = {},
): (body: string) => Promise<Response> {
  const doFetch = typeof fetcher === "function" ? fetcher : (input: string, init?: RequestInit) => fetcher.fetch(input, init);
  return function sendOtlp(body) {
    return doFetch(url, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body });
  };
}

/** Spans per POST by default: the OpenTelemetry SDKs' batch processor default. */
export const DEFAULT_OTLP_MAX_BATCH = 512;

export interface SpanExporterOptions {
  /** Most spans in one POST. Default DEFAULT_OTLP_MAX_BATCH. */
  maxBatch?: number;
}

/**
 * Posts spans as OTLP JSON, at most `maxBatch` per request, one request at a time (a Worker
 * invocation has a subrequest budget, and a collector that is struggling should not be hit with
 * a burst). A batch counts as sent on a 2xx, minus any spans the collector reports rejected in
 * `partialSuccess`; a non-2xx or a network error counts it failed. It does not retry: spans are
 * best-effort diagnostics, and the caller decides whether failed ones are worth keeping.
 */
export class SpanExporter {
  readonly #send: (body: string) => Promise<Response>;
  readonly #maxBatch: number;

  constructor(send: (body: string) => Promise<Response>, options: SpanExporterOptions = {}) {
    const maxBatch = options.maxBatch ?? DEFAULT_OTLP_MAX_BATCH;
    if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new RangeError(`maxBatch must be a positive integer, got ${maxBatch}`);
    this.#send = send;
    this.#maxBatch = maxBatch;
  }

  async flush(spans: readonly Span[]): Promise<{ sent: number; failed: number }> {
    let sent = 0;
    let failed = 0;
    for (let start = 0; start < spans.length; start += this.#maxBatch) {
      const batch = spans.slice(start, start + this.#maxBatch);
      let accepted: number;
      try {
        const response = await this.#send(JSON.stringify(exportTraceServiceRequest(batch)));
        accepted = response.ok ? batch.length - (await rejectedSpans(response, batch.length)) : 0;
        if (!response.ok) await response.body?.cancel();
      } catch {
        accepted = 0;
      }
      sent += accepted;
      failed += batch.length - accepted;
    }
    return { sent, failed };
  }
}

/**
 * `partialSuccess.rejectedSpans` from an ExportTraceServiceResponse (int64: a string in JSON, but
 * accepted as a number too). A body without it, or one that can't be read, counts as all accepted:
 * the 2xx already said so.
 */
async function rejectedSpans(response: Response, batchSize: number): Promise<number> {
  let body: unknown;
  try {
    const text = await response.text();
    if (text.trim() === "") return 0;
    body = JSON.parse(text);
  } catch {
    return 0;
  }
  if (typeof body !== "object" || body === null || !("partialSuccess" in body)) return 0;
  const partial = body.partialSuccess;
  if (typeof partial !== "object" || partial === null || !("rejectedSpans" in partial)) return 0;
  const rejected = Number(partial.rejectedSpans);
  return Number.isInteger(rejected) && rejected > 0 ? Math.min(rejected, batchSize) : 0;
}
