/**
 * The weft configuration model: the only definition of every config shape (types come from
 * `z.infer`). Each field's description states its unit, its default and what it overrides; the
 * descriptions flow into the JSON Schema (`npm run schema`) and the config reference.
 *
 * Documents are validated here one by one; checks that need the whole set (references, duplicate
 * names, weights) live in `validate.ts`.
 */
import * as z from "zod";
import { HTTP_TOKEN, NAME_MAX_LENGTH, NAME_PATTERN, WORKER_NAME } from "../identity.js";
import { DURATION_PATTERN, parseDuration } from "./duration.js";
import { routeRegexProblem } from "./regex.js";
import { CONFIG_DEFAULTS } from "./defaults.js";

export const API_VERSION = "weft/v1";


const name = (what: string) =>
  z
    .string()
    .min(1)
    .max(NAME_MAX_LENGTH)
    .regex(NAME_PATTERN, `${what} must be lowercase letters, digits and '-', starting and ending with a letter or digit`);

/** Durations are strings such as `250ms`, `5s`, `10m`, `1h`; parsed to milliseconds. */
export const Duration = z
  .string()
  // A regex check (not only the parse below) so the JSON Schema gives editors the syntax as `pattern`.
  .regex(DURATION_PATTERN, { error: (issue) => notADuration(issue.input) })
  .describe("Duration: a number followed by ms, s, m or h (e.g. 250ms, 5s, 10m).")
  .transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === undefined) {
      ctx.addIssue({ code: "custom", message: notADuration(text) });
      return z.NEVER;
    }
    return ms;
  });

function notADuration(text: unknown): string {
  return `${JSON.stringify(text)} is not a duration; write e.g. 250ms, 5s, 10m or 1h`;
}

/** A route regex: RE2 syntax, checked with the engine the gateway matches with (regex.ts). */
/** URL path characters (RFC 3986 pchar and "/"), percent-escapes included. */
const URL_PATH = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*$/;

/**
 * Why a rewrite prefix would not reach the destination as written, if it would not: the gateway
 * authorizes the rewritten path and forwards it byte for byte, so the prefix must already be a
 * normalized path that no URL parser changes on the way out.
 */
export function rewritePrefixProblem(prefix: string): string | undefined {
  if (!URL_PATH.test(prefix)) return "may hold only URL path characters (letters, digits, -._~!$&'()*+,;=:@/ and %XX escapes); percent-escape anything else";
  if (/%(?:2f|5c|00)/i.test(prefix)) return "must not contain an encoded slash, backslash or NUL (%2F, %5C, %00)";
  if (prefix.includes("//")) return "must not contain an empty segment (//)";
  if (prefix.split("/").some((segment) => segment === "." || segment === "..")) return "must not contain . or .. segments";
  return undefined;
}

const regexSource = z
  .string()
  .min(1)
  .max(1024)
  .superRefine((source, ctx) => {
    const problem = routeRegexProblem(source);
    if (problem !== undefined) ctx.addIssue({ code: "custom", message: `invalid regular expression: ${problem}` });
  });

export const Metadata = z
  .object({
    name: name("metadata.name").describe("Name of the document, unique per kind. Required."),
    namespace: name("metadata.namespace")
      .default(CONFIG_DEFAULTS.namespace)
      .describe(`Namespace, used in SPIFFE IDs (spiffe://<trustDomain>/ns/<namespace>/sa/<service>). Default "${CONFIG_DEFAULTS.namespace}".`),
    labels: z.record(z.string().max(63), z.string().max(256)).optional().describe("Free-form labels; weft does not interpret them."),
  })
  .strict();

// ---------------------------------------------------------------------------------------- Mesh

export const IdentityMode = z.enum(["STRICT", "PERMISSIVE"]);

