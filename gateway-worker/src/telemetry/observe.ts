/**
 * What the gateway notes about every request once its answer is known: the request series
 * (source → destination/subset/route, status, latency), event counters by the mesh's error code,
 * and an access-log line when the mesh asks for one. O(1) and synchronous; delivery is batched
 * (telemetry/state.ts). Nothing here reads a header that could hold a credential.
 */
import { MESH_ERROR_HEADER } from "@weft/sdk";
import type { MeshRequest } from "../stage.js";
import { safeAttributes } from "./spans.js";

/** Spans are kept only when sampled and the mesh names a collector to send them to. */
export function recordsSpans(request: MeshRequest): boolean {
  return request.trace?.sampled === true && request.snapshot.mesh.spec.telemetry.tracing.collector !== undefined;
}

export function callerLabel(request: MeshRequest): string {
  return request.caller?.authenticated ? request.caller.service : "anonymous";
}

export function routeLabel(request: MeshRequest): string {
  const rule = request.route?.rule;
  if (!rule) return "";
  return rule.ruleName ?? `${rule.routeName}#${rule.ruleIndex}`;
}

export function observeRequest(request: MeshRequest, response: Response): void {
  const { isolate } = request;
  const now = isolate.now();
  const durationMs = Math.max(0, now - request.receivedAt);
  const source = callerLabel(request);
  // Answers given before the split (a denial, a refused token on a known route) still belong to
  // the rule's service when the rule has only one.
  const destinations = request.route?.rule.destinations;
  const destination = request.service?.name ?? (destinations?.length === 1 ? (destinations[0]?.service ?? "") : "");
  const subset = request.endpoint?.subset ?? "";
  const recorder = isolate.telemetry.recorder;
  recorder.recordRequest({ source, destination, subset, route: routeLabel(request), code: response.status }, durationMs, now);

  const attempts = request.attempts ?? 0;
  if (attempts > 1) recorder.count("retries", destination, { source, destination }, now, attempts - 1 - (request.hedges ?? 0));
  if (request.hedges) recorder.count("hedges", destination, { source, destination }, now, request.hedges);
  const meshError = response.headers.get(MESH_ERROR_HEADER);
  if (meshError === "unauthenticated") recorder.count("authn_failures", destination, { reason: request.authFailure ?? "missing identity" }, now);
  else if (meshError === "forbidden") recorder.count("authz_denials", destination, { source, destination }, now);
  else if (meshError === "rate_limited") recorder.count("rate_limited", destination, { source, destination }, now);

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
