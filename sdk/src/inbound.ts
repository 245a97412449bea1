/**
 * The destination's side of identity: verify the hop token the gateway attached
 * (`x-weft-identity`): ES256, signed by a key in the mesh's JWKS (fetched through the function's
 * `WEFT` binding and cached), issued by this mesh, for this function as audience, unexpired.
 * A missing, forged, expired or other-audience token is refused.
 */
import { createRemoteJWKSet, customFetch, errors, jwtVerify, type JWTVerifyGetKey } from "jose";
import type { MeshBinding } from "./client.js";
import { runWithInbound } from "./context.js";
import { inboundDeadline } from "./deadline.js";
import { MeshError } from "./errors.js";
import { CLOCK_SKEW_SECONDS, formatSpiffeId, identityInTrustDomain, JWKS_REFETCH_COOLDOWN_SECONDS, type MeshIdentity } from "./identity.js";

export const IDENTITY_HEADER = "x-weft-identity";

export interface InboundOptions {
  /** The gateway binding (`env.WEFT`): the JWKS is read through it. */
  binding: MeshBinding;
  /** This function's service name, as in the mesh config. */
  service: string;
  /** The mesh's trust domain (`Mesh.spec.trustDomain`). */
  trustDomain: string;
  /** This function's namespace. Default "default". */
  namespace?: string;
  /** Accept calls without a hop token (anonymous callers) instead of refusing them. Default false. */
  allowAnonymous?: boolean;
}

/** Who called, as the mesh vouches for it. */
export type InboundCaller = MeshIdentity;

const keySets = new WeakMap<MeshBinding, JWTVerifyGetKey>();

function keySetFor(binding: MeshBinding): JWTVerifyGetKey {
  let keySet = keySets.get(binding);
  if (!keySet) {
    // jose caches the set and refetches for an unknown kid at most once per cooldown.
    keySet = createRemoteJWKSet(new URL("http://gateway.mesh/.well-known/jwks.json"), {
      cooldownDuration: JWKS_REFETCH_COOLDOWN_SECONDS * 1000,
      [customFetch]: (url: string, init: RequestInit) => binding.fetch(url, init),
    });
    keySets.set(binding, keySet);
  }
  return keySet;
}

/**
 * Verifies the caller's hop token; `null` for an anonymous call when `allowAnonymous` is set.
 * @example
 * const caller = await verifyInbound(request, { binding: env.WEFT, service: "orders", trustDomain: "shop.weft" });
 */
export async function verifyInbound(request: Request, options: InboundOptions): Promise<InboundCaller | null> {
  const token = request.headers.get(IDENTITY_HEADER);
  if (token === null) {
    if (options.allowAnonymous) return null;
    throw new MeshError("unauthenticated", "this function accepts only calls through the mesh with a caller identity");
  }
  const namespace = options.namespace ?? "default";
  try {
    const { payload } = await jwtVerify(token, keySetFor(options.binding), {
      algorithms: ["ES256"],
      issuer: `weft://${options.trustDomain}`,
      audience: formatSpiffeId({ trustDomain: options.trustDomain, namespace, service: options.service }),
      clockTolerance: CLOCK_SKEW_SECONDS,
      requiredClaims: ["exp", "iat", "sub"],
    });
    const caller = identityInTrustDomain(String(payload.sub), options.trustDomain);
    if (!caller) throw new MeshError("unauthenticated", "the caller identity is outside this mesh");
    return caller;
  } catch (error) {
    if (error instanceof MeshError) throw error;
    const reason = error instanceof errors.JOSEError ? error.code : "invalid token";
    throw new MeshError("unauthenticated", `the caller identity was refused (${reason})`);
  }
}

/**
 * itty-router handler: verifies the caller and puts it on `request.weftCaller`; answers 401 itself
 * otherwise. Like `weftIdentity`, it records when the request arrived (see `inboundDeadline`).
 * A router handler returns before the handlers after it run, so it cannot put them inside
 * `runWithInbound`: for automatic propagation, also wrap the router with `withWeftContext`.
 * @example
 * router.all("*", withWeftIdentity((req, env) => ({ binding: env.WEFT, service: "catalog", trustDomain: "shop.weft" })));
 * export default { fetch: withWeftContext(router.fetch) };
 */
export function withWeftIdentity<E>(options: (request: Request, env: E) => InboundOptions) {
  return async function verifyCallerHandler(request: Request & { weftCaller?: InboundCaller | null }, env: E): Promise<Response | undefined> {
    inboundDeadline(request);
    try {
      request.weftCaller = await verifyInbound(request, options(request, env));
      return undefined;
    } catch (error) {
      if (error instanceof MeshError) return error.toResponse();
      throw error;
    }
  };
}
