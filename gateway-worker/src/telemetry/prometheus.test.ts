import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkMetrics, findPromtool, PROMTOOL_INSTALL } from "../../../scripts/promtool.js";
import { cumulativeBuckets, type MetricsInput, renderMetrics } from "./prometheus.js";
import { DURATION_BUCKETS_MS } from "../../../wire/src/telemetry.js";

type Series = MetricsInput["series"][number];

const IDLE_GATEWAY: MetricsInput["gateway"] = {
  configVersion: null,
  configAgeSeconds: null,
  configStale: false,
  jwksRefreshes: 0,
  jwksRefreshFailures: 0,
  telemetryBufferedBatches: 0,
  telemetryFlushFailures: 0,
};

/** A series whose requests all took `ms` milliseconds. */
function series(labels: Omit<Series, "count" | "sumMs" | "buckets">, count: number, ms: number): Series {
  return { ...labels, count, sumMs: count * ms, buckets: [...DURATION_BUCKETS_MS.map((bound) => (ms <= bound ? count : 0)), count] };
}

function render(partial: Partial<MetricsInput>): string {
  return renderMetrics({ series: [], counters: [], gateway: IDLE_GATEWAY, ...partial });
}

/** Sample lines (no comments) whose metric name is exactly `name`. */
function samples(text: string, name: string): string[] {
  return text.split("\n").filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `));
}

/** The value of the one sample written exactly as `series` (name and label set). */
function valueOf(text: string, seriesText: string): string | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${seriesText} `));
  return line?.slice(seriesText.length + 1);
}

const API_TO_USERS = { source: "api", destination: "users", subset: "v1", code: 200 };