export const MeshSpec = z
  .object({
    trustDomain: z
      .string()
      .min(1)
      .max(255)
      .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, "trustDomain must be a DNS-style name (lowercase letters, digits, '-' and '.')")
      .default(CONFIG_DEFAULTS.trustDomain)
      .describe(`SPIFFE trust domain of the mesh's service identities. Default "${CONFIG_DEFAULTS.trustDomain}".`),
    identity: z
      .object({
        mode: IdentityMode.default(CONFIG_DEFAULTS.identityMode).describe(
          "STRICT: mesh calls need a valid service identity (routes marked public excepted); PERMISSIVE: callers without one are anonymous. An invalid token is refused in both. Default STRICT.",
        ),
        tokenTTL: Duration.prefault("10m")
          .refine((ms) => ms >= 60_000 && ms <= CONFIG_DEFAULTS.maxTokenTTLms, "tokenTTL must be between 1m and 15m")
          .describe("Lifetime of a service identity token. Default 10m, at most 15m."),
        keyRotation: Duration.prefault("24h")
          .refine((ms) => ms >= 60 * 60_000, "keyRotation must be at least 1h")
          .describe("How often the signing key rotates. Default 24h, at least 1h."),
      })
      .strict()
      .prefault({})
      .describe("Service identity settings."),
    telemetry: z
      .object({
        tracing: z
          .object({
            sampling: z
              .number()
              .min(0)
              .max(1, "tracing.sampling is a fraction between 0 and 1")
              .default(CONFIG_DEFAULTS.traceSampling)
              .describe(`Head sampling: the fraction of new traces recorded; a caller's sampled flag is followed. Default ${CONFIG_DEFAULTS.traceSampling}.`),
            collector: z
              .object({
                url: z.url({ protocol: /^https?$/, error: "collector.url must be an absolute http(s) URL" }).optional().describe("OTLP/HTTP traces endpoint, e.g. https://otel.example.com/v1/traces."),
                binding: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "collector.binding must be a Worker binding name").optional().describe("A service binding on the gateway that accepts OTLP/HTTP JSON at /v1/traces."),
                headers: z
                  .record(
                    z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, "collector header names must be HTTP header names"),
                    z.union(
                      [
                        z
                          .object({ secret: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "secret must be the name of a Worker secret").describe("Name of a Worker secret of the gateway (wrangler secret put NAME) whose value is sent; the config holds only the name.") })
                          .strict(),
                        z.object({ value: z.string().max(1024).describe("A value that is no secret, sent as written (it is stored in the config).") }).strict(),
                      ],
                      { error: "a collector header is { secret: NAME } or { value: text }" },
                    ),
                  )
                  .refine((headers) => Object.keys(headers).length <= 16, "at most 16 collector headers")
                  .optional()
                  .describe("Headers sent with every export, such as a hosted backend's API key: { x-api-key: { secret: OTEL_API_KEY } }."),
                compression: z
                  .enum(["gzip", "none"], { error: "compression must be gzip or none" })
                  .optional()
                  .describe("gzip (Content-Encoding: gzip, which OTLP/HTTP collectors accept) or none. Default gzip for a url, none for a binding."),
              })
              .strict()
              .refine((c) => (c.url === undefined) !== (c.binding === undefined), "collector needs exactly one of url or binding")
              .optional()
              .describe("Where spans go, as OTLP/HTTP JSON in batches. Absent: no spans are recorded (trace context is still propagated)."),
          })
          .strict()
          .prefault({})
          .describe("Distributed tracing (W3C Trace Context, OTLP/HTTP JSON)."),
        accessLog: z
          .object({
            enabled: z.boolean().default(false).describe("Write one JSON line per request through console.log. Default false."),
            sampling: z.number().min(0).max(1).default(1).describe("Fraction of requests logged when enabled. Default 1."),
          })
          .strict()
          .prefault({})
          .describe("Structured access logs (never tokens, credentials or bodies)."),
      })
      .strict()
      .prefault({})
      .describe("Metrics, traces and access logs."),
  })
  .strict();

// ------------------------------------------------------------------------------------- Service

export const Endpoint = z
  .object({
    binding: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "binding must be a Worker binding name such as HTTPBIN_V1")
      .optional()
      .describe("Name of a service binding on the gateway Worker that reaches this endpoint. Exactly one of binding or url."),
    worker: z
      .string()
      .regex(WORKER_NAME, "worker must be a Worker name: lowercase letters, digits and '-', at most 63 characters")
      .optional()
      .describe("The Worker (its wrangler `name`) the binding reaches; `weft bindings` writes the gateway's service binding from it. Only with binding."),
    url: z
      .url({ protocol: /^https?$/, error: "url must be an absolute http(s) URL" })
      .optional()
      .describe("Base URL of this endpoint (http or https); the request path is appended. Exactly one of binding or url."),
    locality: z.string().max(64).optional().describe("Where the endpoint runs (e.g. a region or colo name); used by locality-aware balancing."),
    weight: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(CONFIG_DEFAULTS.endpointWeight)
      .describe(`Relative share of this endpoint within its subset, 1..1000. Default ${CONFIG_DEFAULTS.endpointWeight}.`),
  })
  .strict()
  .superRefine((endpoint, ctx) => {
    if ((endpoint.binding === undefined) === (endpoint.url === undefined)) {
      ctx.addIssue({ code: "custom", message: "an endpoint needs exactly one of binding or url" });
    }
    if (endpoint.worker !== undefined && endpoint.binding === undefined) {
      ctx.addIssue({ code: "custom", path: ["worker"], message: "worker names the Worker a binding reaches: it needs binding, not url" });
    }
  });

export const Subset = z
  .object({
    name: name("subset name").describe("Subset name, unique within the service (e.g. v1, v2)."),
    labels: z.record(z.string().max(63), z.string().max(256)).optional().describe("Free-form labels of this subset."),
    endpoints: z.array(Endpoint).min(1, "a subset needs at least one endpoint").max(256).describe("Endpoints serving this subset."),
  })
  .strict();

export const LoadBalancerPolicy = z.enum(["ROUND_ROBIN", "RANDOM", "LEAST_REQUEST", "CONSISTENT_HASH"]);

