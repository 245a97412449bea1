import { describe, expect, it } from "vitest";
import { judgeSoak, parseStructures, soakFigures, SOAK_LIMITS, type SoakReport, type SoakSample } from "./soak.js";

const MB = 1024 * 1024;

function sample(minute: number, changes: Partial<SoakSample> = {}): SoakSample {
  return {
    atMs: minute * 60_000,
    phase: "traffic",
    meshRequests: minute * 6_000,
    meshInvocations: minute * 15_000,
    passthroughRequests: minute * 6_000,
    gatewayHeapBytes: 4 * MB,
    meshRssBytes: 200 * MB + minute * 6_000 * 1_000,
    passthroughRssBytes: 100 * MB + minute * 6_000 * 1_000,
    storageBytes: MB + minute * 10_000,
    diskBytes: 3 * MB,
    metricsLines: 800,
    structures: { verified_tokens: { entries: 3, limit: 10_000 }, retry_budgets: { entries: 4, limit: null } },
    ...changes,
  };
}

function report(samples: SoakSample[], changes: Partial<SoakReport> = {}): SoakReport {
  return {
    options: { durationMs: 10 * 60_000, ratePerSecond: 100, sampleEveryMs: 60_000, warmupMs: 2 * 60_000, idleMs: 60_000, seed: 1 },
    samples,
    statuses: { "flaky upstream, retried": { "200": 995, "503": 5 } },
    unexpected: [],
    unexpectedCount: 0,
    passthroughFailures: 0,
    configEndpoints: 7,
    ...changes,
  };
}

const steady = () => Array.from({ length: 11 }, (_, minute) => sample(minute));

describe("the soak's verdict", () => {
  it("passes a steady run: flat heap, structures within their caps, RSS per invocation no worse than the pass-through's", () => {
    expect(judgeSoak(report(steady()), SOAK_LIMITS)).toEqual([]);
    const figures = soakFigures(report(steady()));
    // 1,000 B per request; the mesh makes 2.5 invocations a request, the pass-through 2.
    expect(figures.meshRssBytesPerRequest).toBeCloseTo(1_000);
    expect(figures.meshRssBytesPerInvocation).toBeCloseTo(400);
    expect(figures.passthroughRssBytesPerInvocation).toBeCloseTo(500);
    expect(figures.measuredMinutes).toBe(8);
    expect(figures.successRateOfRetriedFlaky).toBeCloseTo(0.995);
  });

  const cases: [what: string, change: (samples: SoakSample[]) => SoakSample[], extra: Partial<SoakReport>, problem: RegExp][] = [
    ["a structure over its cap", (samples) => samples.map((s, i) => (i === 5 ? { ...s, structures: { ...s.structures, verified_tokens: { entries: 10_001, limit: 10_000 } } } : s)), {}, /verified_tokens: 10001 entries over its cap 10000/],
    ["a config-bounded structure growing with traffic", (samples) => samples.map((s, i) => ({ ...s, structures: { ...s.structures, retry_budgets: { entries: 4 + i * 10, limit: null } } })), {}, /retry_budgets: \d+ entries, more than the config accounts for/],
    ["a heap that keeps growing after warm-up", (samples) => samples.map((s, i) => ({ ...s, gatewayHeapBytes: 4 * MB + i * 0.5 * MB })), {}, /heap grew 4\.0 MB over 8\.0 min/],
    ["the mesh's RSS growing faster per invocation", (samples) => samples.map((s, i) => ({ ...s, meshRssBytes: 200 * MB + i * 6_000 * 3_000 })), {}, /RSS grew 1200 bytes per Worker invocation, the pass-through's 500 \(limit 881\)/],
    ["storage that would outgrow the retention", (samples) => samples.map((s, i) => ({ ...s, storageBytes: MB + i * MB })), {}, /storage would reach \d+\.\d MB over the telemetry's 24 h retention/],
    ["an unexpected answer", (samples) => samples, { unexpectedCount: 1, unexpected: ["shop: GET / → 502"] }, /1 unexpected answers, e\.g\. shop: GET \/ → 502/],
    ["too few flaky calls saved by retries", (samples) => samples, { statuses: { "flaky upstream, retried": { "200": 90, "503": 10 } } }, /retries hid too little: 90\.00%/],
  ];
  it.each(cases)("fails %s, and says why", (_what, change, extra, problem) => {
    const problems = judgeSoak(report(change(steady()), extra), SOAK_LIMITS);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(problem);
  });

  it("reads the isolate's structures and the page's sample count from the metrics text", () => {
    const text = [
      "# HELP weft_isolate_entries Entries ...",
      "# TYPE weft_isolate_entries gauge",
      'weft_isolate_entries{structure="hop_tokens"} 4',
      'weft_isolate_entries{structure="outlier_endpoints"} 0',
      'weft_isolate_entry_limit{structure="hop_tokens"} 10000',
      'weft_requests_total{destination="httpbin"} 12',
      "",
    ].join("\n");
    expect(parseStructures(text)).toEqual({ structures: { hop_tokens: { entries: 4, limit: 10_000 }, outlier_endpoints: { entries: 0, limit: null } }, lines: 4 });
  });
});
