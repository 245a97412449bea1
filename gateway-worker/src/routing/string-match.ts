import type { StringMatchConfig } from "@weft/sdk/config";

/** A compiled condition on one string value; `undefined` means the value is absent. */
export type ValuePredicate = (value: string | null) => boolean;

/** Compiles a StringMatch once per config version; regexes are anchored like Envoy's safe_regex. */
export function compileStringMatch(match: StringMatchConfig): ValuePredicate {
  if ("exact" in match) {
    const expected = match.exact;
    return function exactValue(value) {
      return value === expected;
    };
  }
  if ("prefix" in match) {
    const prefix = match.prefix;
    return function prefixValue(value) {
      return value !== null && value.startsWith(prefix);
    };
  }
  if ("regex" in match) {
    const pattern = anchored(match.regex);
    return function regexValue(value) {
      return value !== null && pattern.test(value);
    };
  }
  return function presentValue(value) {
    return value !== null;
  };
}

/** Whole-value match, as Envoy and Istio define regex matches. */
export function anchored(source: string): RegExp {
  return new RegExp(`^(?:${source})$`);
}
