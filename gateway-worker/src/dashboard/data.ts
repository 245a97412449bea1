/**
 * What the dashboard shows, read through the same dependencies as the admin API (control plane,
 * telemetry objects, this isolate's health view) and shaped into one JSON document the page polls.
 * Each part is read on its own: an unreachable telemetry object leaves the config and registry
 * visible and is named in `problems`.
 */
import type { GatewayEnv } from "../env.js";
import type { ControlPlaneApi, LiveHealth, TelemetryAccess } from "../admin/api.js";
import { bindingNamed } from "../bindings.js";
import type { ConfigDiff, RegistryService, VersionRecord } from "../../../control-durable/src/types.js";
import { diffDocumentSets } from "../../../control-durable/src/diff.js";
import type { CounterView, TelemetryView } from "../../../control-durable/src/telemetry-store.js";
import type { EndpointHealthView } from "../resilience/state.js";
import type { CounterTotals, DashboardData, Denial, EndpointView, HistoryEntry, ServiceView } from "./data-shape.js";

export type { CounterTotals, DashboardData, Denial, EdgeTelemetry, EndpointView, HistoryEntry, RouteTelemetry, ServiceTelemetry, ServiceView } from "./data-shape.js";

/** The dashboard's window over the telemetry objects, as the admin API's default. */
export const DASHBOARD_WINDOW_MS = 5 * 60_000;
/** Config versions listed (newest first), each with its diff. */
export const HISTORY_LIMIT = 10;
/** Diffs kept per isolate: versions never change, so each is computed once. */
const DIFF_CACHE_LIMIT = 128;

/** The admin API's dependencies, which the dashboard reads the same way. */
export interface DashboardDependencies {
  control(env: GatewayEnv): ControlPlaneApi;
  telemetry?(env: GatewayEnv): TelemetryAccess;
  liveHealth?(env: GatewayEnv): LiveHealth | undefined;
  now?: () => number;
}

/** Reads everything the page shows. Diffs of past versions are cached in the returned closure. */
export function dashboardReader(deps: DashboardDependencies): (env: GatewayEnv) => Promise<DashboardData> {
  const diffs = new Map<string, ConfigDiff>();
  const now = deps.now ?? Date.now;

  async function historyWithDiffs(control: ControlPlaneApi): Promise<HistoryEntry[]> {
    const records = parseHistory(await control.history(HISTORY_LIMIT));
    const documents = new Map<number, Promise<unknown[] | null>>();
    const documentsOf = (version: number): Promise<unknown[] | null> => {
      let found = documents.get(version);
      if (!found) documents.set(version, (found = version < 1 ? Promise.resolve([]) : control.getConfig(version).then((config) => config?.documents ?? null)));
      return found;
    };
    return Promise.all(
      records.map(async (record) => {
        // createdAt in the key: a control plane started afresh reuses version numbers.
        const key = `${record.version}@${record.createdAt}`;
        let diff = diffs.get(key) ?? null;
        if (!diff) {
          const [before, after] = await Promise.all([documentsOf(record.version - 1), documentsOf(record.version)]);
          if (before && after) {
            diff = diffDocumentSets(before, after);
            if (diffs.size >= DIFF_CACHE_LIMIT) diffs.delete(diffs.keys().next().value ?? "");
            diffs.set(key, diff);
          }
        }
        return { ...record, diff };
      }),
    );
  }

  async function servicesView(env: GatewayEnv): Promise<ServiceView[]> {
    const registry = await deps.control(env).services();
    const live = deps.liveHealth?.(env);
    return registry.services.map((service) => servicesEntry(env, service, live));
  }

  async function telemetryViews(env: GatewayEnv): Promise<TelemetryView[]> {
    const access = deps.telemetry?.(env);
    if (!access) return [];
    const names = await access.services();
    // Named as asked: a shard that has stored nothing yet may report its service as "".
    return Promise.all(names.map(async (name) => ({ ...(await access.query(name, DASHBOARD_WINDOW_MS)), service: name })));
  }

  return async function readDashboard(env) {
    const control = deps.control(env);
    const [history, services, telemetry, rollouts] = await Promise.allSettled([historyWithDiffs(control), servicesView(env), telemetryViews(env), control.rolloutStatus()]);
    const problems: string[] = [];
    const value = <T>(result: PromiseSettledResult<T>, fallback: T, what: string): T => {
      if (result.status === "fulfilled") return result.value;
      problems.push(`${what} could not be read`);
      console.error(JSON.stringify({ level: "warn", msg: "dashboard read failed", part: what, error: String(result.reason) }));
      return fallback;
    };
    const versions = value(history, [], "config history");
    const views = value(telemetry, [], "telemetry");
    const latest = versions[0];
    return {
      generatedAt: new Date(now()).toISOString(),
      config: { version: latest?.version ?? null, createdAt: latest?.createdAt ?? null, history: versions },
      healthScope: "isolate",
      services: value(services, [], "services"),
      telemetry: summarizeTelemetry(views),
      denials: denialsOf(views),
      rollouts: value(rollouts, [], "rollouts"),
      problems,
    };
  };
}

