/**
 * Pure formatting for the `weft` CLI: tables, durations, rates, config issues, document
 * summaries and diffs. No I/O here, so every shape the CLI prints is table-tested.
 */
import { isRecord } from "@weft/sdk";
import type { ConfigIssue } from "@weft/sdk/errors";
import type { Rollout } from "./client.js";

/** Column alignment: numbers read best right-aligned. */
export type Align = "left" | "right";

/**
 * A plain-text table in the style of `kubectl get`: an upper-case header row, columns two spaces
 * apart, no trailing spaces. `align[i]` defaults to left.
 */
export function table(header: readonly string[], rows: readonly (readonly string[])[], align: readonly Align[] = []): string {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    widths
      .map((width, i) => {
        const cell = cells[i] ?? "";
        return align[i] === "right" ? cell.padStart(width) : cell.padEnd(width);
      })
      .join("  ")
      .trimEnd();
  return [line(header.map((title) => title.toUpperCase())), ...rows.map(line)].join("\n");
}

/** Milliseconds for people: `-` when unknown, `0.42ms`, `4.2ms`, `123ms`, `1.23s`, `2m05s`. */
export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "-";
  if (ms < 1) return `${ms.toFixed(2)}ms`;
  if (ms < 10) return `${ms.toFixed(1)}ms`;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)}s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  return `${minutes}m${String(seconds).padStart(2, "0")}s`;
}

/** Requests per second: one decimal below 100, whole numbers above. */
export function formatRate(perSecond: number | null | undefined): string {
  if (perSecond === null || perSecond === undefined || !Number.isFinite(perSecond)) return "-";
  return perSecond < 100 ? perSecond.toFixed(1) : String(Math.round(perSecond));
}

/** A 0..1 ratio as a percentage; `-` when there was nothing to measure. */
export function formatPercent(ratio: number | null | undefined): string {
  if (ratio === null || ratio === undefined || !Number.isFinite(ratio)) return "-";
  const percent = ratio * 100;
  return `${percent === 100 || percent === 0 ? percent.toFixed(0) : percent.toFixed(percent >= 99 ? 2 : 1)}%`;
}

/** An ISO time as `2026-07-02 10:31:05Z` (UTC, to the second); `-` for none. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return "-";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 19).replace("T", " ")}Z`;
}

/**
 * One config issue as an editor-jumpable line:
 * `mesh.yaml:12: document 2 (Service httpbin) spec.subsets[0].name: Required`.
 */
export function formatIssue(source: string, issue: ConfigIssue): string {
  const where = issue.line !== undefined ? `${source}:${issue.line}` : source;
  const named = issue.kind !== undefined ? ` (${issue.kind}${issue.name !== undefined ? ` ${issue.name}` : ""})` : "";
  const path = issue.path !== "" ? ` ${issue.path}` : "";
  return `${where}: document ${issue.document}${named}${path}: ${issue.message}`;
}

// ---------------------------------------------------------------------------------------------
// Diffs

export interface DocumentRef {
  kind: string;
  name: string;
}

export interface ConfigDiff {
  added: DocumentRef[];
  removed: DocumentRef[];
  changed: (DocumentRef & { fields: string[] })[];
  unchanged: number;
}

export function isEmptyDiff(diff: ConfigDiff): boolean {
  return diff.added.length === 0 && diff.removed.length === 0 && diff.changed.length === 0;
}

/** Finds a document of a set by kind and name, to show old and new values of changed fields. */
export type DocumentLookup = (ref: DocumentRef) => unknown;

export function documentLookup(documents: readonly unknown[]): DocumentLookup {
  const index = new Map<string, unknown>();
  for (const doc of documents) {
    const ref = documentRef(doc);
    index.set(`${ref.kind}/${ref.name}`, doc);
  }
  return (ref) => index.get(`${ref.kind}/${ref.name}`);
}

/** Kind and name of a raw document, `?` where missing (as the control plane keys them). */
export function documentRef(doc: unknown): DocumentRef {
  const record = isRecord(doc) ? doc : {};
  const metadata = isRecord(record.metadata) ? record.metadata : {};
  return { kind: stringOr(record.kind, "?"), name: stringOr(metadata.name, "?") };
}

/** Reads `spec.http[1].destinations[0].weight` out of a document; undefined when absent. */
export function valueAt(doc: unknown, path: string): unknown {
  if (path === "(document)") return doc;
  let node: unknown = doc;
  for (const token of path.match(/[^.[\]]+|\[\d+\]/g) ?? []) {
    if (token.startsWith("[")) {
      if (!Array.isArray(node)) return undefined;
      node = node[Number(token.slice(1, -1))];
    } else {
      if (!isRecord(node)) return undefined;
      node = node[token];
    }
  }
  return node;
}

