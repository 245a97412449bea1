/**
 * The decision trace behind `POST /.weft/api/v1/explain` (README, Admin API): what the gateway would do
 * with one request against the snapshot it serves, step by step in the order of the pipeline
 * (sanitize ▸ normalize ▸ authenticate ▸ route ▸ authorize ▸ fault ▸ split ▸ balance, plus the
 * settings the attempts run under). Every decision comes from the gateway's own pure modules:
 * findRoute and its compiled matches (routing/explain-route.ts), rewritePath, authorize, the
 * compiled split and pools, and the isolate's health view; this module only assembles their
 * answers into data, and a few lines of text for the CLI. Pure: no I/O, no clock, no randomness.
 */
import { QUERY_TOKEN_PARAMETERS } from "../stages/authenticate.js";
import { formatSpiffeId, HTTP_TOKEN, isRecord, isServiceName, MeshError, parseSpiffeId, type MeshErrorCode } from "@weft/sdk";
import { CONFIG_DEFAULTS, formatDuration, type HashOnConfig } from "@weft/sdk/config";
import { ANONYMOUS, authorize, type AuthorizationDecision, type Caller, type IdentityMode } from "../policy/authorize.js";
import { explainRoute, type ConditionMiss, type HostTableKind, type RouteExplanation, type RuleTrace } from "../routing/explain-route.js";
import { normalizeHost, rewritePath, type HostKind, type RequestFacts, type RouteMatch } from "../routing/lookup.js";
import { normalizePath } from "../routing/normalize-path.js";
import type {
  CompiledDestination,
  CompiledEndpoint,
  CompiledFault,
  CompiledOutlierDetection,
  CompiledRetryBudget,
  CompiledRule,
  CompiledService,
  LoadBalancerPolicy,
  Snapshot,
} from "../routing/snapshot.js";
import { isIdempotentMethod } from "../resilience/retry-policy.js";
import type { EndpointHealthView } from "../resilience/state.js";
import { cookieValue, poolOf } from "../stages/balance.js";
import { sanitizeRequestHeaders } from "../stages/sanitize.js";

// ------------------------------------------------------------------------------------------ input

/** The explain API's body, validated. */
export interface ExplainInput {
  /** A service name, a SPIFFE ID, or undefined / "anonymous". */
  readonly from: string | undefined;
  readonly method: string;
  readonly url: URL;
  readonly headers: Headers;
}

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

const BODY_FIELDS: ReadonlySet<string> = new Set(["from", "method", "url", "headers"]);
const BODY_SHAPE = '{"from"?: "<service>", "method": "GET", "url": "http://<service>.mesh/<path>", "headers"?: {"name": "value"}}';

const fail = (message: string): { ok: false; message: string } => ({ ok: false, message });

/** Parses and validates the explain API's JSON body; the message says what to fix. */
export function parseExplainBody(text: string): Parsed<ExplainInput> {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return fail(`the body must be JSON: ${BODY_SHAPE}`);
  }
  if (!isRecord(body)) return fail(`the body must be a JSON object: ${BODY_SHAPE}`);
  const unknown = Object.keys(body).filter((key) => !BODY_FIELDS.has(key));
  if (unknown.length > 0) return fail(`unknown field${unknown.length === 1 ? "" : "s"} ${unknown.map((k) => `"${k}"`).join(", ")}; expected from, method, url, headers`);

  const { from, method, url, headers } = body;
  if (from !== undefined && (typeof from !== "string" || from === "")) return fail('"from" must be a service name, a SPIFFE ID or "anonymous"');
  if (typeof method !== "string" || method.length > 32 || !HTTP_TOKEN.test(method)) return fail('"method" must be an HTTP method, such as "GET"');
  if (typeof url !== "string" || url === "") return fail('"url" must be an absolute http(s) URL, such as "http://orders.mesh/orders/1"');
  let parsedUrl: URL;
  try {
    parsedUrl = new URL(url);
  } catch {
    return fail(`"url" must be an absolute http(s) URL, such as "http://orders.mesh/orders/1"; got "${url.slice(0, 200)}"`);
  }
  if (parsedUrl.protocol !== "http:" && parsedUrl.protocol !== "https:") return fail(`"url" must use http or https, not ${parsedUrl.protocol.slice(0, -1)}`);
  if (parsedUrl.hostname === "") return fail('"url" must name a host');

  const parsedHeaders = new Headers();
  if (headers !== undefined) {
    if (!isRecord(headers)) return fail('"headers" must be an object of header names to string values');
    for (const [name, value] of Object.entries(headers)) {
      if (typeof value !== "string") return fail(`"headers.${name}" must be a string`);
      if (!HTTP_TOKEN.test(name)) return fail(`"headers": "${name.slice(0, 100)}" is not a valid header name`);
      try {
        parsedHeaders.append(name, value);
      } catch {
        return fail(`"headers.${name}" is not a valid header value`);
      }
    }
  }
  return { ok: true, value: { from, method, url: parsedUrl, headers: parsedHeaders } };
}

