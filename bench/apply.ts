/**
 * Apply cost at 10,000 rules, in Node: before, an apply validated the set three times (admin API,
 * control plane, the gateway's install) and every mint/JWKS/registry read validated it again;
 * now the control plane validates once (plus a JSON round trip of what it stores) and gateways
 * compile the normalized form. `npx tsx bench/apply.ts`.
 */
import { validateDocuments } from "@weft/sdk/config";
import { compileSnapshot } from "../gateway-worker/src/routing/compile.js";
import { manyRoutes } from "../gateway-worker/src/routing/test-support.js";

function time<T>(run: () => T, rounds = 5): { ms: number; value: T } {
  let value = run(); // warm-up
  const started = performance.now();
  for (let i = 0; i < rounds; i++) value = run();
  return { ms: (performance.now() - started) / rounds, value };
}

export interface ApplyBench {
  rules: number;
  validateMs: number;
  jsonRoundTripMs: number;
  compileMs: number;
  /** Three validations and a compile per apply, plus one validation per mint or read. */
  beforeApplyMs: number;
  beforeReadMs: number;
  /** One validation, one JSON round trip, a compile, and none per read. */
  afterApplyMs: number;
  afterReadMs: number;
}

export function runApplyBench(count = 5_000): ApplyBench {
  const documents = manyRoutes(count); // `count` prefix + `count` exact rules
  const validate = time(() => validateDocuments(documents));
  if (!validate.value.ok) throw new Error("bench config refused");
  const set = validate.value.value;
  const roundTrip = time(() => JSON.parse(JSON.stringify(documents)) as unknown[]);
  const compile = time(() => compileSnapshot(set, 1));
  return {
    rules: compile.value.ruleCount,
    validateMs: validate.ms,
    jsonRoundTripMs: roundTrip.ms,
    compileMs: compile.ms,
    beforeApplyMs: 3 * validate.ms + compile.ms,
    beforeReadMs: validate.ms,
    afterApplyMs: validate.ms + roundTrip.ms + compile.ms,
    afterReadMs: 0,
  };
}

export function formatApplyBench(result: ApplyBench): string {
  const ms = (value: number) => `${value.toFixed(1)} ms`;
  return [
    `apply at ${result.rules} rules (Node, mean of 5)`,
    `  validateDocuments          ${ms(result.validateMs)}`,
    `  JSON round trip (stored)   ${ms(result.jsonRoundTripMs)}`,
    `  compileSnapshot            ${ms(result.compileMs)}`,
    `  per apply   before ${ms(result.beforeApplyMs)} (3 validations + compile)   after ${ms(result.afterApplyMs)} (1 validation + JSON + compile)`,
    `  per mint/JWKS/registry read   before ${ms(result.beforeReadMs)}   after ${ms(result.afterReadMs)} (cached per version)`,
  ].join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(formatApplyBench(runApplyBench()));