const BARE_VALUE = /^[\w./:*@+-]+$/;
const MAX_VALUE_LENGTH = 60;

/** A config value on one line: bare words as they are, anything else as JSON, long ones cut. */
export function formatValue(value: unknown): string {
  if (value === undefined) return "(unset)";
  const text = typeof value === "string" && BARE_VALUE.test(value) ? value : JSON.stringify(value);
  return text.length > MAX_VALUE_LENGTH ? `${text.slice(0, MAX_VALUE_LENGTH - 1)}…` : text;
}

/**
 * A diff as lines: `+` added, `~` changed (each changed field, with old → new values when both
 * sets are known), `-` removed, then a count of unchanged documents.
 */
export function renderDiff(diff: ConfigDiff, sets: { before?: DocumentLookup; after?: DocumentLookup } = {}): string[] {
  if (isEmptyDiff(diff)) return [`no changes (${plural(diff.unchanged, "document")} unchanged)`];
  const lines: string[] = [];
  for (const ref of diff.added) lines.push(`+ ${ref.kind}/${ref.name}`);
  for (const change of diff.changed) {
    lines.push(`~ ${change.kind}/${change.name}`);
    const before = sets.before?.(change);
    const after = sets.after?.(change);
    for (const field of change.fields) {
      if (before === undefined || after === undefined) {
        lines.push(`    ${field}`);
        continue;
      }
      lines.push(`    ${field}: ${formatValue(valueAt(before, field))} → ${formatValue(valueAt(after, field))}`);
    }
  }
  for (const ref of diff.removed) lines.push(`- ${ref.kind}/${ref.name}`);
  const counts = [`${diff.added.length} added`, `${diff.changed.length} changed`, `${diff.removed.length} removed`, `${diff.unchanged} unchanged`];
  lines.push(counts.join(", "));
  return lines;
}

// ---------------------------------------------------------------------------------------------
// Documents (for `weft get`)

/** One line about a raw document: what an operator scans a table for. */
export function summarizeDocument(doc: unknown): string {
  const record = isRecord(doc) ? doc : {};
  const spec = isRecord(record.spec) ? record.spec : {};
  switch (record.kind) {
    case "Mesh": {
      const identity = isRecord(spec.identity) ? spec.identity : {};
      return joinParts([
        field("trustDomain", spec.trustDomain),
        field("identity", identity.mode),
        field("tokenTTL", identity.tokenTTL),
        field("keyRotation", identity.keyRotation),
      ]);
    }
    case "Service": {
      const subsets = arrayOf(spec.subsets).map((subset) => {
        const s = isRecord(subset) ? subset : {};
        const count = arrayOf(s.endpoints).length;
        return `${stringOr(s.name, "?")} (${plural(count, "endpoint")})`;
      });
      const policy = isRecord(spec.trafficPolicy) ? spec.trafficPolicy : {};
      const balancer = isRecord(policy.loadBalancer) ? policy.loadBalancer : {};
      return joinParts([
        subsets.length > 0 ? `subsets ${subsets.join(", ")}` : undefined,
        field("lb", balancer.policy),
        field("timeout", policy.timeout),
      ]);
    }
    case "Route": {
      const hosts = arrayOf(spec.hosts).map((host) => String(host));
      const rules = arrayOf(spec.http);
      const destinations = new Set<string>();
      for (const rule of rules) {
        for (const destination of arrayOf(isRecord(rule) ? rule.destinations : undefined)) {
          if (!isRecord(destination)) continue;
          const subset = typeof destination.subset === "string" ? `/${destination.subset}` : "";
          destinations.add(`${stringOr(destination.service, "?")}${subset}`);
        }
      }
      return joinParts([
        hosts.length > 0 ? `hosts ${hosts.join(", ")}` : undefined,
        spec.public === true ? "public" : undefined,
        `${plural(rules.length, "rule")}${destinations.size > 0 ? ` → ${[...destinations].join(", ")}` : ""}`,
      ]);
    }
    case "AuthorizationPolicy": {
      const rules = arrayOf(spec.rules);
      const sources = new Set<string>();
      for (const rule of rules) for (const from of arrayOf(isRecord(rule) ? rule.from : undefined)) sources.add(String(from));
      return joinParts([
        `${stringOr(spec.action, "ALLOW")} → ${stringOr(spec.target, "?")}`,
        rules.length === 0 ? "no rules" : sources.size > 0 ? `from ${[...sources].join(", ")}` : plural(rules.length, "rule"),
      ]);
    }
    case "Rollout": {
      const weights = arrayOf(spec.steps).flatMap((step) => (isRecord(step) && typeof step.setWeight === "number" ? [String(step.setWeight)] : []));
      const stepping = weights.length > 0 ? `steps ${weights.join(", ")}` : typeof spec.stepWeight === "number" ? `+${spec.stepWeight} up to ${typeof spec.maxWeight === "number" ? spec.maxWeight : 100}` : undefined;
      return joinParts([`${stringOr(spec.target, "?")}: ${stringOr(spec.stable, "?")} → ${stringOr(spec.canary, "?")}`, stringOr(spec.strategy, "Canary"), stepping]);
    }
    default:
      return "";
  }
}

