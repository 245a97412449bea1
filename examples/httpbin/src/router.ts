/**
 * httpbin: the mesh's test function (docs/architecture.md#the-httpbin-test-function). One script deployed twice (subsets v1 and v2,
 * told apart by the VERSION var), so every answer carries "version" and a traffic split, retry or
 * mirror can be seen from the outside with curl.
 *
 * This module is the pure router (`createHttpbinRouter`, `router`), kept apart from the Worker entry
 * (./index.ts) so tests can drive it with a plain Request and a fake env, and inject randomness and
 * sleeping instead of waiting for real.
 */
import { Router, type IRequest } from "itty-router";

export interface Env {
  /** Subset name reported in every answer ("v1", "v2"); set by each wrangler TOML. */
  VERSION?: string;
}

/** What the router's handlers receive after the request (the Worker's fetch arguments). */
export type HttpbinArgs = [env: Env, ctx?: ExecutionContext];

export interface HttpbinOptions {
  /** Random number in [0, 1) used by /flaky. Default `Math.random`. */
  random?: () => number;
  /** How /delay waits. Default: a timer. */
  sleep?: (ms: number) => Promise<void>;
}

export const SERVICE = "httpbin";
/** Upper bound for /delay/:ms, so a typo can't hold a request (and a retry budget) for minutes. */
export const MAX_DELAY_MS = 10_000;
/** /flaky failure fraction when `rate` is not given. */
export const DEFAULT_FLAKY_RATE = 0.3;

/** The routes, as listed by `GET /`. */
export const ENDPOINTS = [
  "/",
  "/status/:code",
  "/delay/:ms",
  "/headers",
  "/anything",
  "/anything/*",
  "/flaky?rate=0.3",
  "/response-headers?name=value",
  "/base64/:value",
] as const;

/** /base64 answers at most this much HTML: it is a test page, not a file server. */
export const MAX_BASE64_BYTES = 16 * 1024;

// Statuses whose responses must not carry a body (Fetch spec "null body status").
const NULL_BODY_STATUSES = new Set([204, 205, 304]);

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

function versionOf(env: Env | undefined): string {
  return env?.VERSION ?? "unknown";
}

/** JSON answer that always names the service and subset; null-body statuses keep only the header. */
function reply(env: Env | undefined, status: number, body: Record<string, Json>): Response {
  const version = versionOf(env);
  // The header lets callers see the subset even on 204/304, which can't have a body.
  const headers = new Headers({ "x-httpbin-version": version, "cache-control": "no-store" });
  if (NULL_BODY_STATUSES.has(status)) return new Response(null, { status, headers });
  headers.set("content-type", "application/json; charset=utf-8");
  return new Response(JSON.stringify({ version, service: SERVICE, ...body }), { status, headers });
}

function errorReply(env: Env | undefined, status: number, code: string, message: string): Response {
  return reply(env, status, { error: { code, message } });
}

/** First value of a query parameter (itty-router gives arrays for repeated keys). */
function firstQuery(request: IRequest, name: string): string | undefined {
  const value = request.query[name];
  return Array.isArray(value) ? value[0] : value;
}

function headersObject(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  // Headers iterates with lowercase names and already joins repeated headers.
  for (const [name, value] of headers) out[name] = value;
  return out;
}

function queryObject(url: URL): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const [key, value] of url.searchParams) {
    const seen = out[key];
    out[key] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen as string, value];
  }
  return out;
}

function timerSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Builds the httpbin router. Its `fetch(request, env, ctx)` always resolves to a Response.
 * @example
 * const res = await createHttpbinRouter({ random: () => 0 }).fetch(new Request("http://x/flaky"), { VERSION: "v1" });
 */
