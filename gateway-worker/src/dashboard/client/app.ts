/**
 * The dashboard's script, served as /.weft/dashboard/app.js (built by scripts/build-dashboard.ts
 * into ../assets.generated.ts). It polls the data endpoint every 3 s and redraws each section with
 * DOM calls only (dom.ts: never innerHTML, so names from the config cannot inject markup). Golden
 * metrics over time are the polls it has kept.
 */
import type { ConfigDiff, CounterTotals, DashboardData, GoldenMetrics, RolloutView } from "../data-shape.js";
import { h, required, s, section } from "./dom.js";
import { health, ms, percent, rate, time } from "./format.js";
import { renderGraph } from "./graph.js";

const BASE = "/.weft/dashboard";
const POLL_MS = 3000;
/** Samples kept per service for the charts: 40 polls, two minutes. */
const POINTS = 40;

interface Sample {
  at: number;
  rps: number;
  success: number | null;
  p99: number | null;
}

const samples = new Map<string, Sample[]>();
/** Config versions whose diff the operator opened, kept open across redraws. */
const openDiffs = new Set<number>();
let historyShown = "";
let lastSampleAt = "";
let timer: ReturnType<typeof setTimeout> | undefined;
let busy = false;

// ---- golden metrics over time -------------------------------------------------------------

function remember(data: DashboardData): void {
  if (data.generatedAt === lastSampleAt) return;
  lastSampleAt = data.generatedAt;
  const at = Date.parse(data.generatedAt);
  for (const view of data.telemetry.services) {
    const list = samples.get(view.service) ?? [];
    list.push({ at, rps: view.golden.requestsPerSecond, success: view.golden.successRate, p99: view.golden.p99Ms });
    if (list.length > POINTS) list.splice(0, list.length - POINTS);
    samples.set(view.service, list);
  }
}

/** A small line chart of one figure over the kept samples. */
function chart(id: string, title: string, list: readonly Sample[], pick: (sample: Sample) => number | null, format: (value: number) => string, floor?: number): HTMLElement {
  const W = 92;
  const H = 34;
  const points = list.flatMap((p): [number, number][] => {
    const value = pick(p);
    return value === null ? [] : [[p.at, value]];
  });
  const svg = s("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none", testid: id, "data-points": points.length, role: "img", "aria-label": title });
  const first = points[0];
  const final = points[points.length - 1];
  if (first && final) {
    const values = points.map((p) => p[1]);
    const lo = floor !== undefined ? Math.min(floor, ...values) : 0;
    let hi = Math.max(...values);
    if (hi - lo < 1e-9) hi = lo + (lo === 0 ? 1 : Math.abs(lo) * 0.1);
    const t0 = first[0];
    const span = Math.max(final[0] - t0, POLL_MS);
    const xy = points.map(([t, value]) => {
      const x = points.length === 1 ? W - 2 : 2 + ((t - t0) / span) * (W - 4);
      const y = H - 3 - ((value - lo) / (hi - lo)) * (H - 8);
      return [x.toFixed(1), y.toFixed(1)] as const;
    });
    const [cx, cy] = xy[xy.length - 1] ?? ["0", "0"];
    svg.append(s("line", { class: "axis", x1: 0, y1: H - 1, x2: W, y2: H - 1 }));
    svg.append(s("polyline", { points: xy.map((p) => p.join(",")).join(" ") }));
    svg.append(s("circle", { cx, cy, r: 2.5 }));
    svg.append(s("title", {}, `${title}: ${format(final[1])} (range ${format(Math.min(...values))} – ${format(hi)})`));
  }
  return h("figure", { class: "chart-box" }, h("figcaption", {}, title), svg);
}

function figure(label: string, id: string, value: string): HTMLElement {
  return h("div", {}, h("dt", {}, label), h("dd", { testid: id }, value));
}