describe("prometheus exposition", () => {
  it("sums series that differ only by route into one weft_requests_total sample, and keeps them apart in weft_route_requests_total", () => {
    const text = render({ series: [series({ ...API_TO_USERS, route: "users/#0" }, 3, 4), series({ ...API_TO_USERS, route: "users/writes" }, 5, 40), series({ ...API_TO_USERS, route: "(shadow)" }, 2, 7)] });

    expect(samples(text, "weft_requests_total")).toEqual(['weft_requests_total{source="api",destination="users",subset="v1",code="200"} 10']);
    // The Route document and its rule as labels of their own.
    expect(samples(text, "weft_route_requests_total")).toEqual([
      'weft_route_requests_total{source="api",destination="users",subset="v1",route="(shadow)",rule="",code="200"} 2',
      'weft_route_requests_total{source="api",destination="users",subset="v1",route="users",rule="#0",code="200"} 3',
      'weft_route_requests_total{source="api",destination="users",subset="v1",route="users",rule="writes",code="200"} 5',
    ]);
  });

  it("sums histogram buckets, sum and count over routes, cumulatively, with +Inf equal to the count", () => {
    const labels = 'source="api",destination="users",subset="v1",code="200"';
    const text = render({ series: [series({ ...API_TO_USERS, route: "a" }, 3, 4), series({ ...API_TO_USERS, route: "b" }, 5, 40), series({ ...API_TO_USERS, route: "c" }, 1, 60_000)] });

    // Base units: bounds and the sum in seconds.
    const cases: [le: string, expected: string][] = [
      ["0.001", "0"],
      ["0.002", "0"],
      ["0.005", "3"],
      ["0.025", "3"],
      ["0.05", "8"],
      ["30", "8"],
      ["+Inf", "9"],
    ];
    for (const [le, expected] of cases) expect(valueOf(text, `weft_request_duration_seconds_bucket{${labels},le="${le}"}`), `le=${le}`).toBe(expected);
    expect(valueOf(text, `weft_request_duration_seconds_sum{${labels}}`)).toBe(String((3 * 4 + 5 * 40 + 60_000) / 1000));
    expect(valueOf(text, `weft_request_duration_seconds_count{${labels}}`)).toBe("9");
    expect(samples(text, "weft_request_duration_seconds_bucket")).toHaveLength(DURATION_BUCKETS_MS.length + 1);
    expect(text).not.toContain("weft_request_duration_ms");
  });

  it("keeps series with different codes or subsets apart, and writes the mesh's own answers with an empty subset", () => {
    const text = render({
      series: [
        series({ source: "anonymous", destination: "httpbin", subset: "", route: "httpbin/#0", code: 429 }, 2, 1),
        series({ source: "anonymous", destination: "httpbin", subset: "v2", route: "httpbin/#0", code: 200 }, 7, 12),
        series({ source: "anonymous", destination: "httpbin", subset: "v2", route: "httpbin/#0", code: 503 }, 1, 12),
      ],
    });
    expect(samples(text, "weft_requests_total")).toEqual([
      'weft_requests_total{source="anonymous",destination="httpbin",subset="",code="429"} 2',
      'weft_requests_total{source="anonymous",destination="httpbin",subset="v2",code="200"} 7',
      'weft_requests_total{source="anonymous",destination="httpbin",subset="v2",code="503"} 1',
    ]);
  });

  it("escapes backslash, double quote and line feed in label values", () => {
    const cases: [value: string, written: string][] = [
      ["plain", "plain"],
      ['say "hi"', 'say \\"hi\\"'],
      ["C:\\path", "C:\\\\path"],
      ["two\nlines", "two\\nlines"],
      ['\\"\n', '\\\\\\"\\n'],
    ];
    for (const [value, written] of cases) {
      const text = render({ counters: [{ name: "authn_failures", labels: { reason: value }, value: 1 }] });
      expect(samples(text, "weft_authentication_failures_total"), JSON.stringify(value)).toEqual([`weft_authentication_failures_total{reason="${written}"} 1`]);
    }
  });

  it("writes counter labels sorted, with names made valid, and sums counters with the same label set", () => {
    const text = render({
      counters: [
        { name: "retries", labels: { source: "api", destination: "users" }, value: 2 },
        { name: "retries", labels: { destination: "users", source: "api" }, value: 3 },
        { name: "ejections", labels: { "endpoint-id": "a", "9lives": "b", __reserved: "c", "": "d" }, value: 1 },
        { name: "not_a_weft_counter", labels: {}, value: 9 },
      ],
    });
    expect(samples(text, "weft_retries_total")).toEqual(['weft_retries_total{destination="users",source="api"} 5']);
    expect(samples(text, "weft_ejections_total")).toEqual(['weft_ejections_total{_="d",_9lives="b",_reserved="c",endpoint_id="a"} 1']);
    expect(text).not.toContain("not_a_weft_counter");
  });

  it("maps each event counter name to its weft_*_total family", () => {
    const cases: [name: string, family: string][] = [
      ["retries", "weft_retries_total"],
      ["hedges", "weft_hedges_total"],
      ["ejections", "weft_ejections_total"],
      ["rate_limited", "weft_rate_limited_total"],
      ["authn_failures", "weft_authentication_failures_total"],
      ["authz_denials", "weft_authorization_denials_total"],
      ["telemetry_dropped_batches", "weft_telemetry_dropped_batches_total"],
      ["telemetry_overflow_series", "weft_telemetry_overflow_series_total"],
    ];
    for (const [name, family] of cases) {
      const text = render({ counters: [{ name, labels: { destination: "users" }, value: 4 }] });
      expect(samples(text, family), name).toEqual([`${family}{destination="users"} 4`]);
    }
  });

  it("writes the gateway's gauges and counters, and leaves a gauge that is not known yet without a sample", () => {
    const loaded = render({
      gateway: { configVersion: 42, configAgeSeconds: 1.5, configStale: true, jwksRefreshes: 7, jwksRefreshFailures: 1, telemetryBufferedBatches: 3, telemetryFlushFailures: 2 },
    });
    const cases: [name: string, value: string][] = [
      ["weft_config_version", "42"],
      ["weft_config_age_seconds", "1.5"],
      ["weft_config_stale", "1"],
      ["weft_telemetry_buffered_batches", "3"],
      ["weft_jwks_refreshes_total", "7"],
      ["weft_jwks_refresh_failures_total", "1"],
      ["weft_telemetry_flush_failures_total", "2"],
    ];
    for (const [name, value] of cases) expect(samples(loaded, name), name).toEqual([`${name} ${value}`]);

    const sized = render({
      gateway: {
        configVersion: 1,
        configAgeSeconds: 0,
        configStale: false,
        jwksRefreshes: 0,
        jwksRefreshFailures: 0,
        telemetryBufferedBatches: 0,
        telemetryFlushFailures: 0,
        structures: [
          { structure: "verified_tokens", entries: 17, limit: 10_000 },
          { structure: "retry_budgets", entries: 4, limit: null },
        ],
      },
    });
    expect(samples(sized, "weft_isolate_entries")).toEqual(['weft_isolate_entries{structure="verified_tokens"} 17', 'weft_isolate_entries{structure="retry_budgets"} 4']);
    // A structure bounded by the config has no fixed cap to show.
    expect(samples(sized, "weft_isolate_entry_limit")).toEqual(['weft_isolate_entry_limit{structure="verified_tokens"} 10000']);

    const fresh = render({});
    expect(samples(fresh, "weft_config_version")).toEqual([]);
    expect(samples(fresh, "weft_config_age_seconds")).toEqual([]);
    expect(fresh).toContain("# TYPE weft_config_version gauge\n");
    expect(samples(fresh, "weft_config_stale")).toEqual(["weft_config_stale 0"]);
  });

  it("spells numbers as the format does", () => {
    const cases: [value: number, written: string][] = [
      [0, "0"],
      [12, "12"],
      [0.25, "0.25"],
      [1e21, "1e+21"],
      [Number.NaN, "NaN"],
      [Number.POSITIVE_INFINITY, "+Inf"],
      [Number.NEGATIVE_INFINITY, "-Inf"],
    ];
    for (const [value, written] of cases) {
      expect(samples(render({ gateway: { ...IDLE_GATEWAY, configAgeSeconds: value } }), "weft_config_age_seconds")).toEqual([`weft_config_age_seconds ${written}`]);
    }
  });

  it("writes HELP and TYPE for every family even with no traffic, and ends with a newline", () => {
    const text = render({});
    const families: [name: string, type: string][] = [
      ["weft_requests_total", "counter"],
      ["weft_request_duration_seconds", "histogram"],
      ["weft_route_requests_total", "counter"],
      ["weft_retries_total", "counter"],
      ["weft_hedges_total", "counter"],
      ["weft_ejections_total", "counter"],
      ["weft_rate_limited_total", "counter"],
      ["weft_authentication_failures_total", "counter"],
      ["weft_authorization_denials_total", "counter"],
      ["weft_telemetry_dropped_batches_total", "counter"],
      ["weft_telemetry_overflow_series_total", "counter"],
      ["weft_config_version", "gauge"],
      ["weft_config_age_seconds", "gauge"],
      ["weft_config_stale", "gauge"],
      ["weft_telemetry_buffered_batches", "gauge"],
      ["weft_jwks_refreshes_total", "counter"],
      ["weft_jwks_refresh_failures_total", "counter"],
      ["weft_telemetry_flush_failures_total", "counter"],
    ];
    for (const [name, type] of families) {
      expect(text).toMatch(new RegExp(`^# HELP ${name} \\S.*\\n# TYPE ${name} ${type}$`, "m"));
    }
    expect(text.endsWith("\n")).toBe(true);
  });

  it("repairs malformed bucket rows so they stay cumulative and within the count", () => {
    const labels = 'source="api",destination="users",subset="v1",code="200"';
    // Decreasing, above the count, and one bound short.
    const text = render({ series: [{ ...API_TO_USERS, route: "r", count: 4, sumMs: 10, buckets: [2, 1, 9, ...DURATION_BUCKETS_MS.slice(4).map(() => 4)] }] });
    const values = samples(text, "weft_request_duration_seconds_bucket").map((line) => Number(line.slice(line.lastIndexOf(" ") + 1)));
    expect(values).toEqual([2, 2, 4, ...DURATION_BUCKETS_MS.slice(3).map(() => 4), 4]);
    expect(valueOf(text, `weft_request_duration_seconds_bucket{${labels},le="+Inf"}`)).toBe("4");
  });

  it("turns per-bucket counts into cumulative ones", () => {
    expect(cumulativeBuckets([1, 0, 2, 0, 3])).toEqual([1, 1, 3, 3, 6]);
    expect(cumulativeBuckets([])).toEqual([]);
  });

  it("never writes a series twice, and every histogram is cumulative with +Inf equal to _count, for any input", () => {
    const name = fc.constantFrom("api", "users", "anonymous", "");
    const arbitrarySeries = fc.record({
      source: name,
      destination: name,
      subset: fc.constantFrom("", "v1", "v2"),
      route: fc.constantFrom("a#0", "a#1", "b"),
      code: fc.constantFrom(200, 404, 503),
      perBucket: fc.array(fc.nat(50), { minLength: DURATION_BUCKETS_MS.length + 1, maxLength: DURATION_BUCKETS_MS.length + 1 }),
      meanMs: fc.nat(1000),
    });
    fc.assert(
      fc.property(fc.array(arbitrarySeries, { maxLength: 30 }), (rows) => {
        const input = rows.map(({ perBucket, meanMs, ...labels }) => {
          const buckets = cumulativeBuckets(perBucket);
          const count = buckets[buckets.length - 1] ?? 0;
          return { ...labels, count, sumMs: count * meanMs, buckets };
        });
        const text = render({ series: input });
        const seriesLines = text.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
        const ids = seriesLines.map((l) => l.slice(0, l.lastIndexOf(" ")));
        expect(new Set(ids).size).toBe(ids.length);

        const counts = samples(text, "weft_request_duration_seconds_count");
        for (const countLine of counts) {
          const labels = countLine.slice("weft_request_duration_seconds_count{".length, countLine.lastIndexOf("}"));
          const bucketValues = samples(text, "weft_request_duration_seconds_bucket")
            .filter((l) => l.startsWith(`weft_request_duration_seconds_bucket{${labels},le=`))
            .map((l) => Number(l.slice(l.lastIndexOf(" ") + 1)));
          expect(bucketValues).toHaveLength(DURATION_BUCKETS_MS.length + 1);
          for (let i = 1; i < bucketValues.length; i++) expect(bucketValues[i]).toBeGreaterThanOrEqual(bucketValues[i - 1] as number);
          expect(bucketValues[bucketValues.length - 1]).toBe(Number(countLine.slice(countLine.lastIndexOf(" ") + 1)));
        }
        const total = input.reduce((n, s) => n + s.count, 0);
        const sumOf = (family: string) => samples(text, family).reduce((n, l) => n + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);
        expect(sumOf("weft_requests_total")).toBe(total);
        expect(sumOf("weft_route_requests_total")).toBe(total);
      }),
    );
  });
});