export const HashOn = z
  .union(
    [
      z.object({ header: z.string().regex(HTTP_TOKEN, "hashOn.header must be an HTTP header name").transform((h) => h.toLowerCase()).describe("Hash on this request header's value.") }).strict(),
      z.object({ cookie: z.string().min(1).max(256).describe("Hash on this cookie's value.") }).strict(),
      z.object({ caller: z.literal(true).describe("Hash on the caller's service identity (anonymous callers hash on nothing and are spread at random).") }).strict(),
    ],
    { error: "hashOn needs exactly one of header, cookie or caller: true" },
  )
  .describe("What CONSISTENT_HASH hashes: one of header, cookie or caller: true.");

const percent = (what: string) =>
  z
    .number({ error: `${what} must be a number` })
    .gt(0, `${what} must be more than 0`)
    .max(100, `${what} must be at most 100`);

const RETRY_ON_MESSAGE = 'retryOn entries are connect-failure, reset, gateway-error, 5xx or an HTTP status such as "503"';
const RetryOnValue = z
  .union([
    z.string().regex(/^(connect-failure|reset|gateway-error|5xx|[1-5]\d\d)$/, RETRY_ON_MESSAGE),
    z.number({ error: RETRY_ON_MESSAGE }).int(RETRY_ON_MESSAGE).min(100, RETRY_ON_MESSAGE).max(599, RETRY_ON_MESSAGE).transform(String),
  ], { error: RETRY_ON_MESSAGE })
  .describe('connect-failure, reset, gateway-error (502/503/504 and per-try timeouts), 5xx, or a status code such as "503".');

/** Retry settings as a route rule may give them (replacing the service's, not merged with them). */
export const Retries = z
  .object({
    attempts: z
      .number()
      .int("attempts must be a whole number")
      .min(1, "attempts must be at least 1 (1 turns retries off)")
      .max(10, "attempts must be at most 10")
      .default(CONFIG_DEFAULTS.retryAttempts)
      .describe(`Attempts in total, the first included; 1 turns retries off. Default ${CONFIG_DEFAULTS.retryAttempts}.`),
    perTryTimeout: Duration.optional().describe("Timeout of each attempt; an attempt that runs out counts as a 504 for retryOn. Default: none (the whole-request timeout applies)."),
    retryOn: z
      .array(RetryOnValue)
      .min(1)
      .max(32)
      .default([...CONFIG_DEFAULTS.retryOn])
      .describe(`Which failures are retried. Default ${CONFIG_DEFAULTS.retryOn.join(", ")}.`),
    retryNonIdempotent: z
      .boolean()
      .default(false)
      .describe("Also retry methods that are not idempotent (POST, PATCH). Default false: only GET, HEAD, OPTIONS, TRACE, PUT and DELETE are retried."),
    backoff: z
      .object({
        base: Duration.prefault(`${CONFIG_DEFAULTS.backoffBaseMs}ms`).describe(`First backoff step; doubles per retry, with full jitter. Default ${CONFIG_DEFAULTS.backoffBaseMs}ms.`),
        max: Duration.prefault(`${CONFIG_DEFAULTS.backoffMaxMs}ms`).describe(`Longest backoff step. Default ${CONFIG_DEFAULTS.backoffMaxMs}ms.`),
      })
      .strict()
      .prefault({})
      .describe("Exponential backoff with full jitter between attempts; a Retry-After answer waits at least that long."),
    hedge: z
      .object({
        delay: Duration.describe("How long to wait for the first attempt before sending a second one to another endpoint."),
      })
      .strict()
      .optional()
      .describe("Hedging for idempotent requests: a second attempt after `delay`; the first answer wins and the other is cancelled. Counts against the retry budget. Default: off."),
  })
  .strict();

export const RetryBudget = z
  .object({
    ratio: z
      .number()
      .min(0)
      .max(1, "budget.ratio is a fraction between 0 and 1")
      .default(CONFIG_DEFAULTS.retryBudgetRatio)
      .describe(`Retries allowed as a fraction of requests. Default ${CONFIG_DEFAULTS.retryBudgetRatio}.`),
    minPerSecond: z
      .number()
      .min(0)
      .max(100_000)
      .default(CONFIG_DEFAULTS.retryBudgetMinPerSecond)
      .describe(
        `Retries per second allowed whatever the ratio (so low traffic can retry), for the whole fleet: each gateway isolate gets its share by its part of the destination's traffic. Default ${CONFIG_DEFAULTS.retryBudgetMinPerSecond}.`,
      ),
    window: Duration.prefault(`${CONFIG_DEFAULTS.retryBudgetWindowMs / 1000}s`)
      .refine((ms) => ms >= 1000 && ms <= 600_000, "budget.window must be between 1s and 10m")
      .describe(`Window over which requests and retries are counted. Default ${CONFIG_DEFAULTS.retryBudgetWindowMs / 1000}s.`),
  })
  .strict();

export const ServiceRetries = Retries.extend({
  budget: RetryBudget.prefault({}).describe("Retry budget of this destination, per gateway isolate (Linkerd): it caps retries from every route that reaches the service."),
}).strict();

