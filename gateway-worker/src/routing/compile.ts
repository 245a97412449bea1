/**
 * Compiles a validated config set into the indexed Snapshot the hot path reads. Runs once per
 * config version in each isolate; nothing here runs per request.
 */
import { MESH_HOST_SUFFIX } from "@weft/sdk";
import { compileRouteRegex, CONFIG_DEFAULTS, type RegexEngine, type HttpRuleConfig, type RequestMatchConfig, type RetriesConfig, type ServiceDoc, type ValidConfigSet } from "@weft/sdk/config";
import { compilePolicies, type PolicyIdentities } from "../policy/authorize.js";
import { withCumulativeWeights } from "./split.js";
import { compileStringMatch } from "./string-match.js";
import type {
  CompiledFault,
  CompiledRetries,
  CompiledEndpoint,
  CompiledMatch,
  CompiledRule,
  CompiledService,
  EndpointPool,
  HostTable,
  IndexedMatch,
  Snapshot,
} from "./snapshot.js";

/**
 * `regexEngine` compiles the route regexes; the default is RE2 (linear time), the engine the
 * schema validates with. Only the benchmark passes another, to compare.
 */
export function compileSnapshot(set: ValidConfigSet, version: number, regexEngine: RegexEngine = compileRouteRegex): Snapshot {
  const steps = compileSteps(set, version, regexEngine);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/** Rules compiled (or indexed under a host) between two pauses of `compileSnapshotInSlices`: a few ms. */
export const COMPILE_RULES_PER_SLICE = 1000;

/**
 * `compileSnapshot` in slices, awaiting `pause` between them, so requests on the isolate are
 * served while a big version compiles (10,000 rules: 15–45 ms in workerd). Same steps, same
 * Snapshot; nothing of it is visible until it is returned.
 */
export async function compileSnapshotInSlices(set: ValidConfigSet, version: number, pause: () => Promise<void>): Promise<Snapshot> {
  const steps = compileSteps(set, version, compileRouteRegex);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    await pause();
  }
}

function* compileSteps(set: ValidConfigSet, version: number, regexEngine: RegexEngine): Generator<void, Snapshot, void> {
  const services = new Map<string, CompiledService>();
  for (const service of set.services) services.set(service.metadata.name, compileService(service));

  const builders = new Map<string, HostTableBuilder>();
  const wildcardBuilders = new Map<string, HostTableBuilder>();
  let anyHostBuilder: HostTableBuilder | undefined;
  const tableFor = (host: string): HostTableBuilder => {
    if (host === "*") return (anyHostBuilder ??= new HostTableBuilder());
    const bare = stripPort(host);
    if (bare.startsWith("*.")) return getOrCreate(wildcardBuilders, bare.slice(2));
    return getOrCreate(builders, bare);
  };

  let ordinal = 0;
  let ruleCount = 0;
  let work = 0;
  for (const route of set.routes) {
    const rules: CompiledRule[] = [];
    for (let ruleIndex = 0; ruleIndex < route.spec.http.length; ruleIndex++) {
      rules.push(compileRule(route.spec.http[ruleIndex] as HttpRuleConfig, ruleIndex, ordinal++, route.metadata.name, route.spec.public, regexEngine));
      if (++work >= COMPILE_RULES_PER_SLICE) {
        work = 0;
        yield;
      }
    }
    ruleCount += rules.length;
    for (const host of new Set(route.spec.hosts)) {
      const table = tableFor(host);
      for (const rule of rules) {
        table.add(rule);
        if (++work >= COMPILE_RULES_PER_SLICE) {
          work = 0;
          yield;
        }
      }
    }
  }

  // A service reachable as <service>.mesh needs no Route: without one, every endpoint of every
  // subset serves it (Istio's behaviour without a VirtualService).
  for (const service of services.values()) {
    const host = `${service.name}${MESH_HOST_SUFFIX}`;
    if (builders.has(host)) continue;
    const rule: CompiledRule = {
      ordinal: ordinal++,
      routeName: `${host} (default)`,
      ruleIndex: 0,
      ruleName: undefined,
      matches: undefined,
      destinations: withCumulativeWeights([{ service: service.name, subset: undefined, weight: 100 }]),
      services: [service.name],
      rewritePrefix: undefined,
      timeoutMs: undefined,
      retries: undefined,
      mirror: undefined,
      fault: undefined,
      public: false,
    };
    getOrCreate(builders, host).add(rule);
    ruleCount++;
  }

  return {
    version,
    mesh: set.mesh,
    services,
    hosts: mapValues(builders, (b) => b.build()),
    wildcardHosts: mapValues(wildcardBuilders, (b) => b.build()),
    anyHost: anyHostBuilder?.build(),
    policies: compilePolicies(set.policies, policyIdentities(set)),
    ruleCount,
  };
}

