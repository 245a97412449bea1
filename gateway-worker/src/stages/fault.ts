/**
 * Fault injection for chaos testing (Istio's HTTPFaultInjection): a rule may hold back a share of
 * its requests for a fixed delay, and answer a share itself with a chosen status instead of
 * forwarding them. Off unless the rule configures it; optionally only for requests with given
 * headers. Runs after authorization, so an injected fault never reveals more than a real one.
 * The decisions are routing/fault.ts's (explain reports them too); this stage draws and waits.
 */
import { drawHits, faultAbort, faultApplies } from "../routing/fault.js";
import type { CompiledRule } from "../routing/snapshot.js";
import type { MeshRequest, Next, Stage } from "../stage.js";

/** The answer header saying a fault was injected (and which). */
export const FAULT_HEADER = "x-weft-fault";

export function faultStage(): Stage {
  // Not an async function: the common request (no fault) goes on without a promise of its own.
  return function injectFault(request, next) {
    const rule = request.route?.rule;
    const fault = rule?.fault;
    if (!rule || !fault || !faultApplies(fault, request.headers)) return next(request);
    const { isolate } = request;
    if (fault.delay && drawHits(fault.delay.percent, isolate.random())) {
      return isolate.sleep(fault.delay.ms).then(() => abortOrNext(request, next, rule, fault));
    }
    return abortOrNext(request, next, rule, fault);
  };
}

function abortOrNext(request: MeshRequest, next: Next, rule: CompiledRule, fault: NonNullable<CompiledRule["fault"]>): Promise<Response> {
  if (fault.abort && drawHits(fault.abort.percent, request.isolate.random())) {
    return Promise.resolve(faultAbort(rule, fault.abort.status).toResponse({ "x-request-id": request.requestId, [FAULT_HEADER]: "abort" }));
  }
  return next(request);
}