export const OutlierDetection = z
  .object({
    consecutive5xx: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(CONFIG_DEFAULTS.consecutive5xx)
      .describe(`Consecutive 5xx answers (or gateway errors: connect failures, timeouts) that eject an endpoint. Default ${CONFIG_DEFAULTS.consecutive5xx}.`),
    consecutiveGatewayErrors: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .optional()
      .describe("Consecutive gateway errors (502, 503, 504, connect failures, timeouts) that eject an endpoint. Default: not used."),
    baseEjectionTime: Duration.prefault(`${CONFIG_DEFAULTS.baseEjectionMs / 1000}s`).describe(
      `An ejection lasts this long times the number of times the endpoint has been ejected. Default ${CONFIG_DEFAULTS.baseEjectionMs / 1000}s.`,
    ),
    maxEjectionTime: Duration.prefault(`${CONFIG_DEFAULTS.maxEjectionMs / 1000}s`).describe(`Longest ejection. Default ${CONFIG_DEFAULTS.maxEjectionMs / 1000}s.`),
    maxEjectionPercent: z
      .number()
      .min(0)
      .max(100)
      .default(CONFIG_DEFAULTS.maxEjectionPercent)
      .describe(`Most of a subset's endpoints that may be ejected at once, in percent; at least one may always be. 0 never ejects. Default ${CONFIG_DEFAULTS.maxEjectionPercent}.`),
  })
  .strict();

export const RateLimit = z
  .object({
    requestsPerSecond: z.number({ error: "requestsPerSecond must be a number" }).gt(0, "requestsPerSecond must be more than 0").max(1_000_000).describe("Sustained rate, requests per second. Required."),
    burst: z.number().int().min(1).max(10_000_000).optional().describe("Bucket size: requests admitted at once after a quiet spell. Default: requestsPerSecond rounded up."),
    per: z
      .enum(["destination", "source"])
      .default(CONFIG_DEFAULTS.rateLimitPer)
      .describe(`destination: one bucket for the service; source: one bucket per caller identity (anonymous callers share one). Default ${CONFIG_DEFAULTS.rateLimitPer}.`),
    scope: z
      .enum(["local", "global"])
      .default(CONFIG_DEFAULTS.rateLimitScope)
      .describe(`local: buckets in each gateway isolate (no I/O; the fleet admits the rate once per isolate); global: tokens leased from a Durable Object per key, so the limit holds across isolates (see docs/rate-limits.md for its cost). Default ${CONFIG_DEFAULTS.rateLimitScope}.`),
  })
  .strict();

export const TrafficPolicy = z
  .object({
    loadBalancer: z
      .object({
        policy: LoadBalancerPolicy.default(CONFIG_DEFAULTS.loadBalancer).describe(
          `How an endpoint is chosen within a subset: ROUND_ROBIN (weighted), RANDOM (weighted), LEAST_REQUEST (power of two choices on in-flight requests) or CONSISTENT_HASH (rendezvous hashing on hashOn). Default ${CONFIG_DEFAULTS.loadBalancer}.`,
        ),
        hashOn: HashOn.optional(),
        localityAware: z
          .boolean()
          .default(CONFIG_DEFAULTS.localityAware)
          .describe("Prefer endpoints whose locality equals the request's colo, then its continent, then the failover list, then the rest; move on when none is healthy. Default true."),
        failover: z
          .array(z.string().min(1).max(64))
          .max(64)
          .optional()
          .describe("Localities to try, in order, when none matches the request's location or those are all ejected."),
      })
      .strict()
      .prefault({})
      .describe("Endpoint selection within a subset."),
    timeout: Duration.optional().describe(
      `Whole-request timeout for calls to this service, all attempts included. Default ${CONFIG_DEFAULTS.timeoutMs / 1000}s. A route rule's timeout replaces it.`,
    ),
    retries: ServiceRetries.prefault({}).describe("Retries for calls to this service (on by default: 3 attempts). A route rule's retries replace these, except the budget."),
    outlierDetection: OutlierDetection.optional().describe("Ejects failing endpoints for a while (Envoy outlier detection). Default: off; `{}` turns it on with the defaults."),
    circuitBreaker: z
      .object({
        maxConcurrentRequests: z
          .number()
          .int()
          .min(1)
          .max(1_000_000)
          .default(CONFIG_DEFAULTS.maxConcurrentRequests)
          .describe(`Requests in flight to this service per gateway isolate; beyond it the gateway answers 503 at once. Default ${CONFIG_DEFAULTS.maxConcurrentRequests}.`),
      })
      .strict()
      .prefault({})
      .describe("Concurrency limit per destination."),
    rateLimit: RateLimit.optional().describe("Token-bucket rate limit for calls to this service; excess gets 429 with Retry-After. Default: none."),
  })
  .strict();

export const ServiceSpec = z
  .object({
    subsets: z.array(Subset).min(1, "a service needs at least one subset").max(64).describe("Named groups of endpoints, e.g. one per version."),
    trafficPolicy: TrafficPolicy.prefault({}).describe("How traffic to this service is handled; route rules may override parts of it."),
  })
  .strict();