// ---------------------------------------------------------------------------------------------
// Status (for `weft status` and `weft top`)

export interface GoldenView {
  requests: number;
  requestsPerSecond: number;
  successRate: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
}

export interface EndpointView {
  id: string;
  /** What the gateway isolate has seen: healthy, ejected, probing, missing-binding or configured. */
  status?: string | undefined;
  health?: string | undefined;
}

export interface ServiceView {
  name: string;
  subsets: { name: string; endpoints: EndpointView[] }[];
}

export interface StatusRow {
  service: string;
  golden: GoldenView | undefined;
  endpoints: number;
  ejected: string[];
}

/** One row per service in the registry, plus any that only telemetry knows about. */
export function statusRows(services: readonly ServiceView[], telemetry: readonly { service: string; golden: GoldenView }[] | undefined): StatusRow[] {
  // A telemetry object that has stored nothing yet may answer without a service name: skip it.
  const views = (telemetry ?? []).filter((view) => view.service !== "");
  const golden = new Map(views.map((view) => [view.service, view.golden] as const));
  const rows: StatusRow[] = services.map((service) => {
    const endpoints = service.subsets.flatMap((subset) => subset.endpoints);
    return {
      service: service.name,
      golden: golden.get(service.name),
      endpoints: endpoints.length,
      ejected: endpoints.filter((endpoint) => endpoint.status === "ejected" || endpoint.health === "ejected").map((endpoint) => endpoint.id),
    };
  });
  for (const view of views) {
    if (!services.some((service) => service.name === view.service)) rows.push({ service: view.service, golden: view.golden, endpoints: 0, ejected: [] });
  }
  return rows.sort((a, b) => a.service.localeCompare(b.service));
}

export function statusTable(rows: readonly StatusRow[]): string {
  return table(
    ["service", "requests/s", "success", "p50", "p99", "ejected"],
    rows.map((row) => {
      const idle = row.golden === undefined || row.golden.requests === 0;
      return [
        row.service,
        idle ? "-" : formatRate(row.golden?.requestsPerSecond),
        idle ? "-" : formatPercent(row.golden?.successRate),
        idle ? "-" : formatMs(row.golden?.p50Ms),
        idle ? "-" : formatMs(row.golden?.p99Ms),
        `${row.ejected.length}/${row.endpoints}${row.ejected.length > 0 ? ` (${row.ejected.join(", ")})` : ""}`,
      ];
    }),
    ["left", "right", "right", "right", "right", "left"],
  );
}

/** `weft status --routes`: one row per Route document, rule and destination that carried traffic. */
export function routesTable(services: readonly { service: string; byRoute: readonly { route: string; rule: string; golden: GoldenView }[] }[]): string {
  const rows = services
    .flatMap((view) => view.byRoute.filter((entry) => entry.route !== "" && entry.golden.requests > 0).map((entry) => ({ service: view.service, ...entry })))
    .sort((a, b) => a.route.localeCompare(b.route) || a.rule.localeCompare(b.rule) || a.service.localeCompare(b.service));
  if (rows.length === 0) return "no route carried traffic in the window";
  return table(
    ["route", "rule", "destination", "requests/s", "success", "p50", "p99"],
    rows.map((row) => [row.route, row.rule || "-", row.service, formatRate(row.golden.requestsPerSecond), formatPercent(row.golden.successRate), formatMs(row.golden.p50Ms), formatMs(row.golden.p99Ms)]),
    ["left", "left", "left", "right", "right", "right", "right"],
  );
}

// ---------------------------------------------------------------------------------------------
// Rollouts

