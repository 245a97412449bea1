/** weft's configuration model: schemas, types, parsing and whole-set validation. */
export { CONFIG_DEFAULTS } from "./defaults.js";
export * from "./schema.js";
export * from "./validate.js";
export { configSetOf } from "./set.js";
export { parseDuration, formatDuration } from "./duration.js";
export { compileRouteRegex, routeRegexProblem, type RegexEngine, type RouteRegex } from "./regex.js";
export { CANARY_MATCH_RULE, isCanaryMatchRule, isRolloutControlled, type RolloutSubsets } from "./rollout-rules.js";
