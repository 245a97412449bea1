/**
 * A stand-in OTLP/HTTP collector for integration tests, run as an auxiliary worker. It accepts
 * `POST /v1/traces` with an OTLP JSON body and keeps what it received, so a test can ask what the
 * gateway exported (`GET /received`) and start clean (`DELETE /received`). State is module memory:
 * one isolate, one test run; nothing here is meant to be durable.
 */

/** Every body received, parsed, oldest first. */
let received: unknown[] = [];

function json(body: unknown, status = 200): Response {
  return Response.json(body, { status });
}

export default {
  async fetch(request: Request): Promise<Response> {
    const { pathname } = new URL(request.url);
    if (pathname === "/v1/traces") {
      if (request.method !== "POST") return json({ error: "POST only" }, 405);
      // OTLP/HTTP JSON must say so; a protobuf body here would be a gateway bug worth seeing.
      const type = request.headers.get("content-type") ?? "";
      if (!type.toLowerCase().startsWith("application/json")) return json({ error: `expected application/json, got "${type}"` }, 415);
      let body: unknown;
      try {
        body = await request.json();
      } catch {
        return json({ error: "body is not JSON" }, 400);
      }
      received.push(body);
      // An empty ExportTraceServiceResponse: everything accepted.
      return json({});
    }
    if (pathname === "/received") {
      if (request.method === "GET") return json(received);
      if (request.method === "DELETE") {
        received = [];
        return new Response(null, { status: 204 });
      }
      return json({ error: "GET or DELETE only" }, 405);
    }
    return json({ error: "not found" }, 404);
  },
} satisfies ExportedHandler;