/** `weft rollout status`: one line per rollout. */
export function rolloutsTable(rollouts: readonly Rollout[], now: Date): string {
  return table(
    ["rollout", "target", "phase", "step", "weights", "failed checks", "last check", "next check"],
    rollouts.map((rollout) => {
      const last = rollout.checks.at(-1);
      return [
        rollout.name,
        rollout.target,
        rollout.state.phase,
        stepOf(rollout),
        weightsOf(rollout),
        `${rollout.state.failedChecks}/${rollout.analysis.threshold}`,
        last ? `${last.outcome}${last.findings.length > 0 && last.outcome !== "passed" ? ` (${last.findings.join("; ")})` : ""}` : "-",
        nextCheck(rollout.nextCheckAt, now),
      ];
    }),
  );
}

/** `weft rollout status <name>`: the plan, where the rollout is, and its checks against the bounds. */
export function rolloutDetail(rollout: Rollout, now: Date): string[] {
  const { state, analysis } = rollout;
  const relative = analysis.successRateMinRelativeToStable;
  const bounds = [
    `success ≥ ${analysis.successRateMin}%`,
    ...(relative !== undefined ? [`success ≥ stable ${relative}%`] : []),
    `p99 ≤ ${analysis.latencyP99Max}`,
    `≥ ${analysis.minRequests} canary requests`,
  ].join(", ");
  const lines = [
    `rollout     ${rollout.name} (${rollout.strategy})`,
    `target      ${rollout.target}: stable ${rollout.stable}, canary ${rollout.canary}`,
    `phase       ${state.phase}${state.reason !== undefined ? ` (${state.reason})` : ""}`,
    `step        ${stepOf(rollout)}${state.step >= 0 && state.step < rollout.steps.length ? `: ${rollout.steps[state.step]}` : ""}`,
    `steps       ${rollout.steps.join(" → ")}`,
    `weights     ${weightsOf(rollout)}`,
    `analysis    every ${analysis.interval}; ${bounds}; roll back after ${plural(analysis.threshold, "failed check")}`,
    `checks      ${state.failedChecks} failed (rolls back at ${analysis.threshold}); last ${formatTime(state.lastCheckAt)}; next ${nextCheck(rollout.nextCheckAt, now)}`,
  ];
  if (state.pauseUntil !== undefined) lines.push(`paused until ${formatTime(state.pauseUntil)}`);
  lines.push("");
  if (rollout.checks.length === 0) lines.push("no checks yet");
  else {
    lines.push(
      table(
        ["checked", "outcome", "canary requests", "success", "stable success", "p99", "findings"],
        rollout.checks.map((check) => [
          formatTime(check.at),
          check.outcome,
          String(check.canaryRequests),
          check.successRate === null ? "-" : `${check.successRate}%`,
          check.stableSuccessRate === null ? "-" : `${check.stableSuccessRate}%`,
          formatMs(check.p99Ms),
          check.findings.join("; ") || "-",
        ]),
        ["left", "left", "right", "right", "right", "right", "left"],
      ),
    );
  }
  return lines;
}

function stepOf(rollout: Rollout): string {
  const { step } = rollout.state;
  if (step < 0) return `not started (of ${rollout.steps.length})`;
  if (step >= rollout.steps.length) return "done";
  return `${step + 1} of ${rollout.steps.length}`;
}

function weightsOf(rollout: Rollout): string {
  const { canaryWeight, mirrorPercent } = rollout.state;
  return `${rollout.stable} ${100 - canaryWeight}%, ${rollout.canary} ${canaryWeight}%${mirrorPercent !== undefined ? ` (+ copies of ${mirrorPercent}%)` : ""}`;
}

function nextCheck(at: string | null, now: Date): string {
  if (at === null) return "-";
  const seconds = Math.round((Date.parse(at) - now.getTime()) / 1000);
  if (seconds <= 0) return "due now";
  if (seconds < 120) return `in ${seconds}s`;
  return seconds < 120 * 60 ? `in ${Math.round(seconds / 60)}m` : `in ${Math.round(seconds / 3600)}h`;
}

// ---------------------------------------------------------------------------------------------
// Helpers

export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

function field(label: string, value: unknown): string | undefined {
  return value === undefined || value === null ? undefined : `${label} ${typeof value === "string" ? value : JSON.stringify(value)}`;
}

function joinParts(parts: readonly (string | undefined)[]): string {
  return parts.filter((part): part is string => part !== undefined && part !== "").join("; ");
}

function arrayOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function stringOr(value: unknown, fallback: string): string {
  return typeof value === "string" ? value : fallback;
}
