/**
 * Authentication: who is calling. A presented token must be a valid SVID (401 otherwise, in every
 * mode, and the destination is never called); no token makes the caller anonymous, which the
 * authorization stage then judges by mode and route. Repeat tokens hit the isolate's verified-token
 * cache: no signature check in the steady state. Sits before routing so an invalid token is
 * refused whatever it asks for.
 */
import { MeshError } from "@weft/sdk";
import { verifySvid } from "../identity/verify-svid.js";
import { ANONYMOUS } from "../policy/authorize.js";
import type { Stage } from "../stage.js";

/** Audience of SVIDs presented to the gateway. */
export const GATEWAY_AUDIENCE = "weft-gateway";
/** Query parameters a token must never travel in (refused, 401); explain reports the same refusal. */
export const QUERY_TOKEN_PARAMETERS: readonly string[] = ["access_token", "token", "id_token"];

function invalidToken(message: string): MeshError {
  return new MeshError("unauthenticated", message);
}

export function authenticateStage(): Stage {
  return async function authenticate(request, next) {
    if (QUERY_TOKEN_PARAMETERS.some((name) => request.url.searchParams.has(name))) {
      request.authFailure = "token-in-url";
      throw invalidToken("tokens are accepted only in the Authorization header, never in the URL");
    }
    const presented = request.bearer;
    if (presented === undefined) {
      request.caller = ANONYMOUS;
      return next(request);
    }
    if (!("token" in presented)) {
      request.authFailure = "malformed-authorization";
      throw invalidToken("the Authorization header must be exactly one 'Bearer <token>'");
    }
    const token = presented.token;
    const nowSeconds = Math.floor(request.isolate.now() / 1000);
    const jwks = request.isolate.jwks(request.env);
    // Cache hits skip `jwks.key`, so keep the key set fresh here: removals must reach cached tokens.
    jwks.refreshIfDue(request.waitUntil);
    const cached = request.isolate.verifiedTokens.get(token, nowSeconds, (kid) => jwks.has(kid));
    if (cached) {
      request.caller = { authenticated: true, service: cached.caller.service, spiffeId: cached.caller.spiffeId };
      return next(request);
    }
    const mesh = request.snapshot.mesh;
    const result = await verifySvid(token, {
      issuer: `weft://${mesh.spec.trustDomain}`,
      audience: GATEWAY_AUDIENCE,
      trustDomain: mesh.spec.trustDomain,
      nowSeconds,
      key: (kid) => jwks.key(kid, request.waitUntil),
    });
    if (!result.ok) {
      // The reason names the check that failed (e.g. expired, bad-signature), never the token.
      request.authFailure = result.reason;
      throw invalidToken(`the service identity token was refused (${result.reason})`);
    }
    request.isolate.verifiedTokens.set(token, { caller: result.caller, kid: result.kid, exp: result.exp });
    request.caller = { authenticated: true, service: result.caller.service, spiffeId: result.caller.spiffeId };
    return next(request);
  };
}
