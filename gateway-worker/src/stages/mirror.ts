/**
 * Shadow traffic (Istio's mirror): a share of a rule's requests is copied to another service or
 * subset in the background (`ctx.waitUntil`). The copy's answer is read and thrown away; it can
 * neither delay nor change the caller's answer, whatever the mirror does (hang, fail, refuse).
 * Copies carry `x-weft-shadow: true` so the receiver can tell them apart, and the caller's
 * identity as a hop token for the mirror service. Bodies that cannot be replayed (streamed or
 * over 64 KiB) are not mirrored: copying them would mean holding them in memory.
 *
 * Each copy's answer is counted at the service and subset that got it, under the route label
 * `(shadow)`, as a sidecar at the destination would count it: so a rollout can judge a canary on
 * copies before it gets live traffic (docs/rollouts.md#mirroring).
 */
import { DEADLINE_HEADER } from "@weft/sdk";
import { CONFIG_DEFAULTS } from "@weft/sdk/config";
import { isReplayable, prepareBody } from "../request-body.js";
import type { CompiledMirror } from "../routing/snapshot.js";
import type { MeshRequest, Stage } from "../stage.js";
import { chooseEndpoint, poolOf } from "./balance.js";
import { sendAttempt } from "./forward.js";
import { IDENTITY_HEADER } from "./hop-identity.js";
import { callerLabel } from "../telemetry/observe.js";

export const SHADOW_HEADER = "x-weft-shadow";
/** The `route` label of a copy's telemetry. */
export const SHADOW_ROUTE_LABEL = "(shadow)";

export function mirrorStage(): Stage {
  // Not an async function: a request that is not copied goes on without a promise of its own.
  return function mirror(request, next) {
    const config = request.route?.rule.mirror;
    if (!config || request.isolate.random() * 100 >= config.percent) return next(request);
    return prepareBody(request).then((body) => {
      if (isReplayable(body)) request.waitUntil(sendShadow(request, config, new Headers(request.headers)));
      return next(request);
    });
  };
}

async function sendShadow(request: MeshRequest, config: CompiledMirror, headers: Headers): Promise<void> {
  const service = request.snapshot.services.get(config.service);
  const pool = service && poolOf(service, config.subset);
  if (!service || !pool) return;
  const controller = new AbortController();
  const timeoutMs = service.timeoutMs ?? CONFIG_DEFAULTS.timeoutMs;
  const cancelTimer = request.isolate.startTimer(() => controller.abort(), timeoutMs);
  try {
    const endpoint = chooseEndpoint(request, service, pool);
    headers.set(SHADOW_HEADER, "true");
    headers.set(DEADLINE_HEADER, String(timeoutMs));
    headers.delete(IDENTITY_HEADER);
    const caller = request.caller;
    if (caller?.authenticated) {
      const token = await request.isolate.hopTokens(request.env).get(caller.spiffeId, service.name, request.waitUntil);
      if (!token) return; // never send a copy without the identity the caller would have had
      headers.set(IDENTITY_HEADER, token);
    }
    const shadow: MeshRequest = { ...request, headers };
    const sentAt = request.isolate.now();
    const result = await sendAttempt(shadow, endpoint, request.body ?? { kind: "none" }, controller.signal);
    // No answer: 504 when the copy ran out of time, 502 when it could not be delivered.
    const status = "response" in result ? result.response.status : controller.signal.aborted ? 504 : 502;
    const now = request.isolate.now();
    request.isolate.telemetry.recorder.recordRequest({ source: callerLabel(request), destination: service.name, subset: endpoint.subset, route: SHADOW_ROUTE_LABEL, code: status }, Math.max(0, now - sentAt), now, service.name);
    if ("response" in result) await result.response.body?.cancel();
  } catch {
    // A shadow's failure is nobody's business but its own.
  } finally {
    cancelTimer();
  }
}
