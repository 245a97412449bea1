/**
 * The route step of an explanation: the route stage's own decision (decideRoute: rule, match
 * entry, upstream path, or why none), with the rule-by-rule walk of routing/explain-route.ts
 * saying why every rule before the winner was passed over.
 */
import { explainRoute, type ConditionMiss, type HostTableKind, type RouteExplanation, type RuleTrace } from "../routing/explain-route.js";
import { decideRoute, type HostKind, type RouteDecision, type RouteMatch } from "../routing/lookup.js";
import type { CompiledRule, Snapshot } from "../routing/snapshot.js";
import type { ExplainedRequest } from "./request.js";

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

export interface RouteStep {
  /** The route stage's decision, as the stage makes it. */
  readonly decision: RouteDecision;
  readonly view: RouteView;
  /** Summary lines: the host, each rule passed over, the match. */
  readonly lines: readonly string[];
  readonly notes: readonly string[];
}

/** The route stage's decision for the request, and the trace of how the host's rules were tried. */
export function routeStep(snapshot: Snapshot, request: ExplainedRequest): RouteStep {
  const decision = decideRoute(snapshot, request);
  const traced = explainRoute(snapshot, request);
  const tried = traced.tried.map(ruleTraceView);
  const lines = [hostLine(traced, request.host)];
  for (const trace of tried) if (!trace.matched) lines.push(`rule ${ruleLabel(trace)}: no match: ${trace.reasons.join("; ")}`);
  const notes: string[] = [];
  const table = tableView(traced);
  if (decision.kind === "no-route") {
    return { decision, view: { hostKind: decision.hostKind, table, found: false, reason: decision.reason, tried, notEvaluated: 0, matched: null }, lines, notes };
  }
  const matched = matchedView(decision.route, decision.upstreamPath);
  lines.push(matchedLine(matched, decision.route));
  const walked = traced.tried.at(-1);
  if (!walked?.matched || walked.rule !== decision.route.rule) notes.push("the rule-by-rule trace disagrees with the route lookup; the lookup's rule is the one the gateway uses");
  return { decision, view: { hostKind: decision.route.hostKind, table, found: true, reason: null, tried, notEvaluated: traced.notEvaluated, matched }, lines, notes };
}

function ruleRef(rule: CompiledRule): RuleRef {
  return { route: rule.routeName, ruleIndex: rule.ruleIndex, ruleName: rule.ruleName ?? null };
}

export function ruleLabel(rule: RuleRef): string {
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
