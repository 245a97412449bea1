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

export interface OtlpSenderOptions {
  /** Sent with every export (a hosted backend's API key, say); never logged. */
  readonly headers?: Readonly<Record<string, string>>;
  /** gzip the body (`Content-Encoding: gzip`, which OTLP/HTTP collectors accept). Default none. */
  readonly compression?: "gzip" | "none";
}

/**
 * A `send` for SpanExporter: POSTs an OTLP JSON body to `url` through `fetcher` (global fetch or a
 * service binding), with `content-type: application/json` as OTLP/HTTP requires for JSON bodies.
 * @example new SpanExporter(otlpHttpSender("https://otel.example.com/v1/traces", fetch, { headers: { "x-api-key": env.OTEL_API_KEY }, compression: "gzip" }))
 */
export function otlpHttpSender(
  url: string,
  fetcher: { fetch(input: string, init?: RequestInit): Promise<Response> } | ((input: string, init?: RequestInit) => Promise<Response>),
  options: OtlpSenderOptions = {},
): (body: string) => Promise<Response> {
  const doFetch = typeof fetcher === "function" ? fetcher : (input: string, init?: RequestInit) => fetcher.fetch(input, init);
  const gzip = options.compression === "gzip";
  const headers = { ...options.headers, "content-type": "application/json", ...(gzip ? { "content-encoding": "gzip" } : {}) };
  return async function sendOtlp(body) {
    return doFetch(url, { method: "POST", headers, body: gzip ? await gzipped(body) : body });
  };
}

async function gzipped(text: string): Promise<ArrayBuffer> {
  return new Response(new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"))).arrayBuffer();
}

/** Spans per POST by default: the OpenTelemetry SDKs' batch processor default. */
export const DEFAULT_OTLP_MAX_BATCH = 512;
/** Tries per batch: the first, and two retries. */
export const DEFAULT_OTLP_MAX_ATTEMPTS = 3;
/** First retry's backoff; each later one doubles it (full jitter). */
export const OTLP_BACKOFF_BASE_MS = 250;
/** A collector's Retry-After is followed up to this; longer, and the batch waits for the next flush's spans to fail with it. */
export const OTLP_MAX_RETRY_AFTER_MS = 5_000;
/** Answers OTLP/HTTP says to retry (the specification's "retryable response codes"). */
const RETRYABLE_STATUSES = new Set([429, 502, 503, 504]);

export interface SpanExporterOptions {
  /** Most spans in one POST. Default DEFAULT_OTLP_MAX_BATCH. */
  maxBatch?: number;
  /** Tries per batch on 429, 502, 503, 504 or a network error. Default DEFAULT_OTLP_MAX_ATTEMPTS. */
  maxAttempts?: number;
  /** For tests: how to wait between tries. */
  sleep?: (ms: number) => Promise<void>;
  /** For tests: the jitter's randomness, 0..1. */
  random?: () => number;
}

/**
 * Posts spans as OTLP JSON, at most `maxBatch` per request, one request at a time (a Worker
 * invocation has a subrequest budget, and a collector that is struggling should not be hit with
 * a burst). A batch counts as sent on a 2xx, minus any spans the collector reports rejected in
 * `partialSuccess`. A 429, 502, 503, 504 or a network error is retried with exponential backoff
 * and full jitter (a `Retry-After` up to 5 s is followed), up to `maxAttempts`; then, or on any
 * other answer, the batch counts as failed. Spans are best-effort diagnostics: the buffer before
 * this stays bounded, and nothing failed is kept.
 */
export class SpanExporter {
  readonly #send: (body: string) => Promise<Response>;
  readonly #maxBatch: number;
  readonly #maxAttempts: number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #random: () => number;

  constructor(send: (body: string) => Promise<Response>, options: SpanExporterOptions = {}) {
    const maxBatch = options.maxBatch ?? DEFAULT_OTLP_MAX_BATCH;
    if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new RangeError(`maxBatch must be a positive integer, got ${maxBatch}`);
    const maxAttempts = options.maxAttempts ?? DEFAULT_OTLP_MAX_ATTEMPTS;
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) throw new RangeError(`maxAttempts must be a positive integer, got ${maxAttempts}`);
    this.#send = send;
    this.#maxBatch = maxBatch;
    this.#maxAttempts = maxAttempts;
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#random = options.random ?? Math.random;
  }

  async flush(spans: readonly Span[]): Promise<{ sent: number; failed: number; retries: number }> {
    let sent = 0;
    let failed = 0;
    let retries = 0;
    for (let start = 0; start < spans.length; start += this.#maxBatch) {
      const batch = spans.slice(start, start + this.#maxBatch);
      const body = JSON.stringify(exportTraceServiceRequest(batch));
      let accepted = 0;
      for (let attempt = 1; attempt <= this.#maxAttempts; attempt++) {
        let waitMs: number | undefined;
        try {
          const response = await this.#send(body);
          if (response.ok) {
            accepted = batch.length - (await rejectedSpans(response, batch.length));
            break;
          }
          await response.body?.cancel();
          if (!RETRYABLE_STATUSES.has(response.status)) break;
          waitMs = retryAfterMs(response.headers.get("retry-after"));
        } catch {
          // A network error: as retryable as a 503.
        }
        if (attempt === this.#maxAttempts) break;
        retries++;
        await this.#sleep(waitMs ?? Math.floor(this.#random() * OTLP_BACKOFF_BASE_MS * 2 ** (attempt - 1)));
      }
      sent += accepted;
      failed += batch.length - accepted;
    }
    return { sent, failed, retries };
  }
}

/** A Retry-After of seconds (the form collectors send), capped; undefined when absent or unusable. */
function retryAfterMs(value: string | null): number | undefined {
  if (value === null || !/^\d+$/.test(value.trim())) return undefined;
  return Math.min(Number(value.trim()) * 1000, OTLP_MAX_RETRY_AFTER_MS);
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