/**
 * The caller the explanation assumes: anonymous, or the service that presents a valid SVID
 * (`spiffe://<trustDomain>/ns/<namespace>/sa/<service>`, the namespace the Service declares, else
 * the default). A SPIFFE ID must be in the mesh's trust domain, as the authenticate stage requires.
 */
export function callerFrom(snapshot: Snapshot, from: string | undefined): Parsed<Caller> {
  if (from === undefined || from === "anonymous") return { ok: true, value: ANONYMOUS };
  const trustDomain = snapshot.mesh.spec.trustDomain;
  const spiffe = parseSpiffeId(from);
  if (spiffe) {
    if (spiffe.trustDomain !== trustDomain) return fail(`"from": ${from} is not in this mesh's trust domain "${trustDomain}"; the gateway would refuse its token (401)`);
    return { ok: true, value: { authenticated: true, service: spiffe.service, spiffeId: from } };
  }
  if (!isServiceName(from)) return fail('"from" must be a service name (lowercase letters, digits and -), a SPIFFE ID, or "anonymous"');
  const namespace = snapshot.services.get(from)?.namespace ?? CONFIG_DEFAULTS.namespace;
  return { ok: true, value: { authenticated: true, service: from, spiffeId: formatSpiffeId({ trustDomain, namespace, service: from }) } };
}

/** What the gateway knows about a request once sanitize and normalize have run. */
export interface ExplainedRequest extends RequestFacts {
  /** The query string as sent (`?a=1`, or empty). */
  readonly search: string;
}

/** A refusal before routing: the request never reaches a route. */
export interface Refusal {
  readonly stage: "sanitize" | "normalize" | "authenticate";
  readonly code: MeshErrorCode;
  readonly status: number;
  readonly message: string;
}

export interface PreparedRequest {
  readonly request: ExplainedRequest;
  readonly refusal: Refusal | undefined;
  /** Header names the sanitize stage drops before anything matches on headers. */
  readonly droppedHeaders: readonly string[];
}

/**
 * Builds the request facts as the gateway does: host by normalizeHost, headers through the
 * sanitize stage's cleaning (client `x-weft-*`, Authorization and hop-by-hop headers dropped), the
 * path through normalizePath, and the authenticate stage's refusal of tokens in the URL.
 */
export function prepareRequest(input: ExplainInput): PreparedRequest {
  const headers = new Headers(input.headers);
  const before = new Set<string>();
  headers.forEach((_value, name) => before.add(name.toLowerCase()));
  let refusal: Refusal | undefined;
  try {
    sanitizeRequestHeaders(headers);
  } catch (error) {
    if (!(error instanceof MeshError)) throw error;
    refusal = { stage: "sanitize", code: error.code, status: error.status, message: error.message };
  }
  const droppedHeaders = [...before].filter((name) => !headers.has(name));
  const normalized = normalizePath(input.url.pathname);
  if (!refusal && !normalized.ok) refusal = { stage: "normalize", code: "bad_request", status: 400, message: `refused path: ${normalized.reason}` };
  if (!refusal && QUERY_TOKEN_PARAMETERS.some((name) => input.url.searchParams.has(name))) {
    refusal = { stage: "authenticate", code: "unauthenticated", status: 401, message: "tokens are accepted only in the Authorization header, never in the URL" };
  }
  return {
    request: {
      host: normalizeHost(input.url.host),
      path: normalized.ok ? normalized.path : input.url.pathname,
      method: input.method.toUpperCase(),
      headers,
      query: input.url.searchParams,
      search: input.url.search,
    },
    refusal,
    droppedHeaders,
  };
}

// ----------------------------------------------------------------------------------------- output

/** Where the explained request ends up. `forward`: it is sent to a destination, whose answer decides the status. */
export type Verdict = "forward" | "refused" | "no_route" | "unauthenticated" | "forbidden" | "fault";

