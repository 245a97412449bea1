/**
 * Service identity tokens (SPIFFE JWT-SVIDs): ES256, signed inside the control plane with the
 * active key. `sub` is the SPIFFE ID, `aud` the gateway, lifetime from the Mesh (at most 15 min).
 */
import { SignJWT } from "jose";
import type { MeshDoc } from "@weft/sdk/config";
import { SIGNING_ALG } from "./keys.js";

/** Audience of SVIDs: the gateway (hop tokens carry the destination service instead). */
export const GATEWAY_AUDIENCE = "weft-gateway";

export function meshIssuer(mesh: MeshDoc): string {
  return `weft://${mesh.spec.trustDomain}`;
}

export function spiffeId(mesh: MeshDoc, namespace: string, service: string): string {
  return `spiffe://${mesh.spec.trustDomain}/ns/${namespace}/sa/${service}`;
}

export interface IssuedToken {
  token: string;
  /** ISO time of `exp`. */
  expiresAt: string;
}

/** Lifetime of hop tokens: short, since the gateway renews them in the background. */
export const HOP_TOKEN_TTL_MS = 5 * 60_000;

/**
 * A hop token: what the gateway attaches (`x-weft-identity`) when it forwards a call, naming the
 * caller (`sub`) for one destination (`aud` = the destination's SPIFFE ID), so it is useless
 * against any other audience, including the gateway.
 */
export async function signHopToken(options: { signer: { kid: string; key: CryptoKey }; mesh: MeshDoc; caller: string; destination: string; now: number }): Promise<IssuedToken> {
  const issuedAt = Math.floor(options.now / 1000);
  const expires = issuedAt + Math.floor(HOP_TOKEN_TTL_MS / 1000);
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: SIGNING_ALG, kid: options.signer.kid, typ: "JWT" })
    .setIssuer(meshIssuer(options.mesh))
    .setSubject(options.caller)
    .setAudience(options.destination)
    .setIssuedAt(issuedAt)
    .setExpirationTime(expires)
    .setJti(crypto.randomUUID())
    .sign(options.signer.key);
  return { token, expiresAt: new Date(expires * 1000).toISOString() };
}

export async function signSvid(options: {
  signer: { kid: string; key: CryptoKey };
  mesh: MeshDoc;
  namespace: string;
  service: string;
  audience: string;
  ttlMs: number;
  now: number;
}): Promise<IssuedToken> {
  const issuedAt = Math.floor(options.now / 1000);
  const expires = issuedAt + Math.floor(options.ttlMs / 1000);
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: SIGNING_ALG, kid: options.signer.kid, typ: "JWT" })
    .setIssuer(meshIssuer(options.mesh))
    .setSubject(spiffeId(options.mesh, options.namespace, options.service))
    .setAudience(options.audience)
    .setIssuedAt(issuedAt)
    .setExpirationTime(expires)
    .setJti(crypto.randomUUID())
    .sign(options.signer.key);
  return { token, expiresAt: new Date(expires * 1000).toISOString() };
}
