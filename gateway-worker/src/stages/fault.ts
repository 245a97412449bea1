/**
 * Fault injection for chaos testing (Istio's HTTPFaultInjection): a rule may hold back a share of
 * its requests for a fixed delay, and answer a share itself with a chosen status instead of
 * forwarding them. Off unless the rule configures it; optionally only for requests with given
 * headers. Runs after authorization, so an injected fault never reveals more than a real one.
 */
import { MeshError } from "@weft/sdk";
import type { Stage } from "../stage.js";

/** The answer header saying a fault was injected (and which). */
export const FAULT_HEADER = "x-weft-fault";

export function faultStage(): Stage {
  return async function injectFault(request, next) {
    const fault = request.route?.rule.fault;
    if (!fault) return next(request);
    for (const [name, test] of fault.headers) {
      if (!test(request.headers.get(name))) return next(request);
    }
    const { isolate } = request;
    if (fault.delay && isolate.random() * 100 < fault.delay.percent) await isolate.sleep(fault.delay.ms);
    if (fault.abort && isolate.random() * 100 < fault.abort.percent) {
      const error = new MeshError("fault_injected", `fault injected by route ${request.route?.rule.routeName ?? ""}: abort with ${fault.abort.status}`, { status: fault.abort.status });
      return error.toResponse({ "x-request-id": request.requestId, [FAULT_HEADER]: "abort" });
    }
    return next(request);
  };
}
