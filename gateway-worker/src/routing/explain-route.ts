/**
 * Route matching, explained: walks the compiled host table findRoute uses, rule by rule in order,
 * testing each match entry with the same compiled predicates, so every rule before the winner can
 * say which of its conditions failed. For the explain API only: it visits every rule of the
 * host's table, which the hot path never does (lookup.ts indexes by path instead). The decision
 * itself stays findRoute's; the walk must agree with it (explain-route.test.ts checks that).
 */
import { findHostTable, findRoute, matchesRequest, type HostKind, type RequestFacts, type RouteLookup } from "./lookup.js";
import type { CompiledMatch, CompiledRule, HostTable, Snapshot } from "./snapshot.js";

/** Which of the snapshot's host tables served the host: its exact host, a `*.domain` wildcard, or `*`. */
export type HostTableKind = "exact" | "wildcard" | "any";

export interface HostTableChoice {
  readonly kind: HostTableKind;
  /** The host as the Route wrote it: `orders.mesh`, `*.shop.example`, `*`. */
  readonly pattern: string;
  readonly table: HostTable;
}

/** One condition of a match entry that the request did not meet. */
export type ConditionMiss =
  | { readonly condition: "path"; readonly kind: "exact" | "prefix" | "regex"; readonly expected: string; readonly actual: string }
  | { readonly condition: "method"; readonly allowed: readonly string[]; readonly actual: string }
  /** `actual` null: the header (or query parameter) is absent. */
  | { readonly condition: "header"; readonly name: string; readonly actual: string | null }
  | { readonly condition: "query"; readonly name: string; readonly actual: string | null };

export interface MatchEntryTrace {
  /** Position of the entry in the rule's `match` list (entries are alternatives). */
  readonly index: number;
  readonly matched: boolean;
  /** Every condition of the entry that failed (empty when it matched). */
  readonly misses: readonly ConditionMiss[];
}

export interface RuleTrace {
  readonly rule: CompiledRule;
  readonly matched: boolean;
  /** Empty when the rule has no match entries (it matches every request). */
  readonly entries: readonly MatchEntryTrace[];
}

export interface RouteExplanation {
  readonly hostKind: HostKind;
  /** Undefined: no table serves the host (findRoute's `no_host`). */
  readonly table: HostTableChoice | undefined;
  /** Rules of the table in the order they are tried, up to and including the first that matched. */
  readonly tried: readonly RuleTrace[];
  /** Rules after the winner, never evaluated (first match wins). */
  readonly notEvaluated: number;
  /** The gateway's own decision, from findRoute. */
  readonly lookup: RouteLookup;
}

/** Which table findHostTable returns for the host, and under which pattern it is keyed. */
export function describeHostTable(snapshot: Snapshot, host: string): HostTableChoice | undefined {
  const table = findHostTable(snapshot, host);
  if (!table) return undefined;
  if (snapshot.hosts.get(host) === table) return { kind: "exact", pattern: host, table };
  // Same walk as findHostTable: the most specific parent domain first.
  for (let dot = host.indexOf("."); dot !== -1; dot = host.indexOf(".", dot + 1)) {
    const suffix = host.slice(dot + 1);
    if (snapshot.wildcardHosts.get(suffix) === table) return { kind: "wildcard", pattern: `*.${suffix}`, table };
  }
  return { kind: "any", pattern: "*", table };
}

/** Every rule a host table holds, in the order the gateway prefers them (lowest ordinal first). */
export function rulesOf(table: HostTable): CompiledRule[] {
  const rules = new Set<CompiledRule>();
  for (const entries of table.exact.values()) for (const entry of entries) rules.add(entry.rule);
  for (const entries of table.prefixes.values()) for (const entry of entries) rules.add(entry.rule);
  for (const entry of table.unindexed) rules.add(entry.rule);
  return [...rules].sort((a, b) => a.ordinal - b.ordinal);
}

/** The conditions of one match entry that the request fails, in the order matchesRequest tests them. */
export function conditionMisses(match: CompiledMatch, request: RequestFacts): ConditionMiss[] {
  const misses: ConditionMiss[] = [];
  const path = match.path;
  if (path) {
    const holds = path.kind === "exact" ? request.path === path.value : path.kind === "prefix" ? request.path.startsWith(path.value) : path.pattern.test(request.path);
    if (!holds) misses.push({ condition: "path", kind: path.kind, expected: path.value, actual: request.path });
  }
  if (match.methods && !match.methods.has(request.method)) misses.push({ condition: "method", allowed: [...match.methods], actual: request.method });
  for (const [name, test] of match.headers) {
    const value = request.headers.get(name);
    if (!test(value)) misses.push({ condition: "header", name, actual: value });
  }
  for (const [name, test] of match.query) {
    const value = request.query.get(name);
    if (!test(value)) misses.push({ condition: "query", name, actual: value });
  }
  return misses;
}

/** Traces one rule: a rule matches when it has no entries or when any of its entries does. */
export function traceRule(rule: CompiledRule, request: RequestFacts): RuleTrace {
  if (!rule.matches) return { rule, matched: true, entries: [] };
  const entries = rule.matches.map((match, index): MatchEntryTrace => {
    // The verdict is the gateway's own predicate; the misses only say why.
    const matched = matchesRequest(match, request);
    return { index, matched, misses: matched ? [] : conditionMisses(match, request) };
  });
  return { rule, matched: entries.some((entry) => entry.matched), entries };
}

/** The route decision for a request, with the reasons every earlier rule was passed over. */
export function explainRoute(snapshot: Snapshot, request: RequestFacts): RouteExplanation {
  const lookup = findRoute(snapshot, request);
  const table = describeHostTable(snapshot, request.host);
  const tried: RuleTrace[] = [];
  let notEvaluated = 0;
  if (table) {
    const rules = rulesOf(table.table);
    for (const [position, rule] of rules.entries()) {
      const trace = traceRule(rule, request);
      tried.push(trace);
      if (trace.matched) {
        notEvaluated = rules.length - position - 1;
        break;
      }
    }
  }
  return { hostKind: lookup.found ? lookup.route.hostKind : lookup.hostKind, table, tried, notEvaluated, lookup };
}

/** The rule the in-order walk settles on (the last one tried, when it matched). */
export function walkedRule(explanation: RouteExplanation): CompiledRule | undefined {
  const last = explanation.tried.at(-1);
  return last?.matched ? last.rule : undefined;
}
