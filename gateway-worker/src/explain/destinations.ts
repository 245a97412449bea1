/**
 * The split and balance steps of an explanation: every destination of the matched rule with its
 * share (the split stage draws one; explain shows them all), the service it resolves to
 * (resolveDestination), its endpoint pool (poolOf) and what the balancer would pick by: the
 * policy, the request's hash key (hashKeyOf) and each endpoint's reachability (isReachable) and
 * health in this isolate.
 */
import type { HashOnConfig } from "@weft/sdk/config";
import type { Caller } from "../policy/authorize.js";
import { resolveDestination, shareOf } from "../routing/decide-split.js";
import type { CompiledDestination, CompiledEndpoint, CompiledRule, CompiledService, LoadBalancerPolicy, Snapshot } from "../routing/snapshot.js";
import type { EndpointHealthView } from "../resilience/state.js";
import { hashKeyOf, isReachable, poolOf } from "../stages/balance.js";
import type { ExplainedRequest } from "./request.js";
import type { RolloutView } from "../../../wire/src/rollouts.js";

export type EndpointStatus = "healthy" | "ejected" | "probing" | "missing-binding";

export interface EndpointView {
  readonly id: string;
  readonly subset: string;
  readonly target: { readonly kind: "binding"; readonly binding: string } | { readonly kind: "url"; readonly url: string };
  readonly weight: number;
  readonly locality: string | null;
  readonly status: EndpointStatus;
  /** What this isolate has seen of the endpoint (outlier detection, in-flight); null when unknown. */
  readonly health: EndpointHealthView | null;
}

export interface BalancerView {
  readonly policy: LoadBalancerPolicy;
  readonly hashOn: HashOnConfig | null;
  /** The consistent-hash key this request carries (null: none, so the pick is random). */
  readonly hashKey: string | null;
  readonly localityAware: boolean;
  readonly failover: readonly string[];
}

export interface DestinationView {
  readonly service: string;
  /** Null: every endpoint of the service. */
  readonly subset: string | null;
  readonly weight: number;
  /** Share of the rule's traffic, in percent. */
  readonly percent: number;
  /** Whether the service is in the config (a split to a missing one answers 503). */
  readonly known: boolean;
  readonly pool: string | null;
  readonly endpoints: readonly EndpointView[];
  readonly balancer: BalancerView | null;
}

/** What the isolate knows of endpoint health, and which service bindings the gateway has. */
export interface LiveView {
  endpoint(service: string, endpointId: string): EndpointHealthView | undefined;
  /** Whether the gateway has a service binding by that name; absent: assume it does. */
  hasBinding?(binding: string): boolean;
  /** The control plane's rollouts, to say which one set a rule's weights; absent: not asked. */
  readonly rollouts?: readonly RolloutView[];
}

export interface DestinationsStep {
  readonly views: readonly DestinationView[];
  /** The split line, then one line per destination's endpoints. */
  readonly lines: readonly string[];
  readonly notes: readonly string[];
}

export function destinationsStep(snapshot: Snapshot, rule: CompiledRule, request: ExplainedRequest, caller: Caller, live: LiveView | undefined): DestinationsStep {
  const views = rule.destinations.map((destination) => destinationView(snapshot, rule, destination, request, caller, live));
  const lines = [`split: ${views.map((d) => `${destinationLabel(d)} ${d.percent}%`).join(", ")}`];
  for (const destination of views) lines.push(destinationLine(destination));
  const notes: string[] = [];
  for (const destination of views) {
    if (!destination.known) notes.push(`service "${destination.service}" is not in config version ${snapshot.version}: requests split to it are answered 503`);
    else if (destination.endpoints.length > 0 && destination.endpoints.every((e) => e.status === "missing-binding")) {
      notes.push(`${destination.pool ?? destination.service}: the gateway has none of its service bindings, so requests split to it are answered 503`);
    }
  }
  return { views, lines, notes };
}

export function destinationLabel(destination: { service: string; subset: string | null }): string {
  return `${destination.service}/${destination.subset ?? "*"}`;
}

function destinationView(snapshot: Snapshot, rule: CompiledRule, destination: CompiledDestination, request: ExplainedRequest, caller: Caller, live: LiveView | undefined): DestinationView {
  const base = { service: destination.service, subset: destination.subset ?? null, weight: destination.weight, percent: shareOf(rule, destination) };
  const resolved = resolveDestination(snapshot, destination);
  if (resolved.kind === "unknown-service") return { ...base, known: false, pool: null, endpoints: [], balancer: null };
  const service = resolved.service;
  const pool = poolOf(service, destination.subset);
  const hashOn = service.balancer.hashOn;
  return {
    ...base,
    known: true,
    pool: pool?.key ?? null,
    endpoints: (pool?.endpoints ?? []).map((endpoint) => endpointView(service, endpoint, live)),
    balancer: {
      policy: service.balancer.policy,
      hashOn: hashOn ?? null,
      hashKey: service.balancer.policy === "CONSISTENT_HASH" && hashOn ? (hashKeyOf({ headers: request.headers, caller }, hashOn) ?? null) : null,
      localityAware: service.balancer.localityAware,
      failover: service.balancer.failover,
    },
  };
}

function endpointView(service: CompiledService, endpoint: CompiledEndpoint, live: LiveView | undefined): EndpointView {
  const health = live?.endpoint(service.name, endpoint.id);
  const reachable = isReachable(endpoint, (binding) => live?.hasBinding?.(binding) ?? true);
  return {
    id: endpoint.id,
    subset: endpoint.subset,
    target: endpoint.target.kind === "binding" ? { kind: "binding", binding: endpoint.target.binding } : { kind: "url", url: endpoint.target.baseUrl },
    weight: endpoint.weight,
    locality: endpoint.locality ?? null,
    status: reachable ? (health?.health ?? "healthy") : "missing-binding",
    health: health ?? null,
  };
}

function destinationLine(destination: DestinationView): string {
  const label = destinationLabel(destination);
  if (!destination.known) return `endpoints ${label}: service not in config`;
  const endpoints = destination.endpoints.map((e) => `${e.target.kind === "binding" ? e.target.binding : e.target.url} (weight ${e.weight}, locality ${e.locality ?? "-"}, ${e.status})`);
  const balancer = destination.balancer;
  const how = balancer
    ? `${balancer.policy}${balancer.hashOn ? ` on ${JSON.stringify(balancer.hashOn)}${balancer.hashKey === null ? " (no key: random)" : ` key ${JSON.stringify(balancer.hashKey)}`}` : ""}${balancer.localityAware ? ", locality-aware" : ""}${balancer.failover.length > 0 ? `, failover ${balancer.failover.join(" → ")}` : ""}`
    : "";
  return `endpoints ${label}: ${endpoints.length > 0 ? endpoints.join(", ") : "none"}; balancer ${how}`;
}
