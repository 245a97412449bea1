/**
 * Finds the rule for a request in a compiled Snapshot. Pure: reads only the snapshot and the
 * request facts it is given. Cost depends on the path length and the rules that share the
 * request's path, never on the total number of routes.
 */
import { MESH_HOST_SUFFIX, MeshError } from "@weft/sdk";
import { normalizePath } from "./normalize-path.js";
import { stripPort } from "./compile.js";
import type { CompiledMatch, CompiledRule, HostTable, IndexedMatch, Snapshot } from "./snapshot.js";

/** What routing needs to know about a request. */
export interface RequestFacts {
  /** Host without port, lowercase. */
  readonly host: string;
  /** Normalized path (starts with /). */
  readonly path: string;
  readonly method: string;
  readonly headers: { get(name: string): string | null };
  readonly query: { get(name: string): string | null };
}

export type HostKind = "mesh" | "ingress";

export interface RouteMatch {
  readonly rule: CompiledRule;
  readonly match: CompiledMatch | undefined;
  readonly hostKind: HostKind;
}

export type RouteLookup =
  | { readonly found: true; readonly route: RouteMatch }
  | { readonly found: false; readonly reason: "no_host" | "no_rule"; readonly hostKind: HostKind };

/** Why no rule serves a request: no table for its host, or no rule of the table matches. */
export type NoRoute = { readonly kind: "no-route"; readonly reason: "no_host" | "no_rule"; readonly hostKind: HostKind };

/**
 * The route stage's decision: the rule and match entry that serve the request, with the path the
 * destination receives (after the rule's rewrite); or why none does (404).
 */
export type RouteDecision = { readonly kind: "routed"; readonly route: RouteMatch; readonly upstreamPath: string } | NoRoute;

const noRoute = (reason: NoRoute["reason"], hostKind: HostKind): NoRoute => Object.freeze({ kind: "no-route", reason, hostKind });
/** The four ways to find no route, allocated once. */
const NO_ROUTE = {
  mesh: { no_host: noRoute("no_host", "mesh"), no_rule: noRoute("no_rule", "mesh") },
  ingress: { no_host: noRoute("no_host", "ingress"), no_rule: noRoute("no_rule", "ingress") },
} as const;

/** Normalizes a Host header / URL host for lookup. */
export function normalizeHost(host: string): string {
  return stripPort(host.trim().toLowerCase()).replace(/\.$/, "");
}

export function findHostTable(snapshot: Snapshot, host: string): HostTable | undefined {
  const exact = snapshot.hosts.get(host);
  if (exact) return exact;
  // Wildcards: try each parent domain, most specific first (bounded by the label count).
  for (let dot = host.indexOf("."); dot !== -1; dot = host.indexOf(".", dot + 1)) {
    const table = snapshot.wildcardHosts.get(host.slice(dot + 1));
    if (table) return table;
  }
  // `*` is for ingress; a mesh host that no route serves is an unknown service, not ingress.
  if (isMeshHost(host)) return undefined;
  return snapshot.anyHost;
}

export function isMeshHost(host: string): boolean {
  return host.endsWith(MESH_HOST_SUFFIX);
}

export function findRoute(snapshot: Snapshot, request: RequestFacts): RouteLookup {
  const hostKind: HostKind = isMeshHost(request.host) ? "mesh" : "ingress";
  const table = findHostTable(snapshot, request.host);
  if (!table) return { found: false, reason: "no_host", hostKind };
  const best = bestMatch(table, request);
  return best ? { found: true, route: { rule: best.rule, match: best.match, hostKind } } : { found: false, reason: "no_rule", hostKind };
}

/** The route stage's decision for a request (host, normalized path, method, clean headers, query): the lookup, then the rewrite. */
export function decideRoute(snapshot: Snapshot, request: RequestFacts): RouteDecision {
  const lookup = findRoute(snapshot, request);
  if (!lookup.found) return NO_ROUTE[lookup.hostKind][lookup.reason];
  return { kind: "routed", route: lookup.route, upstreamPath: rewritePath(lookup.route, request.path) };
}

/** The 404 for a request no rule serves; built only when there is one. */
export function noRouteError(decision: NoRoute, request: Pick<RequestFacts, "host" | "method" | "path">): MeshError {
  const message =
    decision.reason === "no_host"
      ? decision.hostKind === "mesh"
        ? `no service named "${request.host.slice(0, -MESH_HOST_SUFFIX.length)}" in the mesh`
        : `no route serves host "${request.host}"`
      : `no route rule matches ${request.method} ${request.path} on "${request.host}"`;
  return new MeshError("no_route", message);
}

/** The lowest-ordinal entry whose conditions all hold, among the entries the path can reach. */
function bestMatch(table: HostTable, request: RequestFacts): IndexedMatch | undefined {
  // No closures here: this runs per request, and bundlers' keepNames makes each closure cost extra.
  const path = request.path;
  let best = betterOf(undefined, table.exact.get(path), request);
  for (const length of table.prefixLengths) {
    if (length <= path.length) best = betterOf(best, table.prefixes.get(path.slice(0, length)), request);
  }
  return betterOf(best, table.unindexed, request);
}

function betterOf(best: IndexedMatch | undefined, entries: readonly IndexedMatch[] | undefined, request: RequestFacts): IndexedMatch | undefined {
  if (!entries) return best;
  for (const entry of entries) {
    if (best && entry.rule.ordinal >= best.rule.ordinal) continue;
    if (entry.match === undefined || matchesRequest(entry.match, request)) best = entry;
  }
  return best;
}

/** Whether one match entry's conditions all hold (the path condition included). */
export function matchesRequest(match: CompiledMatch, request: RequestFacts): boolean {
  const path = match.path;
  if (path) {
    if (path.kind === "exact" && request.path !== path.value) return false;
    if (path.kind === "prefix" && !request.path.startsWith(path.value)) return false;
    if (path.kind === "regex" && !path.pattern.test(request.path)) return false;
  }
  if (match.methods && !match.methods.has(request.method)) return false;
  for (const [name, test] of match.headers) if (!test(request.headers.get(name))) return false;
  for (const [name, test] of match.query) if (!test(request.query.get(name))) return false;
  return true;
}

/**
 * The path to forward after the rule's rewrite (prefix matches replace the prefix, exact the
 * path), normalized again: joining a replacement and a remainder can form a new `.` or `..`
 * segment (`/hb./x` with prefix `/hb` → `/` gives `/./x`), which the URL parser would resolve on
 * the way out. Authorization checks this path and the forward stage sends it unchanged, so the
 * two can never disagree.
 */
export function rewritePath(route: RouteMatch, path: string): string {
  const replacement = route.rule.rewritePrefix;
  const matched = route.match?.path;
  if (replacement === undefined || !matched || matched.kind === "regex") return path;
  let joined: string;
  if (matched.kind === "exact") joined = replacement;
  else {
    const rest = path.slice(matched.value.length);
    joined = replacement.endsWith("/") && rest.startsWith("/") ? replacement + rest.slice(1) : replacement + rest;
  }
  const normalized = normalizePath(joined);
  if (!normalized.ok) throw new MeshError("bad_request", `the rewritten path is refused: ${normalized.reason}`);
  return normalized.path;
}
