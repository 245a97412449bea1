/**
 * `GET /.weft/metrics`: renders the mesh's metrics in the Prometheus text exposition format 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/). Pure: the caller gathers the
 * cumulative totals (telemetry objects) and this isolate's own gauges, this only formats them.
 *
 * Conventions it keeps, so `promtool check metrics` and scrapers accept the output:
 * - every family is written with `# HELP` and `# TYPE`, in a fixed order, even when it has no
 *   samples (the format allows that, and a dashboard then finds the family before any traffic);
 * - a gauge whose value is unknown (`null`) is left without a sample rather than written as 0 or
 *   NaN, which would read as a real value;
 * - no series is written twice: inputs with the same label set are summed;
 * - histogram buckets are cumulative and never decrease, and `le="+Inf"` equals `_count`.
 */
import { DURATION_BUCKETS_MS, routeLabelParts, type StatusLabel } from "../../../wire/src/telemetry.js";

/** The histogram's `le` values: DURATION_BUCKETS_MS in seconds (0.001 … 30), written once. */
const DURATION_BUCKET_LABELS: readonly string[] = DURATION_BUCKETS_MS.map((ms) => formatNumber(ms / 1000));

/** The `Content-Type` of the text format this module writes. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

export interface MetricsInput {
  /**
   * Cumulative request series (from the telemetry objects' totals). buckets: cumulative counts per
   * DURATION_BUCKETS_MS bound, then +Inf (= count). Per-bucket counts (as in `SeriesAggregate`)
   * go through `cumulativeBuckets` first.
   */
  series: { source: string; destination: string; subset: string; route: string; code: StatusLabel; count: number; sumMs: number; buckets: number[] }[];
  /**
   * Cumulative event counters: name is one of retries, ejections, rate_limited, authn_failures,
   * authz_denials, hedges, telemetry_dropped_batches, telemetry_overflow_series. Other names are
   * not rendered (each family needs its own HELP text and a name reviewed against the contract).
   */
  counters: { name: string; labels: Record<string, string>; value: number }[];
  /** This isolate's gauges and counters. `null` gauges (no config loaded yet) get no sample. */
  gateway: {
    configVersion: number | null;
    configAgeSeconds: number | null;
    configStale: boolean;
    /** Config pulls that failed in a row (the isolate backs off while they do). */
    configRefreshFailures?: number;
    jwksRefreshes: number;
    jwksRefreshFailures: number;
    telemetryBufferedBatches: number;
    telemetryFlushFailures: number;
    /** Colo-cache config entries this isolate refused (forged, foreign, older), by reason. */
    configCacheRejections?: Readonly<Record<string, number>>;
    /** The isolate's structures: entries now, and the fixed cap where there is one. */
    structures?: readonly { structure: string; entries: number; limit: number | null }[];
  };
  /**
   * Golden metrics per destination over a recent window (from the telemetry objects' sketches):
   * quantiles a histogram with fixed buckets cannot give within 1%.
   */
  windows?: { destination: string; windowSeconds: number; requests: number; successRate: number | null; p50Ms: number | null; p95Ms: number | null; p99Ms: number | null }[];
  /** The control plane's rollouts (absent or empty: the rollout families have no samples). */
  rollouts?: { name: string; target: string; canary: string; phase: string; step: number; steps: number; canaryWeight: number; failedChecks: number }[];
}

/** Flagger's phases, each a sample of weft_rollout_phase (1 for the rollout's, 0 for the others). */
const ROLLOUT_PHASES = ["Initialized", "Progressing", "Paused", "Promoting", "Succeeded", "Failed"] as const;

type MetricType = "counter" | "gauge" | "histogram" | "summary";

/** One label set, in the order it is written. */
type Labels = readonly (readonly [name: string, value: string])[];

interface Family {
  name: string;
  type: MetricType;
  help: string;
  /** Sample lines, already formatted. */
  samples: string[];
}