const NO_TRAFFIC: GoldenMetrics = { requests: 0, requestsPerSecond: 0, successRate: null, p50Ms: null, p95Ms: null, p99Ms: null };
const NO_COUNTS: CounterTotals = { retries: 0, hedges: 0, ejections: 0, rateLimited: 0, authnFailures: 0, authzDenials: 0 };

function renderMetrics(data: DashboardData): void {
  const views = new Map(data.telemetry.services.map((v) => [v.service, v]));
  const names = data.services.map((svc) => svc.name);
  for (const v of data.telemetry.services) if (!names.includes(v.service)) names.push(v.service);
  if (names.length === 0) {
    section("service-metrics").replaceChildren(h("p", { class: "empty" }, "No services in the config yet."));
    return;
  }
  const services = new Map(data.services.map((svc) => [svc.name, svc]));
  section("service-metrics").replaceChildren(
    h(
      "div",
      { class: "cards" },
      names.map((name) => {
        const view = views.get(name);
        const g = view ? view.golden : NO_TRAFFIC;
        const c = view ? view.counters : NO_COUNTS;
        const list = samples.get(name) ?? [];
        const registry = services.get(name);
        const budget = registry?.retryBudget;
        return h(
          "article",
          { class: `card ${health(g)}`, testid: `service-${name}` },
          h("h3", {}, h("span", { class: "dot" }), name),
          h(
            "dl",
            { class: "figures" },
            figure("requests/s", `metric-${name}-rps`, rate(g.requestsPerSecond)),
            figure("success", `metric-${name}-success`, percent(g.successRate)),
            figure("p99", `metric-${name}-p99`, ms(g.p99Ms)),
            figure("requests", `metric-${name}-requests`, String(g.requests)),
          ),
          h(
            "div",
            { class: "charts" },
            chart(`chart-${name}-rps`, "requests/s", list, (p) => p.rps, rate),
            chart(`chart-${name}-success`, "success rate", list, (p) => p.success, percent, 0.9),
            chart(`chart-${name}-p99`, "p99 latency", list, (p) => p.p99, ms),
          ),
          h(
            "p",
            { class: "counters", testid: `counters-${name}` },
            `p50 ${ms(g.p50Ms)} · p95 ${ms(g.p95Ms)} · retries ${c.retries} · hedges ${c.hedges} · ejections ${c.ejections}` +
              ` · rate limited ${c.rateLimited} · denied ${c.authzDenials} · unauthenticated ${c.authnFailures}`,
          ),
          view && view.bySubset.length > 0
            ? h("p", { class: "subsets" }, `by subset: ${view.bySubset.map((b) => `${b.subset || "(none)"} ${b.golden.requests} req, ${percent(b.golden.successRate)}`).join(" · ")}`)
            : null,
          budget
            ? h("p", { class: "subsets" }, `retry budget here: ${budget.retries} retries / ${budget.requests} requests (allowance ${budget.allowance})${registry?.inFlight ? ` · in flight ${registry.inFlight}` : ""}`)
            : null,
        );
      }),
    ),
  );
}

// ---- routes -------------------------------------------------------------------------------

function renderRoutes(data: DashboardData): void {
  const routes = [...data.telemetry.routes].sort((a, b) => a.route.localeCompare(b.route) || a.rule.localeCompare(b.rule) || a.service.localeCompare(b.service));
  if (routes.length === 0) {
    section("routes").replaceChildren(h("p", { class: "empty", testid: "routes-empty" }, "No route carried traffic in the last 5 minutes."));
    return;
  }
  section("routes").replaceChildren(
    h(
      "table",
      {},
      h("thead", {}, h("tr", {}, ["route", "rule", "destination", "requests/s", "success", "p50", "p99"].map((t) => h("th", {}, t)))),
      h(
        "tbody",
        {},
        routes.map((r) =>
          h(
            "tr",
            { testid: `route-${r.route}-${r.rule}-${r.service}` },
            h("td", { class: "mono" }, r.route),
            h("td", { class: "mono" }, r.rule || "–"),
            h("td", {}, r.service),
            h("td", { class: "num" }, rate(r.golden.requestsPerSecond)),
            h("td", { class: "num" }, h("span", { class: `dot ${health(r.golden)}` }), " ", percent(r.golden.successRate)),
            h("td", { class: "num" }, ms(r.golden.p50Ms)),
            h("td", { class: "num" }, ms(r.golden.p99Ms)),
          ),
        ),
      ),
    ),
  );
}

