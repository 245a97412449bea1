/**
 * The compiled, indexed form of one config version. Built once per version (compile.ts) and
 * then only read on the hot path, so finding a route costs the same with 10 or 10,000 routes:
 * a host map, then per host an exact-path map, a prefix map probed by distinct prefix length,
 * and a short list of rules that cannot be indexed by path (regex or no path condition).
 */
import type { HashOnConfig, LoadBalancerPolicyConfig, MeshDoc, RouteRegex } from "@weft/sdk/config";
export type { HashOnConfig };
import type { ValuePredicate } from "./string-match.js";
import type { Weighted } from "./split.js";
import type { TargetPolicies } from "../policy/authorize.js";

export type EndpointTarget = { kind: "binding"; binding: string } | { kind: "url"; baseUrl: string };

export interface CompiledEndpoint extends Weighted {
  /** Stable id: `<service>/<subset>/<index>`. */
  readonly id: string;
  readonly subset: string;
  readonly target: EndpointTarget;
  /**
   * What consistent hashing hashes for this endpoint: its binding name or URL, so keys stay put
   * when other endpoints are added, removed or reordered (the id's index would shift).
   */
  readonly hashIdentity: string;
  readonly locality: string | undefined;
  readonly weight: number;
}

export interface EndpointPool {
  /** `<service>/<subset>`, or `<service>/*` for every endpoint of the service. */
  readonly key: string;
  readonly endpoints: readonly CompiledEndpoint[];
  readonly totalWeight: number;
}

/** The schema's balancer policies (the schema is the only definition). */
export type LoadBalancerPolicy = LoadBalancerPolicyConfig;

export interface CompiledBalancer {
  readonly policy: LoadBalancerPolicy;
  readonly hashOn: HashOnConfig | undefined;
  readonly localityAware: boolean;
  readonly failover: readonly string[];
}

/** Retry settings with durations in ms and retryOn as a set: what the retry stage reads. */
export interface CompiledRetries {
  readonly attempts: number;
  readonly retryOn: ReadonlySet<string>;
  readonly retryNonIdempotent: boolean;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  readonly perTryTimeoutMs: number | undefined;
  readonly hedgeDelayMs: number | undefined;
}

export interface CompiledRetryBudget {
  readonly ratio: number;
  readonly minPerSecond: number;
  readonly windowMs: number;
}

export interface CompiledOutlierDetection {
  readonly consecutive5xx: number;
  readonly consecutiveGatewayErrors: number | undefined;
  readonly baseEjectionMs: number;
  readonly maxEjectionMs: number;
  readonly maxEjectionPercent: number;
}

export interface CompiledRateLimit {
  readonly ratePerSecond: number;
  readonly burst: number;
  readonly per: "destination" | "source";
  readonly scope: "local" | "global";
}

export interface CompiledService {
  readonly name: string;
  readonly namespace: string;
  readonly subsets: ReadonlyMap<string, EndpointPool>;
  /** Every endpoint of every subset: used when a destination names no subset. */
  readonly allEndpoints: EndpointPool;
  readonly balancer: CompiledBalancer;
  readonly timeoutMs: number | undefined;
  readonly retries: CompiledRetries;
  readonly retryBudget: CompiledRetryBudget;
  /** Undefined: outlier detection is off for this service. */
  readonly outlierDetection: CompiledOutlierDetection | undefined;
  readonly maxConcurrentRequests: number;
  readonly rateLimit: CompiledRateLimit | undefined;
}

export interface CompiledMirror {
  readonly service: string;
  readonly subset: string | undefined;
  readonly percent: number;
}

export interface CompiledFault {
  readonly abort: { readonly percent: number; readonly status: number } | undefined;
  readonly delay: { readonly percent: number; readonly ms: number } | undefined;
  /** Header conditions that must all hold for a fault to be injected. */
  readonly headers: readonly (readonly [name: string, test: ValuePredicate])[];
}

export interface CompiledDestination extends Weighted {
  readonly service: string;
  readonly subset: string | undefined;
  readonly weight: number;
}

export type CompiledPathMatch =
  | { readonly kind: "exact"; readonly value: string }
  | { readonly kind: "prefix"; readonly value: string }
  /** `pattern` is the RE2 whole-value matcher that both findRoute and explain test with. */
  | { readonly kind: "regex"; readonly value: string; readonly pattern: RouteRegex };

export interface CompiledMatch {
  readonly path: CompiledPathMatch | undefined;
  readonly methods: ReadonlySet<string> | undefined;
  readonly headers: readonly (readonly [name: string, test: ValuePredicate])[];
  readonly query: readonly (readonly [name: string, test: ValuePredicate])[];
}

export interface CompiledRule {
  /** Position in the whole set (documents in order, rules in order): lower wins. */
  readonly ordinal: number;
  /** Route document name, or `<service>.mesh (default)` for the implicit mesh route. */
  readonly routeName: string;
  readonly ruleIndex: number;
  readonly ruleName: string | undefined;
  /** Undefined: the rule matches every request. */
  readonly matches: readonly CompiledMatch[] | undefined;
  readonly destinations: readonly CompiledDestination[];
  /** The distinct services of `destinations`, in their order: what authorization checks, once each. */
  readonly services: readonly string[];
  readonly rewritePrefix: string | undefined;
  readonly timeoutMs: number | undefined;
  /** Replaces the service's retries when set. */
  readonly retries: CompiledRetries | undefined;
  readonly mirror: CompiledMirror | undefined;
  readonly fault: CompiledFault | undefined;
  readonly public: boolean;
}

/** A (rule, match entry) pair that the path index points at. */
export interface IndexedMatch {
  readonly rule: CompiledRule;
  /** Undefined when the rule has no match entries (matches everything). */
  readonly match: CompiledMatch | undefined;
}

export interface HostTable {
  readonly exact: ReadonlyMap<string, readonly IndexedMatch[]>;
  readonly prefixes: ReadonlyMap<string, readonly IndexedMatch[]>;
  /** Distinct prefix lengths, longest first; bounded by the longest prefix, not by the rule count. */
  readonly prefixLengths: readonly number[];
  /** Entries the path cannot index: regex paths and entries without a path condition. */
  readonly unindexed: readonly IndexedMatch[];
}

export interface Snapshot {
  readonly version: number;
  readonly mesh: MeshDoc;
  readonly services: ReadonlyMap<string, CompiledService>;
  /** Exact host → table (hosts lowercase, without port). */
  readonly hosts: ReadonlyMap<string, HostTable>;
  /** `*.example.com` wildcards, keyed by the suffix `example.com`. */
  readonly wildcardHosts: ReadonlyMap<string, HostTable>;
  /** The `*` table: ingress traffic for any host that is not a mesh host. */
  readonly anyHost: HostTable | undefined;
  /** Authorization policies by target service, compiled for the authorization stage. */
  readonly policies: ReadonlyMap<string, TargetPolicies>;
  /** Number of rules compiled (for status and benchmarks). */
  readonly ruleCount: number;
}