// --------------------------------------------------------------------------------------- Route

export const StringMatch = z
  .union([
    z.object({ exact: z.string().max(4096).describe("Matches when the value equals this string.") }).strict(),
    z.object({ prefix: z.string().max(4096).describe("Matches when the value starts with this string.") }).strict(),
    z.object({ regex: regexSource.describe("Matches when the whole value matches this RE2 regular expression (anchored; linear time, so no backreferences or lookaround).") }).strict(),
    z.object({ present: z.literal(true).describe("Matches when the header or parameter is present, whatever its value.") }).strict(),
  ], { error: "expected exactly one of exact, prefix, regex, present" })
  .describe("One of exact, prefix, regex or present.");

export const PathMatch = z
  .union([
    z.object({ exact: z.string().startsWith("/", "path.exact must start with /").max(4096).describe("The path equals this string.") }).strict(),
    z.object({ prefix: z.string().startsWith("/", "path.prefix must start with /").max(4096).describe("The path starts with this string (character-wise, like Envoy).") }).strict(),
    z.object({ regex: regexSource.describe("The whole path matches this RE2 regular expression (anchored; linear time, so no backreferences or lookaround).") }).strict(),
  ], { error: "expected exactly one of exact, prefix, regex" })
  .describe("One of exact, prefix or regex.");

const HttpMethod = z
  .string()
  .regex(HTTP_TOKEN, "method must be an HTTP method token such as GET")
  .transform((m) => m.toUpperCase());

export const RequestMatch = z
  .object({
    path: PathMatch.optional().describe("Condition on the request path (before any rewrite). Absent: any path."),
    method: z
      .union([HttpMethod, z.array(HttpMethod).min(1)], { error: "method must be an HTTP method or a list of them" })
      .optional()
      .transform((m) => (m === undefined ? undefined : Array.isArray(m) ? m : [m]))
      .describe("An HTTP method or a list of them. Absent: any method."),
    headers: z
      .record(z.string().regex(HTTP_TOKEN, "header names must be HTTP tokens").transform((h) => h.toLowerCase()), StringMatch)
      .optional()
      .describe("Conditions on request headers, all of which must hold. Names are case-insensitive."),
    query: z.record(z.string().min(1).max(256), StringMatch).optional().describe("Conditions on query parameters, all of which must hold."),
  })
  .strict();

export const RouteDestination = z
  .object({
    service: name("service").describe("Name of the destination Service."),
    subset: name("subset").optional().describe("Subset of that service. Absent: every endpoint of every subset."),
    weight: z
      .number({ error: "weight must be a number" })
      .int("weight must be a whole number")
      .min(1, "weight must be between 1 and 100")
      .max(100, "weight must be between 1 and 100")
      .optional()
      .describe("Percentage of the rule's traffic, 1..100; the weights of a rule add up to 100. May be left out when the rule has one destination."),
  })
  .strict();

export const HttpRule = z
  .object({
    name: z.string().max(128).optional().describe("Label for this rule in explanations and telemetry."),
    match: z
      .array(RequestMatch)
      .min(1)
      .max(64)
      .optional()
      .describe("Any one of these must match (OR); the conditions inside one entry must all hold (AND). Absent: matches every request."),
    destinations: z.array(RouteDestination).min(1, "a rule needs at least one destination").max(64).describe("Where matching requests go, split by weight."),
    rewrite: z
      .object({
        prefix: z
          .string()
          .startsWith("/", "rewrite.prefix must start with /")
          .max(4096)
          .superRefine((prefix, ctx) => {
            const problem = rewritePrefixProblem(prefix);
            if (problem !== undefined) ctx.addIssue({ code: "custom", message: `rewrite.prefix ${problem}` });
          })
          .describe("Replaces the matched path prefix (or the whole path for an exact match). A normalized path of URL path characters (percent-escape the rest), without `.`/`..` segments, `//`, or encoded `/`, `\\` or NUL."),
      })
      .strict()
      .optional()
      .describe("Path rewrite applied before forwarding; needs a path prefix or exact match on every match entry."),
    timeout: Duration.optional().describe("Whole-request timeout for this rule, all attempts included; replaces the service's timeout."),
    retries: Retries.extend({
      budget: z
        .never({ error: "a retry budget belongs to the destination: set it in the Service's trafficPolicy.retries.budget" })
        .optional()
        .describe("Not allowed here: the budget is the destination's (Service trafficPolicy.retries.budget)."),
    })
      .strict()
      .optional()
      .describe("Retry settings for this rule; replace the service's (not merged). The service's budget still applies."),
    mirror: z
      .object({
        service: name("mirror.service").describe("Service that receives the copies."),
        subset: name("mirror.subset").optional().describe("Subset of that service. Absent: any endpoint of the service."),
        percent: percent("mirror.percent").default(100).describe("Share of the rule's requests copied, 0..100 (fractions allowed). Default 100."),
      })
      .strict()
      .optional()
      .describe("Shadow traffic: copies of requests sent in the background; their answers are discarded and never delay the caller. Copies carry x-weft-shadow: true."),
    fault: z
      .object({
        abort: z
          .object({
            percent: percent("fault.abort.percent").describe("Share of requests answered with `status` instead of being forwarded, 0..100."),
            status: z.number().int().min(400, "fault.abort.status must be 400..599").max(599, "fault.abort.status must be 400..599").describe("HTTP status of the injected failure (400..599)."),
          })
          .strict()
          .optional()
          .describe("Answer a share of the rule's requests with an error status instead of forwarding them."),
        delay: z
          .object({
            percent: percent("fault.delay.percent").describe("Share of requests held back before forwarding, 0..100."),
            fixed: Duration.refine((ms) => ms <= 60_000, "fault.delay.fixed must be at most 60s").describe("How long they are held back."),
          })
          .strict()
          .optional()
          .describe("Hold back a share of the rule's requests before forwarding them."),
        headers: z
          .record(z.string().regex(HTTP_TOKEN, "header names must be HTTP tokens").transform((h) => h.toLowerCase()), StringMatch)
          .optional()
          .describe("Inject only into requests whose headers match all of these. Absent: any request of the rule."),
      })
      .strict()
      .refine((fault) => fault.abort !== undefined || fault.delay !== undefined, "fault needs an abort, a delay or both")
      .optional()
      .describe("Fault injection for chaos testing: delays and aborts, per rule. Off unless configured."),
  })
  .strict();