// ---- rollouts -----------------------------------------------------------------------------

/** Checks shown per rollout, newest first. */
const ROLLOUT_CHECKS = 5;

function rolloutCard(rollout: RolloutView): HTMLElement {
  const { state, analysis } = rollout;
  const id = `rollout-${rollout.name}`;
  const position = state.step < 0 ? "not started" : state.step >= rollout.steps.length ? "done" : `step ${state.step + 1} of ${rollout.steps.length}`;
  const bounds = `success ≥ ${analysis.successRateMin}%${analysis.successRateMinRelativeToStable !== undefined ? ` (and ≥ stable ${analysis.successRateMinRelativeToStable}%)` : ""} · p99 ≤ ${analysis.latencyP99Max} · ≥ ${analysis.minRequests} canary requests · every ${analysis.interval}`;
  const checks = rollout.checks.slice(-ROLLOUT_CHECKS).reverse();
  return h(
    "article",
    { class: `rollout ${state.phase.toLowerCase()}`, testid: id },
    h("h3", {}, rollout.name, " ", h("span", { class: `badge phase ${state.phase.toLowerCase()}`, testid: `${id}-phase` }, state.phase)),
    h("p", { class: "what" }, `${rollout.target}: ${rollout.stable} → ${rollout.canary} (${rollout.strategy}), ${position}`),
    h(
      "ol",
      { class: "steps", "aria-label": "steps" },
      rollout.steps.map((step, i) => h("li", { class: i < state.step || state.phase === "Succeeded" ? "done" : i === state.step ? "current" : "todo" }, step)),
    ),
    h(
      "div",
      { class: "weights", testid: `${id}-weights`, role: "img", "aria-label": `${rollout.stable} ${100 - state.canaryWeight}%, ${rollout.canary} ${state.canaryWeight}%` },
      share(h("span", { class: "stable" }, `${rollout.stable} ${100 - state.canaryWeight}%`), 100 - state.canaryWeight),
      share(h("span", { class: "canary" }, `${rollout.canary} ${state.canaryWeight}%`), state.canaryWeight),
    ),
    state.mirrorPercent !== undefined ? h("p", { class: "what", testid: `${id}-mirror` }, `${rollout.canary} gets copies of ${state.mirrorPercent}% of the requests (answers checked, then thrown away)`) : null,
    state.reason !== undefined ? h("p", { class: "reason", testid: `${id}-reason` }, state.reason) : null,
    h("p", { class: "bounds" }, `${bounds} · failed checks ${state.failedChecks} of ${analysis.threshold}${rollout.nextCheckAt ? ` · next check ${time(rollout.nextCheckAt)}` : ""}`),
    checks.length === 0
      ? h("p", { class: "empty" }, "No checks yet.")
      : h(
          "table",
          { testid: `${id}-checks` },
          h("thead", {}, h("tr", {}, ["checked", "outcome", "canary requests", "success", "stable success", "p99", "findings"].map((t) => h("th", {}, t)))),
          h(
            "tbody",
            {},
            checks.map((check) =>
              h(
                "tr",
                {},
                h("td", {}, time(check.at)),
                h("td", {}, h("span", { class: `badge ${check.outcome}` }, check.outcome)),
                h("td", { class: "num" }, check.canaryRequests),
                h("td", { class: "num" }, check.successRate === null ? "–" : `${check.successRate}%`),
                h("td", { class: "num" }, check.stableSuccessRate === null ? "–" : `${check.stableSuccessRate}%`),
                h("td", { class: "num" }, ms(check.p99Ms)),
                h("td", {}, check.findings.join("; ") || "–"),
              ),
            ),
          ),
        ),
  );
}