export interface Explanation {
  readonly configVersion: number;
  readonly request: {
    readonly method: string;
    readonly host: string;
    /** The normalized path (what routing and policy match). */
    readonly path: string;
    readonly query: string;
    readonly caller: CallerView;
  };
  readonly outcome: {
    readonly verdict: Verdict;
    /** The mesh's own answer, when the mesh answers; null when the destination does. */
    readonly status: number | null;
    readonly code: MeshErrorCode | null;
    readonly message: string;
  };
  /** Null when the request is refused before routing. */
  readonly route: RouteView | null;
  /** Null when no rule matched (or before routing). */
  readonly authorization: AuthorizationView | null;
  /** The rule's weighted destinations, with their pools; empty when no rule matched. */
  readonly destinations: readonly DestinationView[];
  readonly settings: SettingsView | null;
  /** What the trace assumes or leaves out (dropped headers, unknown caller, random draws). */
  readonly notes: readonly string[];
  /** One line per step, for people (`weft explain`). */
  readonly summary: readonly string[];
}

export type CallerView = { readonly kind: "anonymous" } | { readonly kind: "service"; readonly service: string; readonly spiffeId: string };

export interface RuleRef {
  /** Route document name, or `<service>.mesh (default)` for a service's implicit mesh route. */
  readonly route: string;
  readonly ruleIndex: number;
  readonly ruleName: string | null;
}

export interface RuleTraceView extends RuleRef {
  readonly matched: boolean;
  /** Why the rule did not match: every failed condition, per alternative match entry. */
  readonly reasons: readonly string[];
  readonly entries: readonly { readonly index: number; readonly matched: boolean; readonly misses: readonly ConditionMiss[] }[];
}

export interface RouteView {
  readonly hostKind: HostKind;
  /** The host table used; null when none serves the host. */
  readonly table: { readonly kind: HostTableKind; readonly host: string } | null;
  readonly found: boolean;
  /** Why nothing matched, when nothing did. */
  readonly reason: "no_host" | "no_rule" | null;
  /** Rules in the order tried, up to and including the one that matched. */
  readonly tried: readonly RuleTraceView[];
  /** Rules after the match, never evaluated (first match wins). */
  readonly notEvaluated: number;
  readonly matched: MatchedRuleView | null;
}

export interface MatchedRuleView extends RuleRef {
  /** The match entry that matched; null for a rule without conditions. */
  readonly matchIndex: number | null;
  readonly public: boolean;
  readonly rewrite: { readonly prefix: string } | null;
  /** The path the destination receives (after the rewrite). */
  readonly upstreamPath: string;
}

export type IdentityCheck = "authenticated" | "anonymous-permissive" | "anonymous-public-route" | "anonymous-refused-strict";

export interface AuthorizationView {
  readonly mode: IdentityMode;
  readonly caller: CallerView;
  readonly publicRoute: boolean;
  /** STRICT mode refuses anonymous callers before reading any policy, except on public routes. */
  readonly identityCheck: IdentityCheck;
  /** The path policies match: the one the destination receives. */
  readonly path: string;
  /** One per destination service (empty when the identity check refused the call). */
  readonly decisions: readonly AuthorizationDecisionView[];
  readonly allowed: boolean;
  readonly note: string | null;
}

export interface AuthorizationDecisionView {
  readonly service: string;
  readonly allowed: boolean;
  readonly reason: AuthorizationDecision["reason"];
  /** The deciding policy (allowed-by-policy, denied-by-policy); null otherwise. */
  readonly policy: string | null;
  /** ALLOW policies that target the service (for no-allow-match: the ones that did not match). */
  readonly allowPolicies: readonly string[];
  readonly audited: readonly string[];
  readonly explanation: string;
}

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

export interface ServiceSettingsView {
  readonly service: string;
  readonly timeout: { readonly ms: number; readonly source: "rule" | "service" | "default" };
  readonly retries: {
    readonly source: "rule" | "service";
    /** Attempts in total, the first included. */
    readonly attempts: number;
    readonly retryOn: readonly string[];
    readonly retryNonIdempotent: boolean;
    /** Whether this request's method may be retried at all. */
    readonly appliesToMethod: boolean;
    readonly perTryTimeoutMs: number | null;
    readonly hedgeDelayMs: number | null;
    readonly backoff: { readonly baseMs: number; readonly maxMs: number };
    /** The service's retry budget (always the service's: budgets protect the destination). */
    readonly budget: CompiledRetryBudget;
  };
  readonly outlierDetection: (Omit<CompiledOutlierDetection, "consecutiveGatewayErrors"> & { readonly consecutiveGatewayErrors: number | null }) | null;
  readonly circuitBreaker: { readonly maxConcurrentRequests: number };
  readonly rateLimit: {
    readonly requestsPerSecond: number;
    readonly burst: number;
    readonly per: "destination" | "source";
    readonly scope: "local" | "global";
    /** The bucket this request draws from. */
    readonly key: string;
  } | null;
}

