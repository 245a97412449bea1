/**
 * The weft configuration model: the only definition of every config shape (types come from
 * `z.infer`). Each field's description states its unit, its default and what it overrides; the
 * descriptions flow into the JSON Schema (`npm run schema`) and the config reference.
 *
 * Documents are validated here one by one; checks that need the whole set (references, duplicate
 * names, weights) live in `validate.ts`.
 */
import { z } from "zod";
import { parseDuration } from "./duration.js";

/** Every default in one place, so docs, compiler and tests agree. */
export const CONFIG_DEFAULTS = {
  namespace: "default",
  trustDomain: "weft.local",
  identityMode: "STRICT",
  tokenTTLms: 10 * 60_000,
  maxTokenTTLms: 15 * 60_000,
  keyRotationMs: 24 * 60 * 60_000,
  endpointWeight: 1,
  loadBalancer: "ROUND_ROBIN",
  /** Whole-request timeout when neither the route rule nor the service sets one. */
  timeoutMs: 15_000,
} as const;

export const API_VERSION = "weft/v1";

const NAME_PATTERN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const HTTP_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

const name = (what: string) =>
  z
    .string()
    .min(1)
    .max(63)
    .regex(NAME_PATTERN, `${what} must be lowercase letters, digits and '-', starting and ending with a letter or digit`);

/** Durations are strings such as `250ms`, `5s`, `10m`, `1h`; parsed to milliseconds. */
export const Duration = z
  .string()
  .describe("Duration: a number followed by ms, s, m or h (e.g. 250ms, 5s, 10m).")
  .transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === undefined) {
      ctx.addIssue({ code: "custom", message: `"${text}" is not a duration; write e.g. 250ms, 5s, 10m or 1h` });
      return z.NEVER;
    }
    return ms;
  });

const regexSource = z
  .string()
  .min(1)
  .max(1024)
  .superRefine((source, ctx) => {
    try {
      new RegExp(source);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: `invalid regular expression: ${(error as Error).message}` });
    }
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
  });

export const Subset = z
  .object({
    name: name("subset name").describe("Subset name, unique within the service (e.g. v1, v2)."),
    labels: z.record(z.string().max(63), z.string().max(256)).optional().describe("Free-form labels of this subset."),
    endpoints: z.array(Endpoint).min(1, "a subset needs at least one endpoint").max(256).describe("Endpoints serving this subset."),
  })
  .strict();

export const LoadBalancerPolicy = z.enum(["ROUND_ROBIN", "RANDOM"]);

export const TrafficPolicy = z
  .object({
    loadBalancer: z
      .object({
        policy: LoadBalancerPolicy.default(CONFIG_DEFAULTS.loadBalancer).describe(
          `How an endpoint is chosen within a subset: ROUND_ROBIN (weighted) or RANDOM (weighted). Default ${CONFIG_DEFAULTS.loadBalancer}.`,
        ),
      })
      .strict()
      .prefault({})
      .describe("Endpoint selection within a subset."),
    timeout: Duration.optional().describe(
      `Whole-request timeout for calls to this service, in a duration string. Default ${CONFIG_DEFAULTS.timeoutMs / 1000}s. A route rule's timeout replaces it.`,
    ),
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
    z.object({ regex: regexSource.describe("Matches when the whole value matches this regular expression (anchored).") }).strict(),
    z.object({ present: z.literal(true).describe("Matches when the header or parameter is present, whatever its value.") }).strict(),
  ], { error: "expected exactly one of exact, prefix, regex, present" })
  .describe("One of exact, prefix, regex or present.");

export const PathMatch = z
  .union([
    z.object({ exact: z.string().startsWith("/", "path.exact must start with /").max(4096).describe("The path equals this string.") }).strict(),
    z.object({ prefix: z.string().startsWith("/", "path.prefix must start with /").max(4096).describe("The path starts with this string (character-wise, like Envoy).") }).strict(),
    z.object({ regex: regexSource.describe("The whole path matches this regular expression (anchored).") }).strict(),
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
        prefix: z.string().startsWith("/", "rewrite.prefix must start with /").max(4096).describe("Replaces the matched path prefix (or the whole path for an exact match)."),
      })
      .strict()
      .optional()
      .describe("Path rewrite applied before forwarding; needs a path prefix or exact match on every match entry."),
    timeout: Duration.optional().describe("Whole-request timeout for this rule; replaces the service's timeout."),
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

export const DOCUMENT_SCHEMAS = {
  Mesh: MeshDocument,
  Service: ServiceDocument,
  Route: RouteDocument,
  AuthorizationPolicy: AuthorizationPolicyDocument,
} as const;

export type DocumentKind = keyof typeof DOCUMENT_SCHEMAS;
export const DOCUMENT_KINDS = Object.keys(DOCUMENT_SCHEMAS) as DocumentKind[];

/** Any weft document, discriminated by `kind`. */
export const ConfigDocument = z.discriminatedUnion("kind", [MeshDocument, ServiceDocument, RouteDocument, AuthorizationPolicyDocument]);

export type MeshDoc = z.output<typeof MeshDocument>;
export type ServiceDoc = z.output<typeof ServiceDocument>;
export type RouteDoc = z.output<typeof RouteDocument>;
export type AuthorizationPolicyDoc = z.output<typeof AuthorizationPolicyDocument>;
export type ConfigDoc = z.output<typeof ConfigDocument>;
/** A document as written by a user (durations as strings, defaults not yet applied). */
export type ConfigDocInput = z.input<typeof ConfigDocument>;
export type HttpRuleConfig = z.output<typeof HttpRule>;
export type RequestMatchConfig = z.output<typeof RequestMatch>;
export type StringMatchConfig = z.output<typeof StringMatch>;
export type PathMatchConfig = z.output<typeof PathMatch>;
export type EndpointConfig = z.output<typeof Endpoint>;
export type RouteDestinationConfig = z.output<typeof RouteDestination>;