/** A scrape of a mesh with some traffic: what `GET /.weft/metrics` answers. */
function realisticInput(): MetricsInput {
  return {
    series: [
      series({ source: "anonymous", destination: "httpbin", subset: "v1", route: "httpbin/#0", code: 200 }, 120, 8),
      series({ source: "anonymous", destination: "httpbin", subset: "v2", route: "httpbin/#0", code: 200 }, 30, 11),
      series({ source: "anonymous", destination: "httpbin", subset: "v2", route: "httpbin-flaky", code: 503 }, 9, 3),
      series({ source: "anonymous", destination: "httpbin", subset: "", route: "httpbin/#0", code: 429 }, 4, 0.4),
      series({ source: "frontend", destination: "users", subset: "stable", route: "users/#0", code: 200 }, 1000, 22.5),
      series({ source: "frontend", destination: "users", subset: "stable", route: "users#1", code: 200 }, 250, 310),
      series({ source: "frontend", destination: "users", subset: "canary", route: "users/#0", code: 504 }, 2, 30_000),
      series({ source: "frontend", destination: "users", subset: "", route: "users/#0", code: 403 }, 1, 0.2),
    ],
    counters: [
      { name: "retries", labels: { source: "frontend", destination: "users" }, value: 17 },
      { name: "hedges", labels: { source: "frontend", destination: "users" }, value: 3 },
      { name: "ejections", labels: { destination: "users", subset: "canary" }, value: 1 },
      { name: "rate_limited", labels: { destination: "httpbin" }, value: 4 },
      { name: "authn_failures", labels: { reason: "expired" }, value: 2 },
      { name: "authn_failures", labels: { reason: 'bad "kid"\nrotated' }, value: 1 },
      { name: "authz_denials", labels: { source: "frontend", destination: "users" }, value: 1 },
      { name: "telemetry_dropped_batches", labels: {}, value: 0 },
      { name: "telemetry_overflow_series", labels: { destination: "users" }, value: 5 },
    ],
    gateway: {
      configVersion: 12,
      configAgeSeconds: 3.25,
      configStale: false,
      jwksRefreshes: 4,
      jwksRefreshFailures: 0,
      telemetryBufferedBatches: 1,
      telemetryFlushFailures: 0,
      structures: [
        { structure: "verified_tokens", entries: 3, limit: 10_000 },
        { structure: "outlier_endpoints", entries: 2, limit: null },
      ],
    },
    windows: [
      { destination: "orders", windowSeconds: 300, requests: 1200, successRate: 0.97, p50Ms: 12.5, p95Ms: 80, p99Ms: 240 },
      { destination: "catalog", windowSeconds: 300, requests: 0, successRate: null, p50Ms: null, p95Ms: null, p99Ms: null },
    ],
    rollouts: [{ name: "users-canary", target: "users", canary: "canary", phase: "Progressing", step: 1, steps: 4, canaryWeight: 25, failedChecks: 1 }],
  };
}

