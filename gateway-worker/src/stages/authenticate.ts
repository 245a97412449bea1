/**
 * Authentication: who is calling. The decision (identity/decide-identity.ts) refuses a token in
 * the URL or a malformed Authorization (401), makes a caller without a token anonymous (which the
 * authorization stage then judges by mode and route), and sends a presented token to
 * verification: it must be a valid SVID (401 otherwise, in every mode, and the destination is
 * never called). Repeat tokens hit the isolate's verified-token cache: no signature check in the
 * steady state. Sits before routing so an invalid token is refused whatever it asks for.
 */
import { MeshError } from "@weft/sdk";
import { verifySvid } from "../identity/verify-svid.js";
import { callerOf, decideIdentity, identityRefusal, verificationRefusal } from "../identity/decide-identity.js";
import { ANONYMOUS } from "../policy/authorize.js";
import type { JwksCache } from "../identity/jwks-cache.js";
import type { MeshRequest, Next, Stage } from "../stage.js";

/** Audience of SVIDs presented to the gateway. */
export const GATEWAY_AUDIENCE = "weft-gateway";

export function authenticateStage(): Stage {
  // Not an async function: a request whose token is already verified (or that has none) goes on
  // without a promise of its own; only a first-seen token waits for its signature check.
  return function authenticate(request, next) {
    // An empty query cannot carry a token: skip building URLSearchParams for it.
    const decision = decideIdentity(request.url.search === "" ? NO_QUERY : request.url.searchParams, request.bearer);
    if (decision.kind === "refused") {
      request.authFailure = decision.failure;
      throw identityRefusal(decision.failure);
    }
    if (decision.kind === "anonymous") {
      request.caller = ANONYMOUS;
      return next(request);
    }
    const token = decision.token;
    const nowSeconds = Math.floor(request.isolate.now() / 1000);
    const jwks = request.isolate.jwks(request.env);
    // Cache hits skip `jwks.key`, so keep the key set fresh here: removals must reach cached tokens.
    jwks.refreshIfDue(request.waitUntil);
    const cached = request.isolate.verifiedTokens.get(token, nowSeconds, (kid) => jwks.has(kid));
    if (cached) {
      request.caller = callerOf(cached.caller);
      return next(request);
    }
    return verifyThenNext(request, next, token, nowSeconds, jwks);
  };
}

const NO_QUERY = { has: () => false };

async function verifyThenNext(request: MeshRequest, next: Next, token: string, nowSeconds: number, jwks: JwksCache): Promise<Response> {
  const mesh = request.snapshot.mesh;
  const result = await verifySvid(token, {
    issuer: `weft://${mesh.spec.trustDomain}`,
    audience: GATEWAY_AUDIENCE,
    trustDomain: mesh.spec.trustDomain,
    nowSeconds,
    // Only a cold isolate's first load can fail here (a later refresh that fails keeps the keys it
    // has): the caller cannot be judged, which is the control plane's outage, not the caller's fault.
    key: (kid) =>
      jwks.key(kid, request.waitUntil).catch(() => {
        throw new MeshError("control_plane_unavailable", "the gateway has no signing keys yet and the control plane did not answer");
      }),
  });
  if (!result.ok) {
    // The reason names the check that failed (e.g. expired, bad-signature), never the token.
    request.authFailure = result.reason;
    throw verificationRefusal(result.reason);
  }
  request.isolate.verifiedTokens.set(token, { caller: result.caller, kid: result.kid, exp: result.exp });
  request.caller = callerOf(result.caller);
  return next(request);
}