function compileService(service: ServiceDoc): CompiledService {
  const name = service.metadata.name;
  const policy = service.spec.trafficPolicy;
  const subsets = new Map<string, EndpointPool>();
  const all: Omit<CompiledEndpoint, "cumulativeWeight">[] = [];
  for (const subset of service.spec.subsets) {
    const endpoints = subset.endpoints.map((endpoint, index): Omit<CompiledEndpoint, "cumulativeWeight"> => ({
      id: `${name}/${subset.name}/${index}`,
      subset: subset.name,
      target: endpoint.binding !== undefined ? { kind: "binding", binding: endpoint.binding } : { kind: "url", baseUrl: (endpoint.url ?? "").replace(/\/+$/, "") },
      hashIdentity: endpoint.binding !== undefined ? `binding:${endpoint.binding}` : `url:${endpoint.url ?? ""}`,
      locality: endpoint.locality,
      weight: endpoint.weight,
    }));
    all.push(...endpoints);
    subsets.set(subset.name, pool(`${name}/${subset.name}`, endpoints));
  }
  return {
    name,
    namespace: service.metadata.namespace,
    subsets,
    allEndpoints: pool(`${name}/*`, all),
    balancer: {
      policy: policy.loadBalancer.policy,
      hashOn: policy.loadBalancer.hashOn,
      localityAware: policy.loadBalancer.localityAware,
      failover: policy.loadBalancer.failover ?? [],
    },
    timeoutMs: policy.timeout,
    retries: compileRetries(policy.retries),
    retryBudget: { ratio: policy.retries.budget.ratio, minPerSecond: policy.retries.budget.minPerSecond, windowMs: policy.retries.budget.window },
    outlierDetection: policy.outlierDetection && {
      consecutive5xx: policy.outlierDetection.consecutive5xx,
      consecutiveGatewayErrors: policy.outlierDetection.consecutiveGatewayErrors,
      baseEjectionMs: policy.outlierDetection.baseEjectionTime,
      maxEjectionMs: policy.outlierDetection.maxEjectionTime,
      maxEjectionPercent: policy.outlierDetection.maxEjectionPercent,
    },
    maxConcurrentRequests: policy.circuitBreaker.maxConcurrentRequests,
    rateLimit: policy.rateLimit && {
      ratePerSecond: policy.rateLimit.requestsPerSecond,
      burst: policy.rateLimit.burst ?? Math.ceil(policy.rateLimit.requestsPerSecond),
      per: policy.rateLimit.per,
      scope: policy.rateLimit.scope,
    },
  };
}

function compileRetries(retries: RetriesConfig): CompiledRetries {
  return {
    attempts: retries.attempts,
    retryOn: new Set(retries.retryOn),
    retryNonIdempotent: retries.retryNonIdempotent,
    backoffBaseMs: retries.backoff.base,
    backoffMaxMs: retries.backoff.max,
    perTryTimeoutMs: retries.perTryTimeout,
    hedgeDelayMs: retries.hedge?.delay,
  };
}

function compileFault(fault: NonNullable<HttpRuleConfig["fault"]>, regexEngine: RegexEngine): CompiledFault {
  return {
    abort: fault.abort && { percent: fault.abort.percent, status: fault.abort.status },
    delay: fault.delay && { percent: fault.delay.percent, ms: fault.delay.fixed },
    headers: Object.entries(fault.headers ?? {}).map(([name, condition]) => [name, compileStringMatch(condition, regexEngine)] as const),
  };
}

function pool(key: string, endpoints: Omit<CompiledEndpoint, "cumulativeWeight">[]): EndpointPool {
  const weighted = withCumulativeWeights(endpoints);
  return { key, endpoints: weighted, totalWeight: weighted.at(-1)?.cumulativeWeight ?? 0 };
}

