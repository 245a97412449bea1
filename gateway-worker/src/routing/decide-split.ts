/**
 * The split stage's decision: which of the matched rule's weighted destinations a request goes
 * to, for one random draw, and the service that destination names. Pure: the stage supplies the
 * draw; explain reports every destination with its share instead of one draw.
 */
import { MeshError } from "@weft/sdk";
import { pickWeighted } from "./split.js";
import type { CompiledDestination, CompiledRule, CompiledService, Snapshot } from "./snapshot.js";

export type SplitDecision =
  | { readonly kind: "destination"; readonly destination: CompiledDestination; readonly service: CompiledService }
  /** A destination whose service is not in the config (validation refuses these; a 503 if one slips through). */
  | { readonly kind: "unknown-service"; readonly destination: CompiledDestination };

/** A destination with the service it names, or why there is none. */
export function resolveDestination(snapshot: Snapshot, destination: CompiledDestination): SplitDecision {
  const service = snapshot.services.get(destination.service);
  return service ? { kind: "destination", destination, service } : { kind: "unknown-service", destination };
}

/** The destination a draw in [0, 1) picks by the rule's weights (its cumulative-weight band holds `draw × total`). */
export function decideSplit(snapshot: Snapshot, rule: CompiledRule, draw: number): SplitDecision {
  return resolveDestination(snapshot, pickWeighted(rule.destinations, draw));
}

/** The 503 for a destination whose service the config does not have. */
export function unknownServiceError(destination: CompiledDestination, version: number): MeshError {
  return new MeshError("no_healthy_upstream", `service "${destination.service}" is not in config version ${version}`);
}

/** The share of the rule's traffic that goes to `destination`, in percent (two decimals): its weight over the rule's total. */
export function shareOf(rule: CompiledRule, destination: CompiledDestination): number {
  const total = rule.destinations.at(-1)?.cumulativeWeight ?? 0;
  return total > 0 ? Math.round((destination.weight / total) * 10_000) / 100 : 0;
}