/** Event counter names → their families. The order here is the order in the output. */
const EVENT_COUNTERS: readonly { name: string; metric: string; help: string }[] = [
  { name: "retries", metric: "weft_retries_total", help: "Retry attempts the gateways made." },
  { name: "hedges", metric: "weft_hedges_total", help: "Hedged requests the gateways sent." },
  { name: "ejections", metric: "weft_ejections_total", help: "Endpoints ejected by outlier detection." },
  { name: "rate_limited", metric: "weft_rate_limited_total", help: "Requests refused by a rate limit (429)." },
  { name: "authn_failures", metric: "weft_authentication_failures_total", help: "Requests whose credentials failed authentication, by reason." },
  { name: "authz_denials", metric: "weft_authorization_denials_total", help: "Requests denied by an authorization policy." },
  { name: "telemetry_dropped_batches", metric: "weft_telemetry_dropped_batches_total", help: "Telemetry batches given up whole while the telemetry objects were unreachable." },
  { name: "telemetry_merged_batches", metric: "weft_telemetry_merged_batches_total", help: "Telemetry batches merged into later ones (time detail given up, counts kept) while the telemetry objects were unreachable." },
  { name: "telemetry_overflow_series", metric: "weft_telemetry_overflow_series_total", help: "Request series folded into overflow because a batch had too many series." },
];

const REQUEST_LABELS = ["source", "destination", "subset", "code"] as const;
const ROUTE_LABELS = ["source", "destination", "subset", "route", "rule", "code"] as const;

/** Renders all weft metric families; the text ends with a newline. */
export function renderMetrics(input: MetricsInput): string {
  const families: Family[] = [...requestFamilies(input.series), ...eventFamilies(input.counters), ...windowFamilies(input.windows ?? []), ...rolloutFamilies(input.rollouts ?? []), ...gatewayFamilies(input.gateway)];
  let out = "";
  for (const family of families) {
    out += `# HELP ${family.name} ${escapeHelp(family.help)}\n# TYPE ${family.name} ${family.type}\n`;
    for (const sample of family.samples) out += `${sample}\n`;
  }
  return out;
}

/** Per-bucket counts (DURATION_BUCKETS_MS bounds, then +Inf) → cumulative counts, as `MetricsInput.series` takes them. */
export function cumulativeBuckets(perBucket: readonly number[]): number[] {
  let total = 0;
  return perBucket.map((n) => (total += n));
}

interface HistogramTotals {
  labels: Labels;
  count: number;
  sumMs: number;
  /** Cumulative, one per DURATION_BUCKETS_MS bound (+Inf is `count`). */
  buckets: number[];
}

