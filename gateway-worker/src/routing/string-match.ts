import { compileRouteRegex, type RegexEngine, type StringMatchConfig } from "@weft/sdk/config";

/** A compiled condition on one string value; `null` means the value is absent. */
export type ValuePredicate = (value: string | null) => boolean;

/**
 * Compiles a StringMatch once per config version. Regexes match the whole value in linear time
 * (RE2, like Envoy's safe_regex); `engine` is replaceable only so the benchmark can compare.
 */
export function compileStringMatch(match: StringMatchConfig, engine: RegexEngine = compileRouteRegex): ValuePredicate {
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
    const pattern = engine(match.regex);
    return function regexValue(value) {
      return value !== null && pattern.test(value);
    };
  }
  return function presentValue(value) {
    return value !== null;
  };
}
