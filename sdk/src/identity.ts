/**
 * The mesh's identity vocabulary, defined once for the SDK, the gateway, the control plane and the
 * CLI: service names, SPIFFE IDs (`spiffe://<trustDomain>/ns/<namespace>/sa/<service>`) and the
 * clock skew every token check tolerates. Free of zod and yaml, so the SDK's main entry stays small.
 */

/**
 * A service (and namespace, route, policy) name: lowercase letters, digits and '-', starting and
 * ending with a letter or digit (a DNS label, so `<service>.mesh` is a host name). The config
 * schema checks names with it, together with {@link NAME_MAX_LENGTH}.
 * @example
 * NAME_PATTERN.test("orders-v2"); // true
 */
export const NAME_PATTERN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * The longest name: a DNS label's 63 characters.
 * @example
 * "a".repeat(64).length > NAME_MAX_LENGTH; // too long
 */
export const NAME_MAX_LENGTH = 63;

/**
 * Whether `name` is a name the mesh config accepts (pattern and length).
 * @example
 * isServiceName("orders"); // true
 * isServiceName("Orders"); // false
 */
export function isServiceName(name: string): boolean {
  return name.length <= NAME_MAX_LENGTH && NAME_PATTERN.test(name);
}

/**
 * Clock skew tolerated on token times (exp, nbf, iat; RFC 8725 practice): 60 s. Verifiers in the
 * gateway and in functions, and the control plane's key retirement, all allow the same amount.
 * @example
 * await jwtVerify(token, key, { clockTolerance: CLOCK_SKEW_SECONDS });
 */
export const CLOCK_SKEW_SECONDS = 60;

/**
 * Least time between a verifier's refetches of the mesh's JWKS for a `kid` it does not know: the
 * SDK's `verifyInbound` and the gateway's key cache both wait this long, so tokens with made-up
 * `kid`s cannot make them hammer the gateway or the control plane. A new key's first tokens can
 * therefore meet a verifier that may not refetch yet; the control plane lets a key sign only once it
 * has been published long enough for that (docs/architecture.md#signing-keys).
 * @example
 * createRemoteJWKSet(url, { cooldownDuration: JWKS_REFETCH_COOLDOWN_SECONDS * 1000 });
 */
export const JWKS_REFETCH_COOLDOWN_SECONDS = 30;

/** A workload's identity, the parts of its SPIFFE ID. */
export interface SpiffeIdentity {
  trustDomain: string;
  namespace: string;
  service: string;
}

/** The caller a verified token names: its service, namespace and full SPIFFE ID. */
export interface MeshIdentity {
  service: string;
  namespace: string;
  spiffeId: string;
}

// Namespace and service segments are as the mesh has always read them: lowercase letters, digits
// and '-'. The trust domain is whatever comes before the first '/'.
const SPIFFE_ID = /^spiffe:\/\/([^/]+)\/ns\/([a-z0-9-]+)\/sa\/([a-z0-9-]+)$/;

/**
 * The SPIFFE ID of `service` in `namespace` of `trustDomain`.
 * @example
 * formatSpiffeId({ trustDomain: "shop.weft", namespace: "default", service: "orders" });
 * // "spiffe://shop.weft/ns/default/sa/orders"
 */
export function formatSpiffeId(identity: SpiffeIdentity): string {
  return `spiffe://${identity.trustDomain}/ns/${identity.namespace}/sa/${identity.service}`;
}

/**
 * Splits a SPIFFE ID of the mesh's form into its parts; `undefined` for anything else (another
 * shape, upper case, extra segments).
 * @example
 * parseSpiffeId("spiffe://shop.weft/ns/default/sa/orders");
 * // { trustDomain: "shop.weft", namespace: "default", service: "orders" }
 */
export function parseSpiffeId(id: string): SpiffeIdentity | undefined {
  const found = SPIFFE_ID.exec(id);
  if (!found) return undefined;
  return { trustDomain: found[1] as string, namespace: found[2] as string, service: found[3] as string };
}

/**
 * The identity a SPIFFE ID names, only when it is in `trustDomain`: a token subject from another
 * mesh is refused the same way as a malformed one.
 * @example
 * identityInTrustDomain("spiffe://shop.weft/ns/default/sa/billing", "shop.weft");
 * // { spiffeId: "spiffe://shop.weft/ns/default/sa/billing", namespace: "default", service: "billing" }
 */
export function identityInTrustDomain(id: string, trustDomain: string): MeshIdentity | undefined {
  const parts = parseSpiffeId(id);
  if (!parts || parts.trustDomain !== trustDomain) return undefined;
  return { spiffeId: id, namespace: parts.namespace, service: parts.service };
}

/** An HTTP token (RFC 9110 §5.6.2): what method and header names are made of. */
export const HTTP_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** A Worker's name as wrangler and Cloudflare accept it: lowercase letters, digits and '-', at most 63 characters. */
export const WORKER_NAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
