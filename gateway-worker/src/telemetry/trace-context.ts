/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/): reading and writing `traceparent` and
 * `tracestate`, new ids, and the head sampling decision. Pure: randomness is passed in, so the
 * gateway's tracing decisions are table-tested like its other decisions.
 */

/** A trace position as carried between services. */
export interface TraceContext {
  /** 32 lowercase hex digits, not all zeros. */
  traceId: string;
  /** 16 lowercase hex digits, not all zeros: the span that sent (or will send) the request. */
  parentId: string;
  /** The `sampled` trace flag (bit 0). */
  sampled: boolean;
  /** Vendor state, passed along with the traceparent it belongs to. */
  tracestate?: string;
}

/** Randomness in [0, 1), like Math.random; tests pass a seeded or fixed one. */
export type Random = () => number;

const HEX = /^[0-9a-f]+$/;
const TRACE_ID = /^[0-9a-f]{32}$/;
const SPAN_ID = /^[0-9a-f]{16}$/;
const VERSION_00_LENGTH = 55;

function allZeros(hex: string): boolean {
  return /^0+$/.test(hex);
}

/**
 * Reads a `traceparent` header value; `undefined` for anything the spec says to ignore (the
 * caller then starts a new trace). Version 00 must be exactly `00-<32 hex>-<16 hex>-<2 hex>`,
 * lowercase, ids not all zeros. Version ff is invalid. A higher version is read the way the spec's
 * versioning section asks: the first three fields at their version-00 positions, followed by the
 * end of the value or a dash, ignoring whatever a future version appends.
 */
export function parseTraceparent(value: string | null | undefined): TraceContext | undefined {
  if (value === null || value === undefined || value.length < VERSION_00_LENGTH) return undefined;
  const version = value.slice(0, 2);
  if (!HEX.test(version) || version === "ff" || value[2] !== "-") return undefined;
  // Version 00 allows nothing after the flags; later versions may append "-<more>".
  if (version === "00" ? value.length !== VERSION_00_LENGTH : value.length > VERSION_00_LENGTH && value[VERSION_00_LENGTH] !== "-") return undefined;
  if (value[35] !== "-" || value[52] !== "-") return undefined;
  const traceId = value.slice(3, 35);
  const parentId = value.slice(36, 52);
  const flags = value.slice(53, 55);
  if (!TRACE_ID.test(traceId) || allZeros(traceId)) return undefined;
  if (!SPAN_ID.test(parentId) || allZeros(parentId)) return undefined;
  if (!/^[0-9a-f]{2}$/.test(flags)) return undefined;
  // Only the sampled bit is defined; other bits are a future version's business.
  return { traceId, parentId, sampled: (Number.parseInt(flags, 16) & 0x01) === 1 };
}

/**
 * Writes a version-00 `traceparent` (a participant always writes the version it speaks, even when
 * it read a later one). Only the sampled flag is set; unknown flag bits are not passed on.
 */
export function formatTraceparent(ctx: Pick<TraceContext, "traceId" | "parentId" | "sampled">): string {
  return `00-${ctx.traceId}-${ctx.parentId}-${ctx.sampled ? "01" : "00"}`;
}

/** Spec limits: at most 32 list members; propagate at least 512 characters. */
const TRACESTATE_MAX_MEMBERS = 32;
const TRACESTATE_MAX_LENGTH = 512;
/** Members longer than this are the first to go when the header must be shortened (spec §3.3.1.5). */
const TRACESTATE_LONG_MEMBER = 128;
const TRACESTATE_KEY = /^(?:[a-z][a-z0-9_\-*/]{0,255}|[a-z0-9][a-z0-9_\-*/]{0,240}@[a-z][a-z0-9_\-*/]{0,13})$/;
const TRACESTATE_VALUE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

/**
 * Normalizes a `tracestate` value (several header lines arrive joined by ","), or `undefined`
 * when it is absent or malformed: an invalid member, a repeated key or more than 32 members make
 * the whole header unusable, since a partial vendor state could mislead the vendor that wrote it.
 * Over 512 characters, long members and then the last ones are dropped, as the spec suggests.
 */