export const RouteSpec = z
  .object({
    hosts: z
      .array(
        z
          .string()
          .min(1)
          .max(253)
          .regex(/^(\*|(\*\.)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?)(:\d{1,5})?$/i, "host must be a name such as api.example.com, *.example.com, orders.mesh or *")
          .transform((h) => h.toLowerCase()),
      )
      .min(1)
      .max(256)
      .describe('Hosts this route serves: exact names, "*.domain" wildcards, "<service>.mesh" for mesh calls, or "*" for any ingress host.'),
    public: z
      .boolean()
      .default(false)
      .describe("Anonymous callers may use this route even in STRICT mode (ingress). Default false."),
    http: z.array(HttpRule).min(1, "a route needs at least one rule").max(10_000).describe("Ordered rules; the first that matches wins."),
  })
  .strict();

// ------------------------------------------------------------------------ AuthorizationPolicy

export const AuthorizationAction = z.enum(["ALLOW", "DENY", "AUDIT"]);

export const AuthorizationRule = z
  .object({
    from: z
      .array(z.string().min(1).max(512))
      .min(1)
      .optional()
      .describe('Source identities: service names, SPIFFE IDs, "*" (any authenticated caller) or "unauthenticated". Absent: any source.'),
    to: z
      .array(
        z
          .object({
            methods: z.array(HttpMethod).min(1).optional().describe("HTTP methods. Absent: any method."),
            paths: z
              .array(z.string().min(1).max(4096).regex(/^(\*|\/.*)$/, 'paths are "/exact", "/prefix/*" or "*"'))
              .min(1)
              .optional()
              .describe('Paths: "/exact", "/prefix/*" or "*". Absent: any path.'),
          })
          .strict(),
      )
      .min(1)
      .optional()
      .describe("Operations. Absent: any operation."),
  })
  .strict();

export const AuthorizationPolicySpec = z
  .object({
    target: name("target").describe("Service the policy protects."),
    action: AuthorizationAction.default("ALLOW").describe("ALLOW, DENY or AUDIT (logged, never decides). Default ALLOW."),
    rules: z.array(AuthorizationRule).min(1).max(256).describe("The policy applies when any rule matches."),
  })
  .strict();

// ---------------------------------------------------------------------------------- Rollout

const RolloutStep = z.union(
  [
    z.object({ setWeight: z.number().int("setWeight must be a whole number").min(1, "setWeight must be 1..100").max(100, "setWeight must be 1..100").describe("Percent of the target's traffic for the canary from this step on.") }).strict(),
    z
      .object({
        pause: z
          .object({ duration: Duration.optional().describe("How long to hold the weight. Absent: until `weft rollout resume`.") })
          .strict()
          .describe("Hold the current weight, for a time or until resumed."),
      })
      .strict(),
  ],
  { error: "a step is { setWeight: N } or { pause: { duration } }" },
);