function requestFamilies(series: MetricsInput["series"]): Family[] {
  const byRequest = new Map<string, HistogramTotals>();
  const byRoute = new Map<string, { labels: Labels; count: number }>();
  for (const s of series) {
    const { route, rule } = routeLabelParts(s.route);
    const values: Record<(typeof ROUTE_LABELS)[number], string> = { source: s.source, destination: s.destination, subset: s.subset, route, rule, code: typeof s.code === "number" ? formatNumber(s.code) : s.code };
    const buckets = normalizeBuckets(s.buckets, s.count);

    const requestLabels: Labels = REQUEST_LABELS.map((name) => [name, values[name]] as const);
    const requestKey = labelKey(requestLabels);
    const totals = byRequest.get(requestKey);
    if (totals === undefined) {
      byRequest.set(requestKey, { labels: requestLabels, count: s.count, sumMs: s.sumMs, buckets });
    } else {
      totals.count += s.count;
      totals.sumMs += s.sumMs;
      // Sums of cumulative, non-decreasing rows stay cumulative and non-decreasing.
      totals.buckets = totals.buckets.map((n, i) => n + (buckets[i] ?? 0));
    }

    const routeLabels: Labels = ROUTE_LABELS.map((name) => [name, values[name]] as const);
    const routeKey = labelKey(routeLabels);
    const routeTotals = byRoute.get(routeKey);
    if (routeTotals === undefined) byRoute.set(routeKey, { labels: routeLabels, count: s.count });
    else routeTotals.count += s.count;
  }

  const requests = sortedByLabels([...byRequest.values()]);
  const requestsTotal: Family = {
    name: "weft_requests_total",
    type: "counter",
    help: "Requests through the mesh, by caller (source), destination service, answering subset and HTTP status (code; rare statuses folded into their class, such as 5xx).",
    samples: requests.map((t) => sample("weft_requests_total", t.labels, t.count)),
  };
  // Base units (seconds), as Prometheus's naming conventions ask; the telemetry keeps milliseconds.
  const duration: Family = {
    name: "weft_request_duration_seconds",
    type: "histogram",
    help: "Request duration in seconds, as the caller saw it, by source, destination, subset and code.",
    samples: requests.flatMap((t) => [
      ...DURATION_BUCKET_LABELS.map((le, i) => sample("weft_request_duration_seconds_bucket", [...t.labels, ["le", le]], t.buckets[i] ?? t.count)),
      sample("weft_request_duration_seconds_bucket", [...t.labels, ["le", "+Inf"]], t.count),
      sample("weft_request_duration_seconds_sum", t.labels, t.sumMs / 1000),
      sample("weft_request_duration_seconds_count", t.labels, t.count),
    ]),
  };
  const routeTotal: Family = {
    name: "weft_route_requests_total",
    type: "counter",
    help: "Requests through the mesh by the Route document (route) and its rule (rule: its name, or #index) that matched them, besides source, destination, subset and code.",
    samples: sortedByLabels([...byRoute.values()]).map((t) => sample("weft_route_requests_total", t.labels, t.count)),
  };
  return [requestsTotal, duration, routeTotal];
}

/**
 * Cumulative bucket counts that a scraper accepts whatever arrived: one per DURATION_BUCKETS_MS
 * bound, non-decreasing, none above `count` (the +Inf bucket). A missing or non-finite entry takes
 * the previous bound's count. Well-formed input passes through unchanged.
 */
function normalizeBuckets(buckets: readonly number[], count: number): number[] {
  let previous = 0;
  return DURATION_BUCKETS_MS.map((_, i) => {
    const raw = buckets[i];
    const value = raw !== undefined && Number.isFinite(raw) ? Math.max(previous, raw) : previous;
    previous = Number.isFinite(count) ? Math.min(value, count) : value;
    return previous;
  });
}

function eventFamilies(counters: MetricsInput["counters"]): Family[] {
  return EVENT_COUNTERS.map(({ name, metric, help }) => {
    const totals = new Map<string, { labels: Labels; value: number }>();
    for (const counter of counters) {
      if (counter.name !== name) continue;
      const labels = sanitizeLabels(counter.labels);
      const key = labelKey(labels);
      const existing = totals.get(key);
      if (existing === undefined) totals.set(key, { labels, value: counter.value });
      else existing.value += counter.value;
    }
    return { name: metric, type: "counter", help, samples: sortedByLabels([...totals.values()]).map((t) => sample(metric, t.labels, t.value)) };
  });
}

