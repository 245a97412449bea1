/**
 * The fault stage's decisions (Istio's HTTPFaultInjection), pure: whether a request meets a rule's
 * fault conditions, whether a random draw falls in a configured share, and the injected answer.
 * The stage draws and waits; explain says whether the fault applies and when it always aborts.
 */
import { MeshError } from "@weft/sdk";
import type { CompiledFault, CompiledRule } from "./snapshot.js";

/** Whether the request meets every header condition of the fault (no conditions: every request). */
export function faultApplies(fault: CompiledFault, headers: { get(name: string): string | null }): boolean {
  for (const [name, test] of fault.headers) if (!test(headers.get(name))) return false;
  return true;
}

/** Whether a draw in [0, 1) falls in `percent` of requests. */
export function drawHits(percent: number, draw: number): boolean {
  return draw * 100 < percent;
}

/** Whether every draw falls in `percent` (so the outcome is certain, not a chance). */
export function alwaysHits(percent: number): boolean {
  return percent >= 100;
}

/** The mesh's own answer for an injected abort. */
export function faultAbort(rule: CompiledRule, status: number): MeshError {
  return new MeshError("fault_injected", `fault injected by route ${rule.routeName}: abort with ${status}`, { status });
}
