/**
 * The gateway's span model: one server span per request it handles and one client span per
 * upstream attempt, buffered in the isolate and exported in batches (see ./otlp.ts). Spans are
 * only for sampled requests; the always-on golden metrics live in ./types.ts and never depend on
 * sampling.
 */

export type SpanKind = "server" | "client";
export type SpanStatus = "ok" | "error";
export type AttributeValue = string | number | boolean;

export interface Span {
  /** 32 lowercase hex digits. */
  traceId: string;
  /** 16 lowercase hex digits. */
  spanId: string;
  /** The caller's span for a server span; the gateway's server span for a client (attempt) span. */
  parentSpanId?: string;
  name: string;
  kind: SpanKind;
  /** Epoch milliseconds (fractions allowed). */
  startMs: number;
  endMs: number;
  /** Only keys from SAFE_ATTRIBUTE_KEYS (see there for why). */
  attributes: Record<string, AttributeValue>;
  status: SpanStatus;
}

/**
 * Every attribute key the gateway may put on a span. Spans leave the mesh (to any OTLP backend),
 * so they carry routing facts only: never header values, tokens, query strings or bodies, any of
 * which may hold credentials or personal data. A test checks that no other key appears.
 */
export const SAFE_ATTRIBUTE_KEYS: ReadonlySet<string> = new Set([
  // Calling service, or "anonymous" (as the metrics' `source` label).
  "weft.source",
  // Destination service.
  "weft.destination",
  // Subset that answered (or was tried, on an attempt span).
  "weft.subset",
  // Route and rule that matched (`<route>#<index>` or the rule's name).
  "weft.route",
  // 1-based attempt number, on attempt (client) spans.
  "weft.attempt",
  // The MeshError code, when the mesh itself answered with an error.
  "weft.error_code",
  "http.request.method",
  // Path only, never the query string.
  "url.path",
  "http.response.status_code",
]);

/**
 * Keeps only SAFE_ATTRIBUTE_KEYS and drops undefined values, so a stage can pass what it has
 * without a check per key.
 */
export function safeAttributes(input: Readonly<Record<string, AttributeValue | undefined>>): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const [key, value] of Object.entries(input)) {
    if (value !== undefined && SAFE_ATTRIBUTE_KEYS.has(key)) out[key] = value;
  }
  return out;
}

/** Per-isolate bound: a few seconds of sampled traffic between flushes, a small slice of 128 MB. */
export const DEFAULT_SPAN_BUFFER_CAPACITY = 2_000;

/**
 * A bounded ring of finished spans. When full, the oldest span is dropped and counted: an
 * unreachable collector must cost the isolate a fixed amount of memory, never an unbounded one,
 * and the newest spans are the ones worth keeping.
 */
export class SpanBuffer {
  readonly capacity: number;
  #ring: (Span | undefined)[];
  #head = 0;
  #size = 0;
  #dropped = 0;

  constructor(capacity: number = DEFAULT_SPAN_BUFFER_CAPACITY) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`span buffer capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    this.#ring = new Array<Span | undefined>(capacity);
  }

  /** Spans waiting to be drained. */
  get size(): number {
    return this.#size;
  }

  /** Spans dropped for lack of room since this buffer was created (a counter: it never goes down). */
  get dropped(): number {
    return this.#dropped;
  }

  add(span: Span): void {
    const tail = (this.#head + this.#size) % this.capacity;
    this.#ring[tail] = span;
    if (this.#size < this.capacity) {
      this.#size++;
    } else {
      // Full: the slot just overwritten was the oldest span.
      this.#head = (this.#head + 1) % this.capacity;
      this.#dropped++;
    }
  }

  /** Removes and returns every buffered span, oldest first. */
  drain(): Span[] {
    const out: Span[] = [];
    for (let i = 0; i < this.#size; i++) {
      const index = (this.#head + i) % this.capacity;
      out.push(this.#ring[index] as Span);
      this.#ring[index] = undefined;
    }
    this.#head = 0;
    this.#size = 0;
    return out;
  }
}
