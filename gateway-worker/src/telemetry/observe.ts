/**
 * What the gateway notes about every request once its answer is known: the request series
 * (source → destination/subset/route, status, latency), event counters by the mesh's error code,
 * and an access-log line when the mesh asks for one. O(1) and synchronous; delivery is batched
 * (telemetry/state.ts). Nothing here reads a header that could hold a credential.
 */
import { MESH_ERROR_HEADER } from "@weft/sdk";
import type { MeshRequest } from "../stage.js";
import { safeAttributes } from "./spans.js";
import { routeLabelOf } from "../../../wire/src/telemetry.js";

/** Spans are kept only when sampled and the mesh names a collector to send them to. */
export function recordsSpans(request: MeshRequest): boolean {
  return request.trace?.sampled === true && request.snapshot.mesh.spec.telemetry.tracing.collector !== undefined;
}

export function callerLabel(request: MeshRequest): string {
  return request.caller?.authenticated ? request.caller.service : "anonymous";
}

/** Per compiled rule (compiled once per config version), so a request builds no label string. */
const routeLabels = new WeakMap<object, string>();

/** The matched rule as `<route>/<rule>` (wire/src/telemetry.ts routeLabelOf); "" when none matched. */
export function routeLabel(request: MeshRequest): string {
  const rule = request.route?.rule;
  if (!rule) return "";
  let label = routeLabels.get(rule);
  if (label === undefined) routeLabels.set(rule, (label = routeLabelOf(rule.routeName, rule.ruleName, rule.ruleIndex)));
  return label;
}

/** Where a request's telemetry goes: its `destination` label and the telemetry shard that keeps it. */
export interface DestinationLabel {
  /** The `destination` label: a service name, a `a+b` label for a rule over several services, or "". */
  label: string;
  /** The shard (telemetry object) the series and counters are sent to; "" is the unrouted shard. */
  shard: string;
}

const UNROUTED: DestinationLabel = { label: "", shard: "" };
/** Per compiled rule (compiled once per config version), so a request does no string work here. */
const ruleLabels = new WeakMap<object, DestinationLabel>();

/**
 * The destination a request is counted against. Once the split has chosen, the chosen service.
 * Before it (401/403 from authorization, an injected fault, a 429), the rule's service when all
 * its destinations name one service (a split between subsets, the common canary), so denials and
 * faults show up in that service's telemetry and the dashboard's denials. A rule that spans
 * several services gets the label of their distinct names sorted and joined with "+" (stable, and
 * bounded by the config: one label per such rule; "+" cannot occur in a service name), kept in the
 * unrouted shard because no single service's telemetry object owns it.
 */
export function destinationOf(request: Pick<MeshRequest, "service" | "route">): DestinationLabel {
  const chosen = request.service?.name;
  if (chosen !== undefined) return { label: chosen, shard: chosen };
  const rule = request.route?.rule;
  if (!rule) return UNROUTED;
  let labelled = ruleLabels.get(rule);
  if (!labelled) ruleLabels.set(rule, (labelled = ruleDestinationLabel(rule.destinations)));
  return labelled;
}

/** The label of a rule's destinations (see destinationOf). */
export function ruleDestinationLabel(destinations: readonly { readonly service: string }[]): DestinationLabel {
  const services = [...new Set(destinations.map((d) => d.service))].sort();
  if (services.length === 0) return UNROUTED;
  if (services.length === 1) {
    const service = services[0] as string;
    return { label: service, shard: service };
  }
  return { label: services.join("+"), shard: "" };
}

export function observeRequest(request: MeshRequest, response: Response): void {
  const { isolate } = request;
  const now = isolate.now();
  const durationMs = Math.max(0, now - request.receivedAt);
  const source = callerLabel(request);
  const { label: destination, shard } = destinationOf(request);
  const subset = request.endpoint?.subset ?? "";
  const recorder = isolate.telemetry.recorder;
  recorder.recordRequest({ source, destination, subset, route: routeLabel(request), code: response.status }, durationMs, now, shard);

  const attempts = request.attempts ?? 0;
  if (attempts > 1) recorder.count("retries", shard, { source, destination }, now, attempts - 1 - (request.hedges ?? 0));
  if (request.hedges) recorder.count("hedges", shard, { source, destination }, now, request.hedges);
  const meshError = response.headers.get(MESH_ERROR_HEADER);
  if (meshError === "unauthenticated") recorder.count("authn_failures", shard, { reason: request.authFailure ?? "missing identity" }, now);
  else if (meshError === "forbidden") recorder.count("authz_denials", shard, { source, destination }, now);
  else if (meshError === "rate_limited") recorder.count("rate_limited", shard, { source, destination }, now);

  const trace = request.trace;
  if (trace?.sampled && recordsSpans(request)) {
    isolate.telemetry.spans.add({
      traceId: trace.traceId,
      spanId: trace.spanId,
      ...(trace.parentSpanId !== undefined ? { parentSpanId: trace.parentSpanId } : {}),
      name: `${request.method} ${destination || request.host}`,
      kind: "server",
      startMs: request.receivedAt,
      endMs: now,
      attributes: safeAttributes({
        "weft.source": source,
        "weft.destination": destination || undefined,
        "weft.subset": subset || undefined,
        "weft.route": routeLabel(request) || undefined,
        "weft.error_code": response.headers.get(MESH_ERROR_HEADER) ?? undefined,
        "http.request.method": request.method,
        "url.path": request.path,
        "http.response.status_code": response.status,
      }),
      status: response.status < 500 ? "ok" : "error",
    });
  }

  const accessLog = request.snapshot.mesh.spec.telemetry.accessLog;
  if (accessLog.enabled && (accessLog.sampling >= 1 || isolate.random() < accessLog.sampling)) {
    console.log(
      JSON.stringify({
        type: "weft.access",
        time: new Date(now).toISOString(),
        requestId: request.requestId,
        traceId: request.trace?.traceId ?? null,
        source,
        destination: destination || null,
        subset: subset || null,
        route: routeLabel(request) || null,
        method: request.method,
        // The normalized path only: the query string may carry anything, tokens included.
        path: request.path,
        status: response.status,
        attempts,
        durationMs,
        meshError,
      }),
    );
  }
}