export interface SettingsView {
  readonly fault: {
    readonly abort: { readonly percent: number; readonly status: number } | null;
    readonly delay: { readonly percent: number; readonly ms: number } | null;
    /** Whether this request meets the fault's header conditions (faults only hit those that do). */
    readonly applies: boolean;
  } | null;
  readonly mirror: { readonly service: string; readonly subset: string | null; readonly percent: number } | null;
  /** One entry per distinct destination service of the rule. */
  readonly services: readonly ServiceSettingsView[];
}

/** What the isolate knows of endpoint health, and which service bindings the gateway has. */
export interface LiveView {
  endpoint(service: string, endpointId: string): EndpointHealthView | undefined;
  /** Whether the gateway has a service binding by that name; absent: assume it does. */
  hasBinding?(binding: string): boolean;
}

// --------------------------------------------------------------------------------------- assembly

/**
 * The decision trace for one prepared request from `caller`, against `snapshot`, with this
 * isolate's health view. Nothing is sent anywhere.
 */
export function explainRequest(snapshot: Snapshot, prepared: PreparedRequest, caller: Caller, live: LiveView | undefined): Explanation {
  const { request, refusal } = prepared;
  const callerView: CallerView = caller.authenticated ? { kind: "service", service: caller.service, spiffeId: caller.spiffeId } : { kind: "anonymous" };
  const notes: string[] = [];
  const summary: string[] = [];
  if (prepared.droppedHeaders.length > 0) {
    notes.push(`dropped by the gateway before routing: ${prepared.droppedHeaders.join(", ")} (the caller's identity comes from "from", not from an Authorization header)`);
  }
  if (caller.authenticated) {
    notes.push(`assumes ${caller.service} presents a valid SVID (${caller.spiffeId})`);
    if (!snapshot.services.has(caller.service)) notes.push(`${caller.service} is not a Service in config version ${snapshot.version}`);
  }
  const base = {
    configVersion: snapshot.version,
    request: { method: request.method, host: request.host, path: request.path, query: request.search, caller: callerView },
  };
  summary.push(`request: ${request.method} ${request.host}${request.path}${request.search} as ${callerLabel(caller)} (config version ${snapshot.version})`);

  if (refusal) {
    summary.push(`refused by the ${refusal.stage} stage before routing: ${refusal.status} ${refusal.code}: ${refusal.message}`);
    return {
      ...base,
      outcome: { verdict: "refused", status: refusal.status, code: refusal.code, message: refusal.message },
      route: null,
      authorization: null,
      destinations: [],
      settings: null,
      notes,
      summary,
    };
  }

  const traced = explainRoute(snapshot, request);
  summary.push(hostLine(traced, request.host));
  const tried = traced.tried.map(ruleTraceView);
  for (const trace of tried) if (!trace.matched) summary.push(`rule ${ruleLabel(trace)}: no match: ${trace.reasons.join("; ")}`);
  const lookup = traced.lookup;

  if (!lookup.found) {
    const message = noRouteMessage(lookup.reason, lookup.hostKind, request);
    summary.push(`outcome: 404 no_route: ${message}`);
    return {
      ...base,
      outcome: { verdict: "no_route", status: 404, code: "no_route", message },
      route: { hostKind: traced.hostKind, table: tableView(traced), found: false, reason: lookup.reason, tried, notEvaluated: 0, matched: null },
      authorization: null,
      destinations: [],
      settings: null,
      notes,
      summary,
    };
  }

  const matchedRoute = lookup.route;
  const rule = matchedRoute.rule;
  const upstreamPath = rewritePath(matchedRoute, request.path);
  const matched = matchedView(matchedRoute, upstreamPath);
  summary.push(matchedLine(matched, matchedRoute));
  const walked = traced.tried.at(-1);
  if (!walked?.matched || walked.rule !== rule) notes.push("the rule-by-rule trace disagrees with the route lookup; the lookup's rule is the one the gateway uses");

  const authorization = authorizationView(snapshot, rule, caller, request.method, upstreamPath);
  summary.push(authorizationLine(authorization));

  const destinations = rule.destinations.map((destination) => destinationView(snapshot, rule, destination, request, caller, live));
  summary.push(`split: ${destinations.map((d) => `${destinationLabel(d)} ${d.percent}%`).join(", ")}`);
  for (const destination of destinations) summary.push(destinationLine(destination));
  for (const destination of destinations) {
    if (!destination.known) notes.push(`service "${destination.service}" is not in config version ${snapshot.version}: requests split to it are answered 503`);
    else if (destination.endpoints.length > 0 && destination.endpoints.every((e) => e.status === "missing-binding")) {
      notes.push(`${destination.pool ?? destination.service}: the gateway has none of its service bindings, so requests split to it are answered 503`);
    }
  }

  const settings = settingsView(snapshot, rule, request, caller);
  for (const line of settingsLines(settings)) summary.push(line);
  if (rule.mirror) notes.push(`mirroring is a random draw per request (${rule.mirror.percent}%)`);

  const outcome = outcomeOf(authorization, settings, destinations, matchedRoute);
  if (outcome.verdict === "forward" && destinations.length > 1) notes.push("which destination a request reaches is a random draw by the split's weights");
  summary.push(`outcome: ${outcome.status === null ? "" : `${outcome.status} ${outcome.code ?? ""}: `}${outcome.message}`);
  return {
    ...base,
    outcome,
    route: { hostKind: traced.hostKind, table: tableView(traced), found: true, reason: null, tried, notEvaluated: traced.notEvaluated, matched },
    authorization,
    destinations,
    settings,
    notes,
    summary,
  };
}