function compileRule(rule: HttpRuleConfig, ruleIndex: number, ordinal: number, routeName: string, isPublic: boolean, regexEngine: RegexEngine): CompiledRule {
  return {
    ordinal,
    routeName,
    ruleIndex,
    ruleName: rule.name,
    matches: rule.match?.map((match) => compileMatch(match, regexEngine)),
    destinations: withCumulativeWeights(
      rule.destinations.map((d) => ({ service: d.service, subset: d.subset, weight: d.weight ?? 100 })),
    ),
    services: [...new Set(rule.destinations.map((d) => d.service))],
    rewritePrefix: rule.rewrite?.prefix,
    timeoutMs: rule.timeout,
    retries: rule.retries && compileRetries(rule.retries),
    mirror: rule.mirror && { service: rule.mirror.service, subset: rule.mirror.subset, percent: rule.mirror.percent },
    fault: rule.fault && compileFault(rule.fault, regexEngine),
    public: isPublic,
  };
}

function compileMatch(match: RequestMatchConfig, regexEngine: RegexEngine): CompiledMatch {
  let path: CompiledMatch["path"];
  if (match.path && "exact" in match.path) path = { kind: "exact", value: match.path.exact };
  else if (match.path && "prefix" in match.path) path = { kind: "prefix", value: match.path.prefix };
  else if (match.path && "regex" in match.path) path = { kind: "regex", value: match.path.regex, pattern: regexEngine(match.path.regex) };
  return {
    path,
    methods: match.method ? new Set(match.method) : undefined,
    headers: Object.entries(match.headers ?? {}).map(([name, condition]) => [name, compileStringMatch(condition, regexEngine)] as const),
    query: Object.entries(match.query ?? {}).map(([name, condition]) => [name, compileStringMatch(condition, regexEngine)] as const),
  };
}

class HostTableBuilder {
  private readonly exact = new Map<string, IndexedMatch[]>();
  private readonly prefixes = new Map<string, IndexedMatch[]>();
  private readonly unindexed: IndexedMatch[] = [];

  add(rule: CompiledRule): void {
    if (!rule.matches) {
      this.unindexed.push({ rule, match: undefined });
      return;
    }
    for (const match of rule.matches) {
      const entry: IndexedMatch = { rule, match };
      if (match.path?.kind === "exact") getOrCreateList(this.exact, match.path.value).push(entry);
      else if (match.path?.kind === "prefix") getOrCreateList(this.prefixes, match.path.value).push(entry);
      else this.unindexed.push(entry);
    }
  }

  build(): HostTable {
    const lengths = new Set<number>();
    for (const prefix of this.prefixes.keys()) lengths.add(prefix.length);
    return {
      exact: this.exact,
      prefixes: this.prefixes,
      prefixLengths: [...lengths].sort((a, b) => b - a),
      unindexed: this.unindexed,
    };
  }
}

export function stripPort(host: string): string {
  if (host.startsWith("[")) return host; // IPv6 literal: leave as is
  const colon = host.lastIndexOf(":");
  return colon === -1 ? host : host.slice(0, colon);
}

function getOrCreate(map: Map<string, HostTableBuilder>, key: string): HostTableBuilder {
  let value = map.get(key);
  if (!value) map.set(key, (value = new HostTableBuilder()));
  return value;
}

function getOrCreateList<T>(map: Map<string, T[]>, key: string): T[] {
  let list = map.get(key);
  if (!list) map.set(key, (list = []));
  return list;
}

function mapValues<K, V, W>(map: ReadonlyMap<K, V>, fn: (value: V) => W): Map<K, W> {
  const out = new Map<K, W>();
  for (const [key, value] of map) out.set(key, fn(value));
  return out;
}

/** Bare service names in policies resolve to the namespace each Service declares. */
function policyIdentities(set: ValidConfigSet): PolicyIdentities {
  const namespaces = new Map(set.services.map((service) => [service.metadata.name, service.metadata.namespace]));
  return { trustDomain: set.mesh.spec.trustDomain, namespaceOf: (service) => namespaces.get(service) ?? CONFIG_DEFAULTS.namespace };
}