const promtool = findPromtool();
const promtoolRequired = process.env.CI === "true";

describe("promtool check metrics", () => {
  it.skipIf(promtool === undefined && !promtoolRequired)(`accepts a realistic scrape and an idle one with no problems at all (needs promtool: ${PROMTOOL_INSTALL})`, () => {
    if (promtool === undefined) expect.fail(`promtool is required when CI=true; install it with \`${PROMTOOL_INSTALL}\``);
    const busy = checkMetrics(renderMetrics(realisticInput()), { promtool });
    expect(busy, busy.output).toEqual({ ok: true, output: "", problems: [] });

    // Families without samples are not linted, so an idle scrape is clean outright.
    const idle = checkMetrics(renderMetrics({ series: [], counters: [], gateway: IDLE_GATEWAY }), { promtool });
    expect(idle, idle.output).toEqual({ ok: true, output: "", problems: [] });
  });

  it.skipIf(promtool === undefined && !promtoolRequired)(`rejects text it cannot parse and lint problems that are not allowed (needs promtool: ${PROMTOOL_INSTALL})`, () => {
    if (promtool === undefined) expect.fail(`promtool is required when CI=true; install it with \`${PROMTOOL_INSTALL}\``);
    // An allowance for one problem of another metric lets nothing else through.
    const allowOther = [{ metric: "weft_other_ms", text: "metric names should not contain abbreviated units" }];
    const unparsable = checkMetrics('weft_requests_total{code="200} 1\n', { promtool, allow: allowOther });
    expect(unparsable.ok).toBe(false);
    expect(unparsable.output).toContain("parsing error");

    const badName = checkMetrics("# HELP weft_requests counted\n# TYPE weft_requests counter\nweft_requests 1\n", { promtool, allow: allowOther });
    expect(badName.ok).toBe(false);
    expect(badName.problems).toEqual([{ metric: "weft_requests", text: 'counter metrics should have "_total" suffix' }]);

    const clean = checkMetrics("# HELP weft_requests_total counted\n# TYPE weft_requests_total counter\nweft_requests_total 1\n", { promtool });
    expect(clean).toEqual({ ok: true, output: "", problems: [] });
  });
});