/** The whole explain step from a validated body: the caller, the facts, the trace. */
export function explain(snapshot: Snapshot, input: ExplainInput, live: LiveView | undefined): Parsed<Explanation> {
  const caller = callerFrom(snapshot, input.from);
  if (!caller.ok) return caller;
  return { ok: true, value: explainRequest(snapshot, prepareRequest(input), caller.value, live) };
}

// ---------------------------------------------------------------------------------------- route

function ruleRef(rule: CompiledRule): RuleRef {
  return { route: rule.routeName, ruleIndex: rule.ruleIndex, ruleName: rule.ruleName ?? null };
}

function ruleLabel(rule: RuleRef): string {
  return `${rule.route}[${rule.ruleIndex}]${rule.ruleName === null ? "" : ` "${rule.ruleName}"`}`;
}

function ruleTraceView(trace: RuleTrace): RuleTraceView {
  const several = trace.entries.length > 1;
  const reasons = trace.matched
    ? []
    : trace.entries.map((entry) => `${several ? `match[${entry.index}]: ` : ""}${entry.misses.map(describeMiss).join(", ")}`);
  return { ...ruleRef(trace.rule), matched: trace.matched, reasons, entries: trace.entries.map((e) => ({ index: e.index, matched: e.matched, misses: e.misses })) };
}

export function describeMiss(miss: ConditionMiss): string {
  switch (miss.condition) {
    case "path":
      if (miss.kind === "exact") return `path ${miss.actual} is not ${miss.expected}`;
      if (miss.kind === "prefix") return `path ${miss.actual} does not start with ${miss.expected}`;
      return `path ${miss.actual} does not match the regex ${miss.expected}`;
    case "method":
      return `method ${miss.actual} not in [${miss.allowed.join(", ")}]`;
    case "header":
      return miss.actual === null ? `header ${miss.name} missing` : `header ${miss.name} value ${JSON.stringify(miss.actual)} does not match`;
    case "query":
      return miss.actual === null ? `query parameter ${miss.name} missing` : `query parameter ${miss.name} value ${JSON.stringify(miss.actual)} does not match`;
  }
}

function tableView(traced: RouteExplanation): RouteView["table"] {
  return traced.table ? { kind: traced.table.kind, host: traced.table.pattern } : null;
}

function hostLine(traced: RouteExplanation, host: string): string {
  const kind = traced.hostKind === "mesh" ? "a mesh host" : "an ingress host";
  if (!traced.table) return `host: ${host} is ${kind}; no route serves it`;
  const which = traced.table.kind === "exact" ? "its own host table" : traced.table.kind === "wildcard" ? `the wildcard table ${traced.table.pattern}` : "the * (any host) table";
  return `host: ${host} is ${kind}, served by ${which}`;
}