/** Sizes a bar segment by its share (through CSSOM: the CSP allows no style attributes). */
function share(segment: HTMLElement, percentOfTraffic: number): HTMLElement {
  segment.style.flexBasis = `${percentOfTraffic}%`;
  if (percentOfTraffic === 0) segment.hidden = true;
  return segment;
}

function renderRollouts(data: DashboardData): void {
  if (data.rollouts.length === 0) {
    section("rollouts").replaceChildren(h("p", { class: "empty", testid: "rollouts-empty" }, "No Rollout documents in the config."));
    return;
  }
  section("rollouts").replaceChildren(h("div", { class: "rollouts" }, data.rollouts.map(rolloutCard)));
}

// ---- endpoints ----------------------------------------------------------------------------

const ENDPOINT_COLUMNS = ["service", "subset", "endpoint", "binding / url", "locality", "weight", "status", "failures in a row", "times ejected", "ejected until", "in flight"];

function renderEndpoints(data: DashboardData): void {
  const rows: HTMLElement[] = [];
  for (const svc of data.services) {
    for (const subset of svc.subsets) {
      for (const ep of subset.endpoints) {
        // Endpoint ids are service/subset/index: endpoint-orders-v1-0.
        const id = `endpoint-${String(ep.id).split("/").join("-")}`;
        rows.push(
          h(
            "tr",
            { testid: id },
            h("td", {}, svc.name),
            h("td", {}, subset.name),
            h("td", { class: "mono" }, ep.id),
            h("td", { class: "mono" }, ep.binding || ep.url || "–"),
            h("td", {}, ep.locality || "–"),
            h("td", { class: "num" }, ep.weight),
            h("td", {}, h("span", { class: `badge ${ep.status}`, testid: `${id}-status` }, ep.status)),
            h("td", { class: "num" }, ep.consecutiveFailures === undefined ? "–" : ep.consecutiveFailures),
            h("td", { class: "num", testid: `${id}-ejections` }, ep.timesEjected === undefined ? "–" : ep.timesEjected),
            h("td", {}, ep.ejectedUntil ? time(ep.ejectedUntil) : "–"),
            h("td", { class: "num" }, ep.inFlight === undefined ? "–" : ep.inFlight),
          ),
        );
      }
    }
  }
  if (rows.length === 0) {
    section("endpoints").replaceChildren(h("p", { class: "empty" }, "No endpoints in the config."));
    return;
  }
  section("endpoints").replaceChildren(
    h("table", {}, h("thead", {}, h("tr", {}, ENDPOINT_COLUMNS.map((t) => h("th", {}, t)))), h("tbody", {}, rows)),
  );
}

// ---- denials ------------------------------------------------------------------------------

function renderDenials(data: DashboardData): void {
  if (data.denials.length === 0) {
    section("denials").replaceChildren(h("p", { class: "empty", testid: "denials-empty" }, "No request was denied by an authorization policy in the last 5 minutes."));
    return;
  }
  section("denials").replaceChildren(
    h(
      "table",
      {},
      h("thead", {}, h("tr", {}, h("th", {}, "caller"), h("th", {}, "destination"), h("th", { class: "num" }, "denied"))),
      h(
        "tbody",
        {},
        data.denials.map((d) => h("tr", { testid: `denial-${d.source}-${d.destination}` }, h("td", {}, d.source), h("td", {}, d.destination), h("td", { class: "num" }, d.count))),
      ),
    ),
  );
}

// ---- config history -----------------------------------------------------------------------