export function parseTracestate(value: string | null | undefined): string | undefined {
  if (value === null || value === undefined) return undefined;
  const members: string[] = [];
  const keys = new Set<string>();
  // Empty members (",,", trailing commas) are allowed by the list grammar and carry nothing.
  for (const raw of value.split(",")) {
    const member = raw.trim();
    if (member === "") continue;
    const eq = member.indexOf("=");
    if (eq <= 0) return undefined;
    const key = member.slice(0, eq);
    if (!TRACESTATE_KEY.test(key) || !TRACESTATE_VALUE.test(member.slice(eq + 1)) || keys.has(key)) return undefined;
    keys.add(key);
    members.push(member);
  }
  if (members.length === 0 || members.length > TRACESTATE_MAX_MEMBERS) return undefined;
  let kept = members;
  const length = (list: string[]) => list.join(",").length;
  if (length(kept) > TRACESTATE_MAX_LENGTH) kept = kept.filter((member) => member.length <= TRACESTATE_LONG_MEMBER);
  while (kept.length > 0 && length(kept) > TRACESTATE_MAX_LENGTH) kept = kept.slice(0, -1);
  return kept.length > 0 ? kept.join(",") : undefined;
}

/**
 * The caller's trace context from request headers: `tracestate` is read only when `traceparent`
 * is valid, because it is meaningless without the trace it belongs to.
 */
export function readTraceContext(headers: Headers): TraceContext | undefined {
  return traceContextOf(headers.get("traceparent"), headers.get("tracestate"));
}

/** The same from the two header values (the sanitize pass reads them without lookups of their own). */
export function traceContextOf(traceparent: string | null, tracestate: string | null): TraceContext | undefined {
  const parent = parseTraceparent(traceparent);
  if (!parent) return undefined;
  const state = parseTracestate(tracestate);
  return state === undefined ? parent : { ...parent, tracestate: state };
}

/** Byte → two lowercase hex digits. */
const BYTE_HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));
/**
 * Random bytes drawn from crypto in blocks: one getRandomValues call per 4 KiB instead of one per
 * id (each call costs microseconds in some runtimes; an id is needed on every request).
 */
const POOL = new Uint8Array(4096);
let poolOffset = POOL.length;

function randomBytesHex(bytes: number): string {
  if (poolOffset + bytes > POOL.length) {
    crypto.getRandomValues(POOL);
    poolOffset = 0;
  }
  let out = "";
  for (let i = 0; i < bytes; i++) out += BYTE_HEX[POOL[poolOffset + i] as number];
  poolOffset += bytes;
  return out;
}

/** Lowercase hex from random nibbles, never all zeros (an all-zero id is invalid on the wire). */
function randomHex(digits: number, random: Random | undefined): string {
  let out = "";
  if (random) {
    for (let i = 0; i < digits; i++) out += Math.min(15, Math.floor(random() * 16)).toString(16);
  } else {
    out = randomBytesHex(digits / 2);
  }
  // Astronomically rare with real randomness; certain with a stub that returns 0.
  return allZeros(out) ? `${out.slice(0, -1)}1` : out;
}

/** A new 16-byte trace id (32 hex digits). Without `random`, uses `crypto.getRandomValues`. */
export function newTraceId(random?: Random): string {
  return randomHex(32, random);
}

/** A new 8-byte span id (16 hex digits). Without `random`, uses `crypto.getRandomValues`. */
export function newSpanId(random?: Random): string {
  return randomHex(16, random);
}

/**
 * The head sampling decision for a request. Parent-based: when a valid traceparent came in, the
 * caller's sampled flag is kept, so a trace is recorded whole or not at all across services.
 * Otherwise the request is sampled with probability `rate` (clamped to 0..1; NaN means 0).
 */
export function headSample(incoming: Pick<TraceContext, "sampled"> | undefined, rate: number, random: Random): boolean {
  if (incoming) return incoming.sampled;
  if (!(rate > 0)) return false;
  if (rate >= 1) return true;
  return random() < rate;
}

/** Where the gateway's server span sits in a trace. */
export interface ServerTrace {
  traceId: string;
  /** The gateway's server span. */
  spanId: string;
  /** The caller's span, when the caller sent a valid traceparent. */
  parentSpanId?: string;
  sampled: boolean;
  tracestate?: string;
}

/**
 * Continues the caller's trace (same trace id, the caller's span as parent, its sampled flag and
 * tracestate) or starts a new one sampled at `rate`; either way with a new span id for the gateway.
 */
export function continueTrace(incoming: TraceContext | undefined, rate: number, random?: Random): ServerTrace {
  const sampled = headSample(incoming, rate, random ?? Math.random);
  if (!incoming) return { traceId: newTraceId(random), spanId: newSpanId(random), sampled };
  const trace: ServerTrace = { traceId: incoming.traceId, spanId: newSpanId(random), parentSpanId: incoming.parentId, sampled };
  if (incoming.tracestate !== undefined) trace.tracestate = incoming.tracestate;
  return trace;
}