describe("rollout progress", () => {
  it("gives each rollout's canary share, step, failed checks and phase, one sample per phase", () => {
    const text = renderMetrics({ series: [], counters: [], gateway: IDLE_GATEWAY, rollouts: [{ name: "orders-v2", target: "orders", canary: "v2", phase: "Paused", step: 2, steps: 4, canaryWeight: 50, failedChecks: 1 }] });
    const labels = 'rollout="orders-v2",target="orders"';
    expect(valueOf(text, `weft_rollout_canary_ratio{${labels},canary="v2"}`)).toBe("0.5");
    expect([valueOf(text, `weft_rollout_step{${labels}}`), valueOf(text, `weft_rollout_steps{${labels}}`), valueOf(text, `weft_rollout_failed_checks{${labels}}`)]).toEqual(["3", "4", "1"]);
    expect(samples(text, "weft_rollout_phase")).toEqual(
      ["Initialized", "Progressing", "Paused", "Promoting", "Succeeded", "Failed"].map((phase) => `weft_rollout_phase{${labels},phase="${phase}"} ${phase === "Paused" ? 1 : 0}`),
    );
  });
});

describe("windowed golden metrics", () => {
  it("render latency quantiles in seconds and the success ratio per destination, skipping empty windows", () => {
    const text = renderMetrics({
      series: [],
      counters: [],
      gateway: { configVersion: 1, configAgeSeconds: 0, configStale: false, jwksRefreshes: 0, jwksRefreshFailures: 0, telemetryBufferedBatches: 0, telemetryFlushFailures: 0 },
      windows: [
        { destination: "orders", windowSeconds: 300, requests: 40, successRate: 0.9, p50Ms: 12.5, p95Ms: 80, p99Ms: 240 },
        { destination: "idle", windowSeconds: 300, requests: 0, successRate: null, p50Ms: null, p95Ms: null, p99Ms: null },
      ],
    });
    expect(text).toContain('weft_request_latency_seconds{destination="orders",window="300s",quantile="0.5"} 0.0125');
    expect(text).toContain('weft_request_latency_seconds{destination="orders",window="300s",quantile="0.99"} 0.24');
    expect(text).toContain('weft_request_success_ratio{destination="orders",window="300s"} 0.9');
    expect(text).toContain('weft_request_latency_seconds_count{destination="orders",window="300s"} 40');
    expect(text).toContain("# TYPE weft_request_latency_seconds summary");
    expect(text).not.toContain('destination="idle"');
  });
});
