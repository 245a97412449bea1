import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { continueTrace, formatTraceparent, headSample, newSpanId, newTraceId, parseTraceparent, parseTracestate, readTraceContext } from "./trace-context.js";

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT = "00f067aa0ba902b7";

/** Cycles through fixed values: deterministic ids and decisions. */
function sequence(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length] as number;
}

describe("parseTraceparent", () => {
  it.each([
    ["a sampled version-00 header", `00-${TRACE}-${PARENT}-01`, { traceId: TRACE, parentId: PARENT, sampled: true }],
    ["an unsampled one", `00-${TRACE}-${PARENT}-00`, { traceId: TRACE, parentId: PARENT, sampled: false }],
    ["flags with other bits, reading only the sampled bit", `00-${TRACE}-${PARENT}-09`, { traceId: TRACE, parentId: PARENT, sampled: true }],
    ["flags with other bits and sampled unset", `00-${TRACE}-${PARENT}-fe`, { traceId: TRACE, parentId: PARENT, sampled: false }],
    ["a future version, by its first four fields", `cc-${TRACE}-${PARENT}-01`, { traceId: TRACE, parentId: PARENT, sampled: true }],
    ["a future version with more fields after a dash", `cc-${TRACE}-${PARENT}-01-what-the-future-will-be-like`, { traceId: TRACE, parentId: PARENT, sampled: true }],
  ])("reads %s", (_what, value, expected) => {
    expect(parseTraceparent(value)).toEqual(expected);
  });

  it.each([
    ["null", null],
    ["empty", ""],
    ["garbage", "hello"],
    ["version ff", `ff-${TRACE}-${PARENT}-01`],
    ["a non-hex version", `0g-${TRACE}-${PARENT}-01`],
    ["an uppercase version", `AA-${TRACE}-${PARENT}-01`],
    ["version 00 with extra data", `00-${TRACE}-${PARENT}-01-extra`],
    ["version 00 with a trailing character", `00-${TRACE}-${PARENT}-01.`],
    ["a future version with extra data not after a dash", `cc-${TRACE}-${PARENT}-01.what-the-future-will-be-like`],
    ["an all-zero trace id", `00-${"0".repeat(32)}-${PARENT}-01`],
    ["an all-zero parent id", `00-${TRACE}-${"0".repeat(16)}-01`],
    ["an uppercase trace id", `00-${TRACE.toUpperCase()}-${PARENT}-01`],
    ["an uppercase parent id", `00-${TRACE}-${PARENT.toUpperCase()}-01`],
    ["uppercase flags", `00-${TRACE}-${PARENT}-0A`],
    ["a short trace id", `00-${TRACE.slice(1)}-${PARENT}-01`],
    ["a long trace id", `00-${TRACE}0-${PARENT}-01`],
    ["a short parent id", `00-${TRACE}-${PARENT.slice(1)}-01`],
    ["one-digit flags", `00-${TRACE}-${PARENT}-1`],
    ["non-hex flags", `00-${TRACE}-${PARENT}-0x`],
    ["wrong separators", `00_${TRACE}_${PARENT}_01`],
    ["leading whitespace", ` 00-${TRACE}-${PARENT}-01`],
  ])("ignores %s", (_what, value) => {
    expect(parseTraceparent(value)).toBeUndefined();
  });

  it("reads back whatever formatTraceparent writes", () => {
    const hex = (length: number) => fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: length, maxLength: length }).filter((s) => /[^0]/.test(s));
    fc.assert(
      fc.property(hex(32), hex(16), fc.boolean(), (traceId, parentId, sampled) => {
        expect(parseTraceparent(formatTraceparent({ traceId, parentId, sampled }))).toEqual({ traceId, parentId, sampled });
      }),
    );
  });
});

describe("formatTraceparent", () => {
  it("writes version 00 with only the sampled flag, even for a context read from a later version", () => {
    const read = parseTraceparent(`cc-${TRACE}-${PARENT}-ff-more`);
    expect(read && formatTraceparent(read)).toBe(`00-${TRACE}-${PARENT}-01`);
    expect(formatTraceparent({ traceId: TRACE, parentId: PARENT, sampled: false })).toBe(`00-${TRACE}-${PARENT}-00`);
  });
});

