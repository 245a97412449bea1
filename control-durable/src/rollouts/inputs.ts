/**
 * What the rollout engine reads from the rest of the control plane, as pure functions: the two
 * subsets' golden metrics out of a telemetry view, and which services an apply changed (an
 * operator's change to a rollout's target pauses the rollout).
 */
import type { GoldenMetrics } from "../../../wire/src/telemetry.js";
import type { IntervalMetrics, SubsetMetrics } from "./decide-step.js";

/** A telemetry view's per-subset figures (telemetry-store.ts `TelemetryView.bySubset`). */
export interface SubsetTelemetry {
  readonly bySubset: readonly { readonly subset: string; readonly golden: GoldenMetrics }[];
}

/** The telemetry objects' finest rows: one per minute (telemetry-rollup.ts). */
const TELEMETRY_ROW_MS = 60_000;

/**
 * The query window that covers `windowMs` before `now` at the telemetry's resolution: every minute
 * row that overlaps it, so a window shorter than a minute still sees the row it falls in.
 */
export function telemetryWindowMs(now: number, windowMs: number): number {
  const since = now - windowMs;
  return now - (since - (((since % TELEMETRY_ROW_MS) + TELEMETRY_ROW_MS) % TELEMETRY_ROW_MS));
}

export function intervalMetricsOf(view: SubsetTelemetry, stable: string, canary: string): IntervalMetrics {
  return { canary: subsetMetrics(view, canary), stable: subsetMetrics(view, stable) };
}

function subsetMetrics(view: SubsetTelemetry, subset: string): SubsetMetrics {
  const golden = view.bySubset.find((entry) => entry.subset === subset)?.golden;
  return golden ? { requests: golden.requests, successRate: golden.successRate, p99Ms: golden.p99Ms } : { requests: 0, successRate: null, p99Ms: null };
}

/** A document as stored: its kind, its name and (for Routes) where its rules send traffic. */
export interface StoredDocument {
  readonly kind: string;
  readonly metadata: { readonly name: string };
  readonly spec?: unknown;
}

/**
 * The services whose routing or definition differs between two document sets: a Service document
 * added, removed or changed, or a Route document added, removed or changed that sends traffic to
 * the service (before or after).
 */
export function servicesChanged(before: readonly StoredDocument[], after: readonly StoredDocument[]): Set<string> {
  const changed = new Set<string>();
  const index = (docs: readonly StoredDocument[]) => new Map(docs.filter((d) => d.kind === "Service" || d.kind === "Route").map((d) => [`${d.kind}/${d.metadata.name}`, d]));
  const old = index(before);
  const now = index(after);
  for (const key of new Set([...old.keys(), ...now.keys()])) {
    const a = old.get(key);
    const b = now.get(key);
    if (a && b && JSON.stringify(a) === JSON.stringify(b)) continue;
    for (const doc of [a, b]) {
      if (!doc) continue;
      if (doc.kind === "Service") changed.add(doc.metadata.name);
      else for (const service of routedServices(doc.spec)) changed.add(service);
    }
  }
  return changed;
}

/** Services a Route's rules send to (destinations and mirrors), read defensively from a stored document. */
function routedServices(spec: unknown): string[] {
  const http = (spec as { http?: unknown } | undefined)?.http;
  if (!Array.isArray(http)) return [];
  const services: string[] = [];
  for (const rule of http as { destinations?: unknown; mirror?: { service?: unknown } }[]) {
    if (Array.isArray(rule.destinations)) for (const d of rule.destinations as { service?: unknown }[]) if (typeof d.service === "string") services.push(d.service);
    if (typeof rule.mirror?.service === "string") services.push(rule.mirror.service);
  }
  return services;
}