/** One registry service with what this isolate has seen of it, as GET /.weft/api/v1/services gives it. */
function servicesEntry(env: GatewayEnv, service: RegistryService, live: LiveHealth | undefined): ServiceView {
  return {
    ...service,
    ...(live?.service(service.name) ?? {}),
    subsets: service.subsets.map((subset) => ({
      name: subset.name,
      endpoints: subset.endpoints.map((endpoint): EndpointView => {
        const health: EndpointHealthView | undefined = live?.endpoint(service.name, endpoint.id);
        const reachable = endpoint.binding === undefined || bindingNamed(env, endpoint.binding) !== undefined;
        const { health: state, ...figures } = health ?? { health: undefined };
        return { ...endpoint, status: !reachable ? "missing-binding" : (state ?? "configured"), ...figures };
      }),
    })),
  };
}

/** Services' golden metrics and counters, and the graph's edges that carried traffic. */
export function summarizeTelemetry(views: readonly TelemetryView[]): DashboardData["telemetry"] {
  const denials = new Map(denialsOf(views).map((denial) => [edgeKey(denial.source, denial.destination), denial.count]));
  return {
    windowMs: DASHBOARD_WINDOW_MS,
    services: views.map((view) => ({ service: view.service, golden: view.golden, bySubset: view.bySubset, counters: counterTotals(view.counters) })),
    edges: views
      .flatMap((view) => view.edges)
      .filter((edge) => edge.golden.requests > 0)
      .map((edge) => ({ ...edge, denials: denials.get(edgeKey(edge.source, edge.destination)) ?? 0 })),
    // Requests no rule matched (route "") are the service's, not a route's.
    routes: views.flatMap((view) => view.byRoute.filter((entry) => entry.route !== "" && entry.golden.requests > 0).map((entry) => ({ service: view.service, ...entry }))),
  };
}

const COUNTER_FIELDS: Record<string, keyof CounterTotals> = {
  retries: "retries",
  hedges: "hedges",
  ejections: "ejections",
  rate_limited: "rateLimited",
  authn_failures: "authnFailures",
  authz_denials: "authzDenials",
};

export function counterTotals(counters: readonly CounterView[]): CounterTotals {
  const totals: CounterTotals = { retries: 0, hedges: 0, ejections: 0, rateLimited: 0, authnFailures: 0, authzDenials: 0 };
  for (const counter of counters) {
    const field = COUNTER_FIELDS[counter.name];
    if (field) totals[field] += counter.value;
  }
  return totals;
}

/** Authorization denials per caller → destination, from the `authz_denials` counters. */
export function denialsOf(views: readonly TelemetryView[]): Denial[] {
  const counts = new Map<string, Denial>();
  for (const view of views) {
    for (const counter of view.counters) {
      if (counter.name !== "authz_denials" || counter.value <= 0) continue;
      const source = counter.labels.source ?? "anonymous";
      const destination = counter.labels.destination ?? view.service;
      const key = edgeKey(source, destination);
      const entry = counts.get(key) ?? { source, destination, count: 0 };
      entry.count += counter.value;
      counts.set(key, entry);
    }
  }
  return [...counts.values()].sort((a, b) => b.count - a.count || a.destination.localeCompare(b.destination) || a.source.localeCompare(b.source));
}

function edgeKey(source: string, destination: string): string {
  return JSON.stringify([source, destination]);
}

/** The control plane's history answer (typed `unknown` on the RPC surface), checked entry by entry. */
export function parseHistory(value: unknown): VersionRecord[] {
  if (!Array.isArray(value)) return [];
  return value.filter(isVersionRecord);
}

function isVersionRecord(value: unknown): value is VersionRecord {
  if (typeof value !== "object" || value === null) return false;
  const record = value as Record<string, unknown>;
  return (
    typeof record.version === "number" &&
    typeof record.createdAt === "string" &&
    typeof record.actor === "string" &&
    (record.source === "apply" || record.source === "rollback") &&
    (record.rollbackOf === null || typeof record.rollbackOf === "number") &&
    typeof record.summary === "string"
  );
}