/** The route stage's own wording for a 404. */
function noRouteMessage(reason: "no_host" | "no_rule", hostKind: HostKind, request: ExplainedRequest): string {
  if (reason === "no_rule") return `no route rule matches ${request.method} ${request.path} on "${request.host}"`;
  return hostKind === "mesh" ? `no service named "${request.host.slice(0, -".mesh".length)}" in the mesh` : `no route serves host "${request.host}"`;
}

function matchedView(route: RouteMatch, upstreamPath: string): MatchedRuleView {
  const rule = route.rule;
  const matchIndex = route.match === undefined ? -1 : (rule.matches?.indexOf(route.match) ?? -1);
  return {
    ...ruleRef(rule),
    matchIndex: matchIndex === -1 ? null : matchIndex,
    public: rule.public,
    rewrite: rule.rewritePrefix === undefined ? null : { prefix: rule.rewritePrefix },
    upstreamPath,
  };
}

function matchedLine(matched: MatchedRuleView, route: RouteMatch): string {
  const how = route.match === undefined ? "no conditions" : `match[${matched.matchIndex ?? 0}]`;
  const rewrite = matched.rewrite ? `, rewrite prefix → ${matched.rewrite.prefix}` : "";
  return `rule ${ruleLabel(matched)}: matched (${how})${rewrite}; upstream path ${matched.upstreamPath}`;
}

// -------------------------------------------------------------------------------- authorization

function callerLabel(caller: Caller): string {
  return caller.authenticated ? `${caller.service} (${caller.spiffeId})` : "anonymous";
}

/** The authorize stage's checks, in its order, with each destination service's decision. */
function authorizationView(snapshot: Snapshot, rule: CompiledRule, caller: Caller, method: string, path: string): AuthorizationView {
  const mode = snapshot.mesh.spec.identity.mode;
  const callerView: CallerView = caller.authenticated ? { kind: "service", service: caller.service, spiffeId: caller.spiffeId } : { kind: "anonymous" };
  const identityCheck: IdentityCheck = caller.authenticated ? "authenticated" : mode === "PERMISSIVE" ? "anonymous-permissive" : rule.public ? "anonymous-public-route" : "anonymous-refused-strict";
  const note = rule.public
    ? `route ${rule.routeName} is public: anonymous callers pass the identity check even in STRICT mode (policies still apply)`
    : null;
  if (identityCheck === "anonymous-refused-strict") {
    return { mode, caller: callerView, publicRoute: rule.public, identityCheck, path, decisions: [], allowed: false, note };
  }
  const seen = new Set<string>();
  const decisions: AuthorizationDecisionView[] = [];
  for (const destination of rule.destinations) {
    if (seen.has(destination.service)) continue;
    seen.add(destination.service);
    const policies = snapshot.policies.get(destination.service);
    const decision = authorize({ policies, mode, caller, method, path });
    const allowPolicies = policies?.allow.map((policy) => policy.name) ?? [];
    decisions.push({
      service: destination.service,
      allowed: decision.allowed,
      reason: decision.reason,
      policy: "policy" in decision ? decision.policy : null,
      allowPolicies,
      audited: decision.audited,
      explanation: decisionText(decision, destination.service, mode, allowPolicies),
    });
  }
  return { mode, caller: callerView, publicRoute: rule.public, identityCheck, path, decisions, allowed: decisions.every((d) => d.allowed), note };
}

function decisionText(decision: AuthorizationDecision, service: string, mode: IdentityMode, allowPolicies: readonly string[]): string {
  switch (decision.reason) {
    case "allowed-by-policy":
      return `allowed by AuthorizationPolicy "${decision.policy}"`;
    case "no-allow-policy-permissive":
      return `allowed: no ALLOW policy targets ${service} and the mesh is ${mode}`;
    case "denied-by-policy":
      return `denied by AuthorizationPolicy "${decision.policy}" (DENY)`;
    case "no-allow-policy-strict":
      return `denied: no ALLOW policy targets ${service} (STRICT mode)`;
    case "no-allow-match":
      return `denied: none of the ALLOW policies for ${service} matches (${allowPolicies.map((name) => `"${name}"`).join(", ")})`;
  }
}

function authorizationLine(view: AuthorizationView): string {
  const who = view.caller.kind === "anonymous" ? "anonymous" : view.caller.service;
  const head = `authorization: ${view.mode} mode, caller ${who}${view.publicRoute ? ", public route" : ""}`;
  if (view.identityCheck === "anonymous-refused-strict") return `${head}: refused: STRICT mode needs a service identity on a non-public route`;
  return `${head}; ${view.decisions.map((d) => `${d.service}: ${d.explanation}`).join("; ")}`;
}