/** Seconds, the base unit Prometheus wants for gauges; the window is a label so dashboards can pick. */
function windowFamilies(windows: NonNullable<MetricsInput["windows"]>): Family[] {
  const latency: string[] = [];
  const success: string[] = [];
  for (const w of [...windows].sort((a, b) => a.destination.localeCompare(b.destination))) {
    const base: Labels = [
      ["destination", w.destination],
      ["window", `${w.windowSeconds}s`],
    ];
    if (w.requests === 0) continue;
    for (const [quantile, ms] of [
      ["0.5", w.p50Ms],
      ["0.95", w.p95Ms],
      ["0.99", w.p99Ms],
    ] as const) {
      if (ms !== null) latency.push(sample("weft_request_latency_seconds", [...base, ["quantile", quantile]], ms / 1000));
    }
    latency.push(sample("weft_request_latency_seconds_count", base, w.requests));
    if (w.successRate !== null) success.push(sample("weft_request_success_ratio", base, w.successRate));
  }
  return [
    // A summary: precomputed quantiles over a sliding window (the DDSketch, within 1%), which the
    // fixed buckets of weft_request_duration_seconds cannot give.
    { name: "weft_request_latency_seconds", type: "summary", help: "Request latency quantiles per destination over the window (DDSketch, within 1%).", samples: latency },
    { name: "weft_request_success_ratio", type: "gauge", help: "Share of requests per destination over the window that were not answered 5xx.", samples: success },
  ];
}

/** Each rollout's progress (docs/rollouts.md), for dashboards and alerts: its split, step, phase and failed checks. */
function rolloutFamilies(rollouts: NonNullable<MetricsInput["rollouts"]>): Family[] {
  const sorted = [...rollouts].sort((a, b) => compareStrings(a.name, b.name));
  const base = (r: (typeof sorted)[number]): Labels => [
    ["rollout", r.name],
    ["target", r.target],
  ];
  return [
    {
      name: "weft_rollout_canary_ratio",
      type: "gauge",
      help: "Share of the rollout's target traffic its canary subset gets (0..1).",
      samples: sorted.map((r) => sample("weft_rollout_canary_ratio", [...base(r), ["canary", r.canary]], r.canaryWeight / 100)),
    },
    {
      name: "weft_rollout_step",
      type: "gauge",
      help: "The rollout's step in effect, counted from 1 (0: not started; steps + 1: promoted).",
      samples: sorted.map((r) => sample("weft_rollout_step", base(r), r.step + 1)),
    },
    { name: "weft_rollout_steps", type: "gauge", help: "Steps in the rollout's plan.", samples: sorted.map((r) => sample("weft_rollout_steps", base(r), r.steps)) },
    {
      name: "weft_rollout_failed_checks",
      type: "gauge",
      help: "Failed checks the rollout has counted (it rolls back at its threshold).",
      samples: sorted.map((r) => sample("weft_rollout_failed_checks", base(r), r.failedChecks)),
    },
    {
      name: "weft_rollout_phase",
      type: "gauge",
      help: "1 for the rollout's phase (Initialized, Progressing, Paused, Promoting, Succeeded, Failed), 0 for the others.",
      samples: sorted.flatMap((r) => ROLLOUT_PHASES.map((phase) => sample("weft_rollout_phase", [...base(r), ["phase", phase]], r.phase === phase ? 1 : 0))),
    },
  ];
}