const RolloutAnalysis = z
  .object({
    interval: Duration.prefault(`${CONFIG_DEFAULTS.rolloutIntervalMs / 60_000}m`)
      .refine((ms) => ms >= CONFIG_DEFAULTS.rolloutMinIntervalMs, `analysis.interval must be at least ${CONFIG_DEFAULTS.rolloutMinIntervalMs / 1000}s`)
      .describe(`How often the canary is checked. Default ${CONFIG_DEFAULTS.rolloutIntervalMs / 60_000}m, at least ${CONFIG_DEFAULTS.rolloutMinIntervalMs / 1000}s.`),
    threshold: z
      .number()
      .int("threshold must be a whole number")
      .min(1, "threshold must be at least 1")
      .max(100)
      .default(CONFIG_DEFAULTS.rolloutThreshold)
      .describe(`Failed checks that roll the canary back. Default ${CONFIG_DEFAULTS.rolloutThreshold}.`),
    minRequests: z
      .number()
      .int("minRequests must be a whole number")
      .min(0)
      .max(1_000_000)
      .default(CONFIG_DEFAULTS.rolloutMinRequests)
      .describe(`Canary requests an interval needs before its check counts; with fewer the check is inconclusive and no step advances. Default ${CONFIG_DEFAULTS.rolloutMinRequests}.`),
    iterations: z
      .number()
      .int("iterations must be a whole number")
      .min(1)
      .max(1000)
      .default(CONFIG_DEFAULTS.rolloutIterations)
      .describe(`BlueGreen: passed checks on the canary subset before all traffic switches to it. Default ${CONFIG_DEFAULTS.rolloutIterations}.`),
    successRate: z
      .object({
        min: percent("successRate.min")
          .default(CONFIG_DEFAULTS.rolloutSuccessRateMinPercent)
          .describe(`Lowest canary success rate (answers that are not 5xx), in percent. Default ${CONFIG_DEFAULTS.rolloutSuccessRateMinPercent}.`),
        minRelativeToStable: z
          .number()
          .min(-100, "successRate.minRelativeToStable must be -100..0")
          .max(0, "successRate.minRelativeToStable must be -100..0")
          .optional()
          .describe("When set: how far (in percentage points, e.g. -1) the canary's success rate may trail the stable subset's."),
      })
      .strict()
      .prefault({})
      .describe("Success-rate bounds of a check."),
    latencyP99: z
      .object({
        max: Duration.prefault(`${CONFIG_DEFAULTS.rolloutLatencyP99MaxMs}ms`).describe(`Highest canary p99 latency. Default ${CONFIG_DEFAULTS.rolloutLatencyP99MaxMs}ms.`),
      })
      .strict()
      .prefault({})
      .describe("Latency bound of a check."),
    mirror: z
      .boolean()
      .default(false)
      .describe(
        "Flagger's traffic mirroring: while the canary's weight is 0 it receives copies (x-weft-shadow: true) of mirrorWeight percent of the target's requests, whose answers are checked and thrown away. Canary: one check on copies before the first weight moves; BlueGreen: every check. Default false.",
      ),
    mirrorWeight: percent("mirrorWeight").default(100).describe("Percent of the target's requests copied to the canary while mirroring. Default 100."),
  })
  .strict();

export const RolloutSpec = z
  .object({
    target: name("target").describe("Service whose traffic the rollout moves."),
    stable: name("stable").describe("Subset of the target serving today."),
    canary: name("canary").describe("Subset of the target being released."),
    strategy: z.enum(["Canary", "BlueGreen"], { error: "strategy must be Canary or BlueGreen" }).default("Canary").describe("Canary (weights move in steps) or BlueGreen (one switch after the analysis). Default Canary."),
    steps: z.array(RolloutStep).min(1).max(100).optional().describe("Canary steps in order (Argo Rollouts): setWeight and pause. Or give stepWeight and maxWeight."),
    stepWeight: z.number().int("stepWeight must be a whole number").min(1, "stepWeight must be 1..100").max(100, "stepWeight must be 1..100").optional().describe("Canary weight added per passed check (Flagger)."),
    maxWeight: z
      .number()
      .int("maxWeight must be a whole number")
      .min(1, "maxWeight must be 1..100")
      .max(100, "maxWeight must be 1..100")
      .optional()
      .describe("Highest weight before promotion (Flagger); a multiple of stepWeight. Default 100."),
    analysis: RolloutAnalysis.prefault({}).describe("How each interval is judged."),
    match: z
      .array(z.object({ headers: RequestMatch.shape.headers.unwrap().describe("Conditions on request headers, all of which must hold. Names are case-insensitive.") }).strict())
      .min(1)
      .max(16)
      .optional()
      .describe("Requests whose headers match any entry always go to the canary (e.g. x-canary: { exact: \"1\" })."),
  })
  .strict()
  .superRefine((spec, ctx) => {
    if (spec.stable === spec.canary) ctx.addIssue({ code: "custom", path: ["canary"], message: "stable and canary must be different subsets" });
    const flagger = spec.stepWeight !== undefined || spec.maxWeight !== undefined;
    if (spec.strategy === "BlueGreen") {
      if (spec.steps !== undefined || flagger) ctx.addIssue({ code: "custom", path: [spec.steps !== undefined ? "steps" : "stepWeight"], message: "a BlueGreen rollout switches once: it takes no steps, stepWeight or maxWeight" });
      // Its checks run before any live traffic reaches the canary: on copies or on opted-in requests.
      if (!spec.analysis.mirror && spec.match === undefined) {
        ctx.addIssue({ code: "custom", path: ["analysis", "mirror"], message: "a BlueGreen rollout checks the canary before switching, on mirrored or header-matched traffic: set analysis.mirror: true or give match" });
      }
      return;
    }
    if (spec.steps !== undefined && flagger) ctx.addIssue({ code: "custom", path: ["stepWeight"], message: "give either steps or stepWeight/maxWeight, not both" });
    if (spec.steps === undefined && spec.stepWeight === undefined) ctx.addIssue({ code: "custom", path: ["steps"], message: "a Canary rollout needs steps, or stepWeight (with maxWeight)" });
    if (spec.maxWeight !== undefined && spec.stepWeight === undefined) ctx.addIssue({ code: "custom", path: ["stepWeight"], message: "maxWeight needs stepWeight" });
    if (spec.stepWeight !== undefined) {
      const max = spec.maxWeight ?? 100;
      if (spec.stepWeight > max || max % spec.stepWeight !== 0) {
        const what = spec.maxWeight === undefined ? "maxWeight (default 100)" : `maxWeight ${max}`;
        ctx.addIssue({ code: "custom", path: ["maxWeight"], message: `${what} must be a multiple of stepWeight ${spec.stepWeight}, or the last step would overshoot it` });
      }
    }
    let last = 0;
    spec.steps?.forEach((step, index) => {
      if (!("setWeight" in step)) return;
      if (step.setWeight <= last) ctx.addIssue({ code: "custom", path: ["steps", index, "setWeight"], message: `weights must increase: ${step.setWeight} follows ${last}` });
      last = Math.max(last, step.setWeight);
    });
  });