// --------------------------------------------------------------------------------- destinations

function destinationLabel(destination: { service: string; subset: string | null }): string {
  return `${destination.service}/${destination.subset ?? "*"}`;
}

function destinationView(snapshot: Snapshot, rule: CompiledRule, destination: CompiledDestination, request: ExplainedRequest, caller: Caller, live: LiveView | undefined): DestinationView {
  const total = rule.destinations.at(-1)?.cumulativeWeight ?? 0;
  const percent = total > 0 ? Math.round((destination.weight / total) * 10_000) / 100 : 0;
  const service = snapshot.services.get(destination.service);
  const pool = service && poolOf(service, destination.subset);
  const base = { service: destination.service, subset: destination.subset ?? null, weight: destination.weight, percent };
  if (!service) return { ...base, known: false, pool: null, endpoints: [], balancer: null };
  return {
    ...base,
    known: true,
    pool: pool?.key ?? null,
    endpoints: (pool?.endpoints ?? []).map((endpoint) => endpointView(service, endpoint, live)),
    balancer: {
      policy: service.balancer.policy,
      hashOn: service.balancer.hashOn ?? null,
      hashKey: service.balancer.policy === "CONSISTENT_HASH" && service.balancer.hashOn ? (hashKeyOf(request, caller, service.balancer.hashOn) ?? null) : null,
      localityAware: service.balancer.localityAware,
      failover: service.balancer.failover,
    },
  };
}

/** The balance stage's hash key (stages/balance.ts hashKeyOf), from the explained request. */
function hashKeyOf(request: ExplainedRequest, caller: Caller, hashOn: HashOnConfig): string | undefined {
  if ("header" in hashOn) return request.headers.get(hashOn.header) ?? undefined;
  if ("cookie" in hashOn) return cookieValue(request.headers.get("cookie"), hashOn.cookie);
  return caller.authenticated ? caller.spiffeId : undefined;
}