function gatewayFamilies(gateway: MetricsInput["gateway"]): Family[] {
  const single = (name: string, type: MetricType, help: string, value: number | null): Family => ({ name, type, help, samples: value === null ? [] : [sample(name, [], value)] });
  return [
    single("weft_config_version", "gauge", "Config version this gateway isolate serves; no sample before it has loaded one.", gateway.configVersion),
    single("weft_config_age_seconds", "gauge", "Seconds since this gateway isolate last refreshed its config; no sample before it has loaded one.", gateway.configAgeSeconds),
    single("weft_config_stale", "gauge", "1 when this gateway isolate could not confirm its config with the control plane (the last refresh failed or is overdue), else 0.", gateway.configStale ? 1 : 0),
    single("weft_config_refresh_failures", "gauge", "Config pulls of this gateway isolate that failed in a row; each doubles the wait before the next, up to a minute.", gateway.configRefreshFailures ?? 0),
    single("weft_telemetry_buffered_batches", "gauge", "Telemetry batches this gateway isolate holds, waiting to be sent.", gateway.telemetryBufferedBatches),
    single("weft_jwks_refreshes_total", "counter", "JWKS refreshes this gateway isolate made.", gateway.jwksRefreshes),
    single("weft_jwks_refresh_failures_total", "counter", "JWKS refreshes of this gateway isolate that failed.", gateway.jwksRefreshFailures),
    single("weft_telemetry_flush_failures_total", "counter", "Telemetry flushes of this gateway isolate that failed.", gateway.telemetryFlushFailures),
    {
      name: "weft_isolate_entries",
      type: "gauge",
      help: "Entries this gateway isolate holds in each of its caches and tables (verified tokens, hop tokens, rate-limit buckets, outlier state, telemetry series and batches, spans, ...).",
      samples: (gateway.structures ?? []).map((s) => sample("weft_isolate_entries", [["structure", s.structure]], s.entries)),
    },
    {
      name: "weft_isolate_entry_limit",
      type: "gauge",
      help: "The cap on each of this gateway isolate's structures that has a fixed one; the others are bounded by the config.",
      samples: (gateway.structures ?? []).flatMap((s) => (s.limit === null ? [] : [sample("weft_isolate_entry_limit", [["structure", s.structure]], s.limit)])),
    },
    {
      name: "weft_config_cache_rejected_total",
      type: "counter",
      help: "Config snapshots in the colo cache this gateway isolate refused (unauthenticated, foreign, older-version, malformed) and read from the control plane instead.",
      samples: Object.entries(gateway.configCacheRejections ?? {})
        .sort(([a], [b]) => compareStrings(a, b))
        .map(([reason, value]) => sample("weft_config_cache_rejected_total", [["reason", reason]], value)),
    },
  ];
}

/**
 * A counter's labels map → valid, sorted label names. Invalid characters become `_`, a leading
 * digit gets a `_` in front, and names starting with `__` (reserved for Prometheus itself) keep a
 * single underscore. If two keys end up with the same name, the first in sorted order wins, so a
 * series never carries a label twice.
 */
export function sanitizeLabels(labels: Record<string, string>): Labels {
  const out = new Map<string, string>();
  for (const key of Object.keys(labels).sort(compareStrings)) {
    const name = sanitizeLabelName(key);
    if (!out.has(name)) out.set(name, labels[key] ?? "");
  }
  return [...out.entries()].sort(([a], [b]) => compareStrings(a, b));
}

/** A label name matching `[a-zA-Z_][a-zA-Z0-9_]*` and not reserved. */
export function sanitizeLabelName(name: string): string {
  let out = name.replace(/[^a-zA-Z0-9_]/g, "_");
  if (out === "" || /^[0-9]/.test(out)) out = `_${out}`;
  if (out.startsWith("__")) out = out.replace(/^_+/, "_");
  return out;
}

/** A label value with backslash, double quote and line feed escaped, as the format requires. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** HELP text escapes only backslash and line feed. */
function escapeHelp(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/** A sample value: JavaScript's shortest round-trip form, with `NaN`, `+Inf` and `-Inf` spelled as the format does. */
export function formatNumber(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

function sample(name: string, labels: Labels, value: number): string {
  if (labels.length === 0) return `${name} ${formatNumber(value)}`;
  return `${name}{${labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(",")}} ${formatNumber(value)}`;
}

/** A map key unique per label set (JSON keeps separators in values from colliding). */
function labelKey(labels: Labels): string {
  return JSON.stringify(labels);
}

function sortedByLabels<T extends { labels: Labels }>(rows: T[]): T[] {
  return rows.sort((a, b) => {
    const n = Math.min(a.labels.length, b.labels.length);
    for (let i = 0; i < n; i++) {
      const [ka, va] = a.labels[i] as readonly [string, string];
      const [kb, vb] = b.labels[i] as readonly [string, string];
      const c = compareStrings(ka, kb) || compareStrings(va, vb);
      if (c !== 0) return c;
    }
    return a.labels.length - b.labels.length;
  });
}

/** Code-unit order, so the output does not depend on the runtime's locale. */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
