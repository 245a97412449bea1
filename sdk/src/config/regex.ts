/**
 * The one regex engine of route matches (path, header, query): RE2 through re2js, which matches
 * in time linear in the value, as Envoy's safe_regex does. A backtracking engine (JS RegExp)
 * would let one pattern such as `(a+)+` and a crafted path stall every request of an isolate.
 * The schema refuses what this engine cannot compile, so the gateway never meets such a pattern.
 */
import { RE2JS } from "re2js";

/** A route regex compiled once per config version; `test` matches the whole value (anchored). */
export interface RouteRegex {
  /** The pattern as the config wrote it. */
  readonly source: string;
  test(value: string): boolean;
}

/** Compiles a pattern into a RouteRegex; throws when the pattern cannot be compiled. */
export type RegexEngine = (source: string) => RouteRegex;

/**
 * Compiles `source` as RE2 syntax for whole-value matching. Throws on patterns RE2 does not run
 * (backreferences, lookahead, lookbehind, repeat counts over 1000, ...).
 *
 * @example
 * compileRouteRegex("/items/[0-9]+").test("/items/42"); // true
 * compileRouteRegex("/items/[0-9]+").test("/items/42/reviews"); // false: the whole path must match
 */
export const compileRouteRegex: RegexEngine = function compileRouteRegex(source) {
  const compiled = RE2JS.compile(source);
  return {
    source,
    // testExact runs RE2's anchored match: no wrapping of the source, so `a|b` stays whole-value.
    test: (value) => compiled.testExact(value),
  };
};

/** Why `source` is not a route regex weft can run, or undefined when it is. */
export function routeRegexProblem(source: string): string | undefined {
  try {
    compileRouteRegex(source);
    return undefined;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return `the pattern must be RE2 syntax (no backreferences, lookahead or lookbehind; matched in linear time): ${reason}`;
  }
}