describe("parseTracestate", () => {
  it.each([
    ["a simple list", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"],
    ["optional whitespace and empty members", " rojo=1 ,, congo=2 ,", "rojo=1,congo=2"],
    ["multi-tenant keys", "tenant@vendor=x,0abc@sys=y", "tenant@vendor=x,0abc@sys=y"],
    ["a value with inner spaces", "k=a b", "k=a b"],
  ])("keeps %s", (_what, value, expected) => {
    expect(parseTracestate(value)).toBe(expected);
  });

  it.each([
    ["absent", null],
    ["empty", ""],
    ["only commas", ",,"],
    ["a member without =", "rojo"],
    ["an empty key", "=1"],
    ["an uppercase key", "Rojo=1"],
    ["an empty value", "rojo="],
    ["a value with =", "rojo=a=b"],
    ["a value with a comma inside quotes", 'rojo="a,b"'],
    ["a repeated key", "rojo=1,rojo=2"],
    ["33 members", Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(",")],
  ])("drops a tracestate that is %s", (_what, value) => {
    expect(parseTracestate(value)).toBeUndefined();
  });

  it("shortens past 512 characters by dropping members over 128 characters first", () => {
    const long = `big=${"x".repeat(200)}`;
    const short = Array.from({ length: 30 }, (_, i) => `k${String(i).padStart(2, "0")}=${"v".repeat(12)}`);
    expect(parseTracestate([short[0], long, ...short.slice(1)].join(","))).toBe(short.join(","));
  });

  it("then drops members from the end until it fits", () => {
    const members = Array.from({ length: 5 }, (_, i) => `k${i}=${"v".repeat(117)}`);
    const out = parseTracestate(members.join(","));
    expect(out).toBe(members.slice(0, 4).join(","));
    expect(out?.length).toBeLessThanOrEqual(512);
  });
});

describe("readTraceContext", () => {
  it("reads tracestate along with a valid traceparent", () => {
    const headers = new Headers({ traceparent: `00-${TRACE}-${PARENT}-01`, tracestate: "rojo=1" });
    expect(readTraceContext(headers)).toEqual({ traceId: TRACE, parentId: PARENT, sampled: true, tracestate: "rojo=1" });
  });

  it("ignores tracestate without a valid traceparent", () => {
    expect(readTraceContext(new Headers({ traceparent: "bogus", tracestate: "rojo=1" }))).toBeUndefined();
    expect(readTraceContext(new Headers({ tracestate: "rojo=1" }))).toBeUndefined();
  });

  it("keeps the traceparent when only the tracestate is malformed", () => {
    expect(readTraceContext(new Headers({ traceparent: `00-${TRACE}-${PARENT}-00`, tracestate: "Bad" }))).toEqual({ traceId: TRACE, parentId: PARENT, sampled: false });
  });
});

describe("new ids", () => {
  it("are lowercase hex of the right length, deterministic for a given random source", () => {
    expect(newTraceId(sequence(0.5, 0.99))).toBe("8f".repeat(16));
    expect(newSpanId(sequence(0.0625))).toBe("1".repeat(16));
    expect(newTraceId()).toMatch(/^[0-9a-f]{32}$/);
    expect(newSpanId()).toMatch(/^[0-9a-f]{16}$/);
    expect(newTraceId()).not.toBe(newTraceId());
  });

  it("are never all zeros, even from a source that only returns 0", () => {
    expect(newTraceId(() => 0)).toBe(`${"0".repeat(31)}1`);
    expect(newSpanId(() => 0)).toBe(`${"0".repeat(15)}1`);
    expect(parseTraceparent(formatTraceparent({ traceId: newTraceId(() => 0), parentId: newSpanId(() => 0), sampled: true }))).toBeDefined();
  });

  it("stay in range for a source that returns values at the edge of [0, 1)", () => {
    expect(newSpanId(() => 0.9999999999)).toBe("f".repeat(16));
  });
});

describe("headSample", () => {
  const sampledParent = { sampled: true };
  const unsampledParent = { sampled: false };
  it.each([
    ["keeps a sampled caller's decision at rate 0", sampledParent, 0, 0.5, true],
    ["keeps an unsampled caller's decision at rate 1", unsampledParent, 1, 0, false],
    ["samples a new trace when the draw is under the rate", undefined, 0.1, 0.05, true],
    ["skips a new trace when the draw is at the rate", undefined, 0.1, 0.1, false],
    ["never samples at rate 0", undefined, 0, 0, false],
    ["always samples at rate 1", undefined, 1, 0.999, true],
    ["treats a rate above 1 as 1", undefined, 5, 0.999, true],
    ["treats a negative rate as 0", undefined, -1, 0, false],
    ["treats NaN as 0", undefined, Number.NaN, 0, false],
  ])("%s", (_what, incoming, rate, draw, expected) => {
    expect(headSample(incoming, rate, () => draw)).toBe(expected);
  });

  it("samples close to the rate over many new traces", () => {
    let seed = 1;
    const lcg = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    let sampled = 0;
    for (let i = 0; i < 10_000; i++) if (headSample(undefined, 0.25, lcg)) sampled++;
    expect(sampled / 10_000).toBeGreaterThan(0.23);
    expect(sampled / 10_000).toBeLessThan(0.27);
  });
});

describe("continueTrace", () => {
  it("continues the caller's trace under a new span, keeping its sampled flag and tracestate", () => {
    const incoming = { traceId: TRACE, parentId: PARENT, sampled: true, tracestate: "rojo=1" };
    expect(continueTrace(incoming, 0, sequence(0.0625))).toEqual({ traceId: TRACE, spanId: "1".repeat(16), parentSpanId: PARENT, sampled: true, tracestate: "rojo=1" });
  });

  it("starts a new root trace, sampled at the rate", () => {
    const trace = continueTrace(undefined, 0.5, sequence(0.25));
    expect(trace).toEqual({ traceId: "4".repeat(32), spanId: "4".repeat(16), sampled: true });
    expect(continueTrace(undefined, 0.5, () => 0.75).sampled).toBe(false);
  });
});
