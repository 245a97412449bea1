import { describe, expect, it } from "vitest";
import { busySampleTimes, categoryOfFunction, isolateBusy, fileAt, moduleMapOf, samplingPeriod, summarizeProfile, type CpuProfile, type CpuProfileNode } from "./profile-aggregate.js";

const BUNDLE = [
  "var __defProp = Object.defineProperty;", // 0: esbuild's prelude
  "// @__NO_SIDE_EFFECTS__",
  "// gateway-worker/src/stages/retry.ts",
  "function startAttempt() {", // 3
  "}",
  "// gateway-worker/src/stages/forward.ts",
  "function sendAttempt() {", // 6
  "}",
  "function withoutMeshHeaders(response) {", // 8
  "  response.headers.forEach((_v, name) => name);", // 9: an anonymous callback
  "}",
  "// node_modules/hono/dist/hono-base.js",
  "var Hono = class {};", // 12
  "// bench/passthrough-worker.ts",
  "var passthrough = { fetch(request, env) { return env.TARGET.fetch(request); } };", // 14
].join("\n");

function frame(id: number, functionName: string, line: number, url = "weft-gateway.mjs", children: number[] = []): CpuProfileNode {
  return { id, callFrame: { functionName, url: line < 0 ? "" : url, lineNumber: line, columnNumber: 0 }, children };
}

describe("profile aggregation", () => {
  it("finds each module's lines from esbuild's path comments, not from annotations", () => {
    const map = moduleMapOf(BUNDLE);
    expect(fileAt(map, 0)).toBe("(bundle prelude)");
    expect(fileAt(map, 3)).toBe("gateway-worker/src/stages/retry.ts");
    expect(fileAt(map, 8)).toBe("gateway-worker/src/stages/forward.ts");
    expect(fileAt(map, 12)).toBe("node_modules/hono/dist/hono-base.js");
    expect(() => moduleMapOf("function minified(){}")).toThrow(/no esbuild module markers/);
  });

  it("puts a function in the category of its file, or of its own name where one is listed", () => {
    expect(categoryOfFunction("gateway-worker/src/stages/retry.ts", "startAttempt")).toBe("retry");
    expect(categoryOfFunction("gateway-worker/src/stages/forward.ts", "sendAttempt")).toBe("forward");
    expect(categoryOfFunction("gateway-worker/src/stages/forward.ts", "withoutMeshHeaders")).toBe("headers");
    expect(categoryOfFunction("gateway-worker/src/routing/lookup.ts", "findRoute")).toBe("routing");
    expect(categoryOfFunction("../../work/main/node_modules/jose/dist/webapi/jws.js", "verify")).toBe("libraries");
    expect(categoryOfFunction("gateway-worker/src/gateway.ts", "fetch")).toBe("weft-other");
  });

  it("takes the sampler's period from back-to-back samples, not from the gaps while the isolate is elsewhere", () => {
    expect(samplingPeriod([200, 198, 202, 5000, 200, 400, 199, 12_000, 201, 200, 203, 197, 50], 100)).toBe(200);
    expect(samplingPeriod([52_052, 454_844], 1000)).toBe(1000);
  });

  it("counts each sample for one period, natives for their caller, and idle apart from busy", () => {
    const nodes: CpuProfileNode[] = [
      frame(1, "(root)", -1, "", [2, 3, 4, 7, 9]),
      frame(2, "(idle)", -1),
      frame(3, "(garbage collector)", -1),
      frame(4, "startAttempt", 3, undefined, [5, 6]),
      frame(5, "setTimeout", -1), // a native called by retry.ts: retry's
      frame(6, "fetch", -1), // weft calls fetch: forward, whoever the caller
      frame(7, "withoutMeshHeaders", 8, undefined, [8]),
      frame(8, "forEach", -1, "", [10]),
      frame(10, "", 9), // the anonymous callback inside withoutMeshHeaders: header work
      frame(9, "fetch", 14, "bench-passthrough.mjs", [11]),
      frame(11, "fetch", -1), // the bench Worker's own fetch call: not weft's
    ];
    const samples = [2, 3, 4, 5, 6, 10, 10, 9, 11, 4];
    // 100 µs apart, except one long gap after the first fetch (the isolate was not running).
    const timeDeltas = [100, 100, 100, 100, 100, 5000, 100, 100, 100, 100];
    const profile: CpuProfile = { nodes, startTime: 0, endTime: 6000, samples, timeDeltas };
    const bundles = new Map([
      ["weft-gateway.mjs", moduleMapOf(BUNDLE)],
      ["bench-passthrough.mjs", moduleMapOf(BUNDLE)],
    ]);
    const summary = summarizeProfile(profile, bundles, 100);
    expect(summary.periodMicros).toBe(100);
    expect(Object.fromEntries(summary.byCategory)).toEqual({ idle: 100, gc: 100, retry: 300, forward: 100, headers: 200, "bench-worker": 200 });
    expect(summary.busyMicros).toBe(900);
    expect(summary.weftMicros).toBe(600);
  });
});

describe("isolate busy", () => {
  const nodes: CpuProfileNode[] = [frame(1, "(root)", -1, "", [2, 3, 4, 5]), frame(2, "(idle)", -1), frame(3, "(garbage collector)", -1), frame(4, "(program)", -1), frame(5, "compileSnapshot", 3)];
  // 100 µs sampling: 5 busy samples (JS, GC, runtime) from 100 to 500 µs, a 3 ms gap, 2 busy (3500, 3600), idle, 2 busy.
  const samples = [5, 3, 4, 5, 5, 5, 5, 2, 5, 5, 2, 2, 2, 2, 2, 2, 2, 2];
  const timeDeltas = [100, 100, 100, 100, 100, 3000, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100];
  const profile: CpuProfile = { nodes, startTime: 0, endTime: 5000, samples, timeDeltas };

  it("counts busy samples and lists when they were taken", () => {
    expect(isolateBusy(profile, 100).busyMicros).toBe(900);
    expect(busySampleTimes(profile)).toEqual([100, 200, 300, 400, 500, 3500, 3600, 3800, 3900]);
  });

  it("ends a stretch at a gap in which another isolate ran, not at one in which none did", () => {
    // Another isolate ran at 2000 µs: the thread left this one.
    expect(isolateBusy(profile, 100, [2000]).longestStretchMicros).toBe(500);
    // Nothing else ran: the thread was not scheduled, and a request would have waited too.
    expect(isolateBusy(profile, 100, [50, 4500]).longestStretchMicros).toBe(3600);
    // Without the others' samples, a gap of more than two periods ends it.
    expect(isolateBusy(profile, 100).longestStretchMicros).toBe(500);
  });
});