export type RolloutSpecConfig = z.output<typeof RolloutSpec>;

// ---------------------------------------------------------------------------------- Documents

const document = <K extends string, S extends z.ZodType>(kind: K, spec: S, what: string) =>
  z
    .object({
      apiVersion: z.literal(API_VERSION, { error: `apiVersion must be "${API_VERSION}"` }).describe(`Always "${API_VERSION}".`),
      kind: z.literal(kind).describe(`Document kind: "${kind}".`),
      metadata: Metadata.describe("Identity of the document: name (unique per kind), namespace, labels."),
      spec: spec.describe(`The ${kind}'s settings.`),
    })
    .strict()
    .describe(what);

export const MeshDocument = document("Mesh", MeshSpec.prefault({}), "Mesh-wide settings: trust domain and identity. At most one per set; defaults apply when absent.");
export const ServiceDocument = document("Service", ServiceSpec, "A service: its subsets of endpoints and its traffic policy.");
export const RouteDocument = document("Route", RouteSpec, "How requests for some hosts are matched and sent to services.");
export const AuthorizationPolicyDocument = document(
  "AuthorizationPolicy",
  AuthorizationPolicySpec,
  "Who may call a service: ALLOW, DENY or AUDIT rules on source identity, methods and paths.",
);

export const RolloutDocument = document(
  "Rollout",
  RolloutSpec,
  "A progressive release of one service: traffic moves from its stable subset to its canary subset in steps, checked against the canary's telemetry, and rolls back by itself.",
);

export const DOCUMENT_SCHEMAS = {
  Mesh: MeshDocument,
  Service: ServiceDocument,
  Route: RouteDocument,
  AuthorizationPolicy: AuthorizationPolicyDocument,
  Rollout: RolloutDocument,
} as const;

export type DocumentKind = keyof typeof DOCUMENT_SCHEMAS;
export const DOCUMENT_KINDS = Object.keys(DOCUMENT_SCHEMAS) as DocumentKind[];

/** Any weft document, discriminated by `kind`. */
export const ConfigDocument = z.discriminatedUnion("kind", [MeshDocument, ServiceDocument, RouteDocument, AuthorizationPolicyDocument, RolloutDocument]);

export type MeshDoc = z.output<typeof MeshDocument>;
export type ServiceDoc = z.output<typeof ServiceDocument>;
export type RouteDoc = z.output<typeof RouteDocument>;
export type AuthorizationPolicyDoc = z.output<typeof AuthorizationPolicyDocument>;
export type RolloutDoc = z.output<typeof RolloutDocument>;
export type ConfigDoc = z.output<typeof ConfigDocument>;
/** A document as written by a user (durations as strings, defaults not yet applied). */
export type ConfigDocInput = z.input<typeof ConfigDocument>;
export type HttpRuleConfig = z.output<typeof HttpRule>;
export type RequestMatchConfig = z.output<typeof RequestMatch>;
export type StringMatchConfig = z.output<typeof StringMatch>;
export type PathMatchConfig = z.output<typeof PathMatch>;
export type EndpointConfig = z.output<typeof Endpoint>;
export type RouteDestinationConfig = z.output<typeof RouteDestination>;
export type TrafficPolicyConfig = z.output<typeof TrafficPolicy>;
export type RetriesConfig = z.output<typeof Retries>;
export type RetryBudgetConfig = z.output<typeof RetryBudget>;
export type OutlierDetectionConfig = z.output<typeof OutlierDetection>;
export type RateLimitConfig = z.output<typeof RateLimit>;
export type HashOnConfig = z.output<typeof HashOn>;
export type LoadBalancerPolicyConfig = z.output<typeof LoadBalancerPolicy>;
