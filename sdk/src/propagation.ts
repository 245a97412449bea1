import { DEADLINE_HEADER, parseDeadlineHeader, remainingBudgetMs } from "./deadline.js";

/** Request headers a function passes on to its peer calls, so one request can be followed across hops. */
export const PROPAGATED_HEADERS = ["traceparent", "tracestate", "x-request-id"] as const;

/**
 * Headers for an outbound mesh call, copied from the inbound request: trace context and request
 * id, plus any `extra` names the function wants carried along (e.g. an opt-in canary header), and
 * the request's time budget (`x-weft-deadline-ms`), so the gateway cuts the peer call short when
 * the caller upstream would stop waiting anyway.
 *
 * Pass the inbound Request rather than its headers: from the Request the budget sent on is what is
 * left now (see `remainingBudgetMs`); from bare Headers an incoming budget can only be copied as
 * it arrived, since how much of it has been spent is unknown. Build the headers just before each
 * call (or batch of parallel calls), because the budget is a snapshot.
 * @example
 * await mesh.fetch("orders", "/orders/42", { headers: propagationHeaders(c.req.raw, ["x-canary"]) });
 */
export function propagationHeaders(inbound: Request | Headers, extra: readonly string[] = []): Headers {
  const request = isRequest(inbound) ? inbound : undefined;
  const headers = request ? request.headers : (inbound as Headers);
  const out = new Headers({ accept: "application/json" });
  for (const name of [...PROPAGATED_HEADERS, ...extra]) {
    const value = headers.get(name);
    if (value !== null) out.set(name, value);
  }
  // Set last so a budget named in `extra` can't carry a stale or malformed value along.
  out.delete(DEADLINE_HEADER);
  const budget = request ? remainingBudgetMs(request) : parseDeadlineHeader(headers.get(DEADLINE_HEADER));
  if (budget !== undefined) out.set(DEADLINE_HEADER, String(budget));
  return out;
}

/** Structural, not `instanceof`: a Request from another realm or polyfill is still a Request. */
function isRequest(value: Request | Headers): value is Request {
  return typeof (value as Partial<Request>).url === "string";
}
