/**
 * The load benchmark's floor for the `full` row: the work weft's STRICT pipeline must do per request,
 * hand-inlined as leanly as it can be written, with none of weft's structure (stages, decisions,
 * configuration, telemetry aggregates). `full` over `floor` is what weft's structure costs; `floor`
 * over `passthrough` is what the required work itself costs, whoever writes it.
 *
 * Per request, as `full` does it: parse the URL; derive the upstream request once (its own signal,
 * manual redirects); one pass over the request headers (size limits, drop client `x-weft-*`,
 * Authorization and hop-by-hop headers, read the bearer token, `traceparent`, `x-request-id`); look
 * the token up among verified ones (the first sight of a token stands in for its verification); find
 * the route by host; check the caller against the route's allowed callers; set the hop token (the
 * size of weft's, 354 bytes), a new `traceparent` span, `x-request-id` when absent and the deadline;
 * one timer, cleared when the answer's headers arrive; one pass over the answer's headers for spoofed
 * `x-weft-*`; count the request.
 *
 * Left out (the `full` row does them): path normalization, the config cache's freshness check, key
 * freshness, retry budgets, outlier detection, in-flight counts, balancing, latency histograms and
 * status labels, trace sampling. So the floor is a lower bound. (No named exports: workerd would take
 * them for entrypoints.)
 */
interface Env {
  TARGET: Fetcher;
}

const MESH_PREFIX = "x-weft-";
const HOP_BY_HOP = new Set(["connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade", "authorization"]);
const HOP_TOKEN = `eyJhbGciOiJFUzI1NiJ9.${"A".repeat(354 - 21 - 87)}.${"B".repeat(86)}`;
const TIMEOUT_MS = 15_000;
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
const RANDOM = new Uint8Array(4096);
let randomOffset = RANDOM.length;

function randomHex(bytes: number): string {
  if (randomOffset + bytes > RANDOM.length) {
    crypto.getRandomValues(RANDOM);
    randomOffset = 0;
  }
  let out = "";
  for (let i = 0; i < bytes; i++) out += HEX[RANDOM[randomOffset++] as number];
  return out;
}

const verifiedCallers = new Map<string, string>();
const allowedCallersByHost = new Map([["floor.bench", new Set(["frontend"])]]);
/** What the floor records per request: one count (weft records far more). */
const recorded = { requests: 0 };

export default {
  fetch(request, env) {
    const url = new URL(request.url);
    const controller = new AbortController();
    const upstream = new Request(request, { signal: controller.signal, redirect: "manual" });
    const headers = upstream.headers;
    let authorization: string | null = null;
    let traceparent: string | null = null;
    let requestId: string | null = null;
    let count = 0;
    let bytes = 0;
    let drop: string[] | undefined;
    headers.forEach((value, name) => {
      count++;
      bytes += name.length + value.length + 4;
      if (name.startsWith(MESH_PREFIX) || HOP_BY_HOP.has(name)) (drop ??= []).push(name);
      if (name === "authorization") authorization = value;
      else if (name === "traceparent") traceparent = value;
      else if (name === "x-request-id") requestId = value;
    });
    if (count > 100 || bytes > 60 * 1024) return new Response("headers too large", { status: 431 });
    if (drop) for (const name of drop) headers.delete(name);

    const bearer = authorization as string | null;
    if (bearer === null || !bearer.startsWith("Bearer ")) return new Response("unauthenticated", { status: 401 });
    const token = bearer.slice(7);
    let caller = verifiedCallers.get(token);
    if (caller === undefined) verifiedCallers.set(token, (caller = "frontend"));
    const allowed = allowedCallersByHost.get(url.hostname);
    if (!allowed) return new Response("no route", { status: 404 });
    if (!allowed.has(caller)) return new Response("denied", { status: 403 });

    const parent = traceparent as string | null;
    headers.set("x-weft-identity", HOP_TOKEN);
    headers.set("traceparent", `00-${parent !== null && parent.length === 55 ? parent.slice(3, 35) : randomHex(16)}-${randomHex(8)}-01`);
    if (requestId === null) headers.set("x-request-id", crypto.randomUUID());
    headers.set("x-weft-deadline-ms", String(TIMEOUT_MS));
    const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
    return env.TARGET.fetch(upstream).then((response) => {
      clearTimeout(timer);
      let spoofed = false;
      response.headers.forEach((_value, name) => {
        if (name.startsWith(MESH_PREFIX)) spoofed = true;
      });
      recorded.requests++;
      if (!spoofed) return response;
      const copy = new Response(response.body, response);
      const names: string[] = [];
      copy.headers.forEach((_value, name) => {
        if (name.startsWith(MESH_PREFIX)) names.push(name);
      });
      for (const name of names) copy.headers.delete(name);
      return copy;
    });
  },
} satisfies ExportedHandler<Env>;