function diffList(diff: ConfigDiff | null): HTMLElement {
  if (!diff) return h("p", { class: "empty" }, "diff not available");
  const items: HTMLElement[] = [];
  for (const d of diff.added) items.push(h("li", { class: "added" }, `+ ${d.kind}/${d.name}`));
  for (const d of diff.removed) items.push(h("li", { class: "removed" }, `− ${d.kind}/${d.name}`));
  for (const d of diff.changed) {
    items.push(h("li", { class: "changed" }, `~ ${d.kind}/${d.name}`, h("ul", { class: "fields" }, d.fields.map((f) => h("li", { class: "mono" }, f)))));
  }
  items.push(h("li", { class: "unchanged" }, `${diff.unchanged} document${diff.unchanged === 1 ? "" : "s"} unchanged`));
  return h("ul", { class: "diff" }, items);
}

function renderHistory(data: DashboardData): void {
  required("[data-testid=config-version]").textContent = data.config.version === null ? "none" : String(data.config.version);
  // Redrawn only when the list changes, so a diff the operator opened stays open.
  const key = JSON.stringify(data.config.history.map((v) => [v.version, v.createdAt, v.diff !== null]));
  if (key === historyShown) return;
  historyShown = key;
  if (data.config.history.length === 0) {
    section("config-history").replaceChildren(h("p", { class: "empty" }, "No config applied yet."));
    return;
  }
  section("config-history").replaceChildren(
    h(
      "ol",
      { class: "history" },
      data.config.history.map((v, i) => {
        const details = h(
          "details",
          { testid: `history-${v.version}`, open: openDiffs.has(v.version) || (i === 0 && openDiffs.size === 0) },
          h(
            "summary",
            {},
            h("strong", {}, `v${v.version}`),
            i === 0 ? h("span", { class: "badge current" }, "current") : null,
            h("span", { class: "when" }, time(v.createdAt)),
            h("span", { class: "who" }, v.actor),
            v.source === "rollback" ? h("span", { class: "badge rollback" }, `rollback to v${v.rollbackOf}`) : null,
            h("span", { class: "summary", testid: `history-${v.version}-summary` }, v.summary),
          ),
          diffList(v.diff),
        );
        details.addEventListener("toggle", () => {
          if (details.open) openDiffs.add(v.version);
          else openDiffs.delete(v.version);
        });
        return h("li", {}, details);
      }),
    ),
  );
}

// ---- polling ------------------------------------------------------------------------------

function setStatus(text: string, ok: boolean): void {
  const node = required("[data-testid=status]");
  node.textContent = text;
  node.className = `status ${ok ? "ok" : "failing"}`;
}

function render(data: DashboardData): void {
  remember(data);
  renderHistory(data);
  renderGraph(data);
  renderMetrics(data);
  renderRoutes(data);
  renderRollouts(data);
  renderEndpoints(data);
  renderDenials(data);
  const problems = required("[data-testid=problems]");
  problems.hidden = data.problems.length === 0;
  problems.textContent = data.problems.length ? `Partly shown: ${data.problems.join("; ")}.` : "";
}

function poll(): void {
  clearTimeout(timer);
  if (busy) return;
  if (document.hidden) {
    timer = setTimeout(poll, POLL_MS);
    return;
  }
  busy = true;
  fetch(`${BASE}/data`, { credentials: "same-origin", cache: "no-store", headers: { accept: "application/json" } })
    .then(async (res) => {
      if (res.status === 401) {
        window.location.assign(`${BASE}/sign-in`);
        return;
      }
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      // The gateway's own answer (data.ts writes this shape).
      const data = (await res.json()) as DashboardData;
      render(data);
      setStatus(`updated ${new Date(data.generatedAt).toLocaleTimeString()}`, true);
    })
    .catch((error: unknown) => setStatus(`could not refresh (${error instanceof Error ? error.message : String(error)}); retrying`, false))
    .finally(() => {
      busy = false;
      clearTimeout(timer);
      timer = setTimeout(poll, POLL_MS);
    });
}

document.addEventListener("visibilitychange", () => {
  if (!document.hidden) poll();
});
poll();