function endpointView(service: CompiledService, endpoint: CompiledEndpoint, live: LiveView | undefined): EndpointView {
  const health = live?.endpoint(service.name, endpoint.id);
  const reachable = endpoint.target.kind !== "binding" || live?.hasBinding === undefined || live.hasBinding(endpoint.target.binding);
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

// ------------------------------------------------------------------------------------- settings

function settingsView(snapshot: Snapshot, rule: CompiledRule, request: ExplainedRequest, caller: Caller): SettingsView {
  const services: ServiceSettingsView[] = [];
  const seen = new Set<string>();
  for (const destination of rule.destinations) {
    const service = snapshot.services.get(destination.service);
    if (!service || seen.has(service.name)) continue;
    seen.add(service.name);
    services.push(serviceSettings(rule, service, request.method, caller));
  }
  return {
    fault: rule.fault ? faultView(rule.fault, request) : null,
    mirror: rule.mirror ? { service: rule.mirror.service, subset: rule.mirror.subset ?? null, percent: rule.mirror.percent } : null,
    services,
  };
}

function faultView(fault: CompiledFault, request: ExplainedRequest): NonNullable<SettingsView["fault"]> {
  return {
    abort: fault.abort ? { percent: fault.abort.percent, status: fault.abort.status } : null,
    delay: fault.delay ? { percent: fault.delay.percent, ms: fault.delay.ms } : null,
    // The fault stage's own test: every header condition must hold.
    applies: fault.headers.every(([name, test]) => test(request.headers.get(name))),
  };
}

/** Effective settings as the attempts read them: the rule's timeout and retries replace the service's. */
function serviceSettings(rule: CompiledRule, service: CompiledService, method: string, caller: Caller): ServiceSettingsView {
  const timeout =
    rule.timeoutMs !== undefined
      ? { ms: rule.timeoutMs, source: "rule" as const }
      : service.timeoutMs !== undefined
        ? { ms: service.timeoutMs, source: "service" as const }
        : { ms: CONFIG_DEFAULTS.timeoutMs, source: "default" as const };
  const retries = rule.retries ?? service.retries;
  const limit = service.rateLimit;
  const source = caller.authenticated ? caller.spiffeId : "anonymous";
  return {
    service: service.name,
    timeout,
    retries: {
      source: rule.retries ? "rule" : "service",
      attempts: retries.attempts,
      retryOn: [...retries.retryOn],
      retryNonIdempotent: retries.retryNonIdempotent,
      appliesToMethod: retries.retryNonIdempotent || isIdempotentMethod(method),
      perTryTimeoutMs: retries.perTryTimeoutMs ?? null,
      hedgeDelayMs: retries.hedgeDelayMs ?? null,
      backoff: { baseMs: retries.backoffBaseMs, maxMs: retries.backoffMaxMs },
      budget: service.retryBudget,
    },
    outlierDetection: service.outlierDetection ? { ...service.outlierDetection, consecutiveGatewayErrors: service.outlierDetection.consecutiveGatewayErrors ?? null } : null,
    circuitBreaker: { maxConcurrentRequests: service.maxConcurrentRequests },
    rateLimit: limit
      ? {
          requestsPerSecond: limit.ratePerSecond,
          burst: limit.burst,
          per: limit.per,
          scope: limit.scope,
          // The rate-limit stage's key.
          key: limit.per === "source" ? `${source}->${service.name}` : service.name,
        }
      : null,
  };
}

function settingsLines(settings: SettingsView): string[] {
  const lines: string[] = [];
  for (const s of settings.services) {
    const r = s.retries;
    const retries =
      r.attempts <= 1
        ? "no retries"
        : `retries ${r.attempts} attempts (${r.source}) on ${r.retryOn.join(",")}${r.perTryTimeoutMs === null ? "" : `, ${formatDuration(r.perTryTimeoutMs)} per try`}${r.hedgeDelayMs === null ? "" : `, hedge after ${formatDuration(r.hedgeDelayMs)}`}${r.appliesToMethod ? "" : " (not for this method)"}, budget ${Math.round(r.budget.ratio * 100)}% + ${r.budget.minPerSecond}/s`;
    const outlier = s.outlierDetection
      ? `outlier detection ${s.outlierDetection.consecutive5xx}×5xx → eject ${formatDuration(s.outlierDetection.baseEjectionMs)} (max ${s.outlierDetection.maxEjectionPercent}%)`
      : "no outlier detection";
    const rate = s.rateLimit ? `rate limit ${s.rateLimit.requestsPerSecond}/s burst ${s.rateLimit.burst} per ${s.rateLimit.per} (${s.rateLimit.scope})` : "no rate limit";
    lines.push(
      `settings ${s.service}: timeout ${formatDuration(s.timeout.ms)} (${s.timeout.source}), ${retries}, ${outlier}, circuit breaker ${s.circuitBreaker.maxConcurrentRequests} in flight, ${rate}`,
    );
  }
  const fault = settings.fault;
  if (fault) {
    const parts = [fault.abort ? `abort ${fault.abort.percent}% with ${fault.abort.status}` : "", fault.delay ? `delay ${fault.delay.percent}% by ${formatDuration(fault.delay.ms)}` : ""].filter(Boolean);
    lines.push(`fault: ${parts.join(", ")}; ${fault.applies ? "applies to this request" : "not for this request (header conditions unmet)"}`);
  }
  const mirror = settings.mirror;
  if (mirror) lines.push(`mirror: ${mirror.percent}% copied to ${mirror.service}/${mirror.subset ?? "*"}`);
  return lines;
}

// -------------------------------------------------------------------------------------- outcome

function outcomeOf(authorization: AuthorizationView, settings: SettingsView, destinations: readonly DestinationView[], route: RouteMatch): Explanation["outcome"] {
  if (authorization.identityCheck === "anonymous-refused-strict") {
    return {
      verdict: "unauthenticated",
      status: 401,
      code: "unauthenticated",
      message: "this mesh is in STRICT mode: calls need a service identity token (Authorization: Bearer <SVID>)",
    };
  }
  const denied = authorization.decisions.find((decision) => !decision.allowed);
  if (denied) return { verdict: "forbidden", status: 403, code: "forbidden", message: `calling ${denied.service} was ${denied.explanation}` };
  const fault = settings.fault;
  if (fault?.applies && fault.abort && fault.abort.percent >= 100) {
    return { verdict: "fault", status: fault.abort.status, code: "fault_injected", message: `fault injected by route ${route.rule.routeName}: abort with ${fault.abort.status}` };
  }
  const targets = destinations.filter((d) => d.weight > 0).map((d) => `${destinationLabel(d)} (${d.percent}%)`);
  const maybeFault = fault?.applies && fault.abort && fault.abort.percent > 0 ? `; ${fault.abort.percent}% of such requests get an injected ${fault.abort.status}` : "";
  return { verdict: "forward", status: null, code: null, message: `forwarded to ${targets.join(" or ")}${maybeFault}` };
}
