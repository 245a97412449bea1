/** Request headers a function passes on to its peer calls, so one request can be followed across hops. */
export const PROPAGATED_HEADERS = ["traceparent", "tracestate", "x-request-id"] as const;

/**
 * Headers for an outbound mesh call, copied from the inbound request: trace context and request
 * id, plus any `extra` names the function wants carried along (e.g. an opt-in canary header).
 * @example
 * await mesh.fetch("orders", "/orders/42", { headers: propagationHeaders(c.req.raw.headers, ["x-canary"]) });
 */
export function propagationHeaders(inbound: Headers, extra: readonly string[] = []): Headers {
  const out = new Headers({ accept: "application/json" });
  for (const name of [...PROPAGATED_HEADERS, ...extra]) {
    const value = inbound.get(name);
    if (value !== null) out.set(name, value);
  }
  return out;
}