export function createHttpbinRouter(options: HttpbinOptions = {}) {
  const random = options.random ?? Math.random;
  const sleep = options.sleep ?? timerSleep;

  const router = Router<IRequest, HttpbinArgs>({
    // An unexpected throw still answers JSON with the version, so tests can tell which subset broke.
    catch: function httpbinCatch(error: unknown, _request: IRequest, env: Env) {
      const message = error instanceof Error ? error.message : String(error);
      return errorReply(env, 500, "internal", message);
    },
    finally: [
      function httpbinMissing(response: Response | undefined, request: IRequest, env: Env) {
        return response ?? errorReply(env, 404, "not_found", `no httpbin route for ${request.method} ${new URL(request.url).pathname}`);
      },
    ],
  });

  router
    .get("/", function index(_request: IRequest, env: Env) {
      return reply(env, 200, { endpoints: [...ENDPOINTS] });
    })
    // Any method: callers test how the mesh treats a status for POST as well as GET (retries differ).
    .all("/status/:code", function status(request: IRequest, env: Env) {
      const raw = request.params.code ?? "";
      const code = /^\d{3}$/.test(raw) ? Number(raw) : NaN;
      if (!(code >= 100 && code <= 599)) {
        return errorReply(env, 400, "bad_status", `status must be an integer from 100 to 599, got "${raw}"`);
      }
      if (code < 200) {
        // A Worker can't send an informational status as its final answer (Response throws).
        return errorReply(env, 400, "bad_status", `informational status ${code} can't be a final response; use 200-599`);
      }
      return reply(env, code, { status: code });
    })
    .all("/delay/:ms", async function delay(request: IRequest, env: Env) {
      const raw = request.params.ms ?? "";
      if (!/^\d+$/.test(raw)) {
        return errorReply(env, 400, "bad_delay", `delay must be a whole number of milliseconds, got "${raw}"`);
      }
      const delayedMs = Math.min(Number(raw), MAX_DELAY_MS);
      await sleep(delayedMs);
      return reply(env, 200, { delayedMs });
    })
    .all("/headers", function headers(request: IRequest, env: Env) {
      return reply(env, 200, { headers: headersObject(request.headers) });
    })
    .all("/anything", anything)
    .all("/anything/*", anything)
    .all("/flaky", function flaky(request: IRequest, env: Env) {
      const raw = firstQuery(request, "rate");
      const rate = raw === undefined || raw === "" ? DEFAULT_FLAKY_RATE : Number(raw);
      if (!(rate >= 0 && rate <= 1)) {
        return errorReply(env, 400, "bad_rate", `rate must be a number from 0 to 1, got "${raw ?? ""}"`);
      }
      const failed = random() < rate;
      return reply(env, failed ? 503 : 200, { flaky: failed, rate });
    });

  router
    // As httpbin's: every query parameter becomes a response header (repeats are appended), so
    // tests can play a destination that sends any header, Set-Cookie included.
    .all("/response-headers", function responseHeaders(request: IRequest, env: Env) {
      const url = new URL(request.url);
      const response = reply(env, 200, { headers: queryObject(url) });
      try {
        for (const [name, value] of url.searchParams) response.headers.append(name, value);
      } catch (error) {
        return errorReply(env, 400, "bad_header", error instanceof Error ? error.message : String(error));
      }
      return response;
    })
    // As httpbin's: the decoded value as an HTML page, so tests can play a destination whose page
    // runs script in the browser (what any destination may do on its own origin).
    .get("/base64/:value", function base64(request: IRequest, env: Env) {
      const raw = request.params.value ?? "";
      let html: string;
      try {
        const binary = atob(decodeURIComponent(raw).replace(/-/g, "+").replace(/_/g, "/"));
        if (binary.length > MAX_BASE64_BYTES) return errorReply(env, 413, "too_large", `at most ${MAX_BASE64_BYTES} decoded bytes`);
        html = new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
      } catch {
        return errorReply(env, 400, "bad_base64", "the value is not base64");
      }
      return new Response(html, { headers: { "content-type": "text/html; charset=utf-8", "x-httpbin-version": versionOf(env), "cache-control": "no-store" } });
    });

  async function anything(request: IRequest, env: Env): Promise<Response> {
    const url = new URL(request.url);
    const body: Record<string, Json> = {
      method: request.method,
      path: url.pathname,
      query: queryObject(url),
      headers: headersObject(request.headers),
    };
    if (request.body !== null) {
      const text = await request.text();
      if (text !== "") body.body = text;
    }
    return reply(env, 200, body);
  }

  return router;
}

/** The router the Worker serves (real timers and Math.random). */
export const router = createHttpbinRouter();
