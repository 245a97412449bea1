/**
 * The authenticate stage's decision, pure: from what the request carries (its query string and
 * the bearer token sanitize read from Authorization), whether the caller is anonymous, must be
 * refused (401), or presents a token to verify. Verification itself (cache, then signature) is
 * the stage's; a verified identity becomes the caller through `callerOf`. Explain decides with the
 * same function, assuming the caller it is given presents a valid token.
 */
import { MeshError, type MeshIdentity } from "@weft/sdk";
import type { Caller } from "../policy/authorize.js";

/** Query parameters a token must never travel in (refused, 401). */
export const QUERY_TOKEN_PARAMETERS: readonly string[] = ["access_token", "token", "id_token"];

/** What sanitize read from the Authorization header: one bearer token, something else (refused), or nothing. */
export type PresentedCredential = { readonly token: string } | { readonly malformed: true } | undefined;

/** Why authentication refuses a request before any token is verified. */
export type RefusedBeforeVerification = "token-in-url" | "malformed-authorization";

export type IdentityDecision =
  | { readonly kind: "anonymous" }
  | { readonly kind: "refused"; readonly failure: RefusedBeforeVerification }
  | { readonly kind: "verify"; readonly token: string };

const ANONYMOUS_CALLER: IdentityDecision = Object.freeze({ kind: "anonymous" });
const TOKEN_IN_URL: IdentityDecision = Object.freeze({ kind: "refused", failure: "token-in-url" });
const MALFORMED: IdentityDecision = Object.freeze({ kind: "refused", failure: "malformed-authorization" });

export function decideIdentity(query: { has(name: string): boolean }, presented: PresentedCredential): IdentityDecision {
  for (let i = 0; i < QUERY_TOKEN_PARAMETERS.length; i++) if (query.has(QUERY_TOKEN_PARAMETERS[i] as string)) return TOKEN_IN_URL;
  if (presented === undefined) return ANONYMOUS_CALLER;
  if (!("token" in presented)) return MALFORMED;
  return { kind: "verify", token: presented.token };
}

/** The caller a verified SVID names. */
export function callerOf(identity: Pick<MeshIdentity, "service" | "spiffeId">): Caller {
  return { authenticated: true, service: identity.service, spiffeId: identity.spiffeId };
}

/** The 401 for a request refused before any token is verified. */
export function identityRefusal(failure: RefusedBeforeVerification): MeshError {
  return new MeshError(
    "unauthenticated",
    failure === "token-in-url" ? "tokens are accepted only in the Authorization header, never in the URL" : "the Authorization header must be exactly one 'Bearer <token>'",
  );
}

/** The 401 for a token that failed verification; the reason names the check (e.g. expired), never the token. */
export function verificationRefusal(reason: string): MeshError {
  return new MeshError("unauthenticated", `the service identity token was refused (${reason})`);
}
