/**
 * POST /.weft/token: a function's bootstrap credential → its SVID. Always asks the control plane
 * (the SDK caches the SVID for most of its life).
 */
import { MeshError } from "@weft/sdk";
import { bearerToken } from "../admin/auth.js";
import { boundedControlCall, type IsolateWiring } from "../wiring.js";
import type { Endpoint } from "./endpoint.js";

export const TOKEN_PATH = "/.weft/token";

export function createTokenExchange(wiring: IsolateWiring): Endpoint {
  return async function exchangeToken(request, env) {
    const url = new URL(request.url);
    // A credential in a URL ends up in logs and history: refused, whatever it is.
    if ([...url.searchParams.keys()].some((key) => /token|credential|auth/i.test(key))) {
      return new MeshError("bad_request", "credentials are accepted only in the Authorization header").toResponse();
    }
    const credential = bearerToken(request.headers.get("authorization"));
    if (credential === undefined) return new MeshError("unauthenticated", "POST /.weft/token needs Authorization: Bearer <credential>").toResponse();
    let answer;
    try {
      // Bounded: a function waiting for its SVID must hear that the control plane is down, not hang.
      answer = await boundedControlCall(wiring.control(env).exchangeCredential(credential), wiring.controlCallTimeoutMs, "for a token");
    } catch (error) {
      console.error(JSON.stringify({ level: "error", msg: "token exchange failed", error: String(error) }));
      return new MeshError("control_plane_unavailable", "the control plane could not issue a token").toResponse();
    }
    if (!answer.ok) return new MeshError("unauthenticated", "the credential is not valid").toResponse({ "cache-control": "no-store" });
    return Response.json({ token: answer.token, expiresAt: answer.expiresAt }, { headers: { "cache-control": "no-store" } });
  };
}
