/**
 * Service identity tokens (SPIFFE JWT-SVIDs): ES256, signed inside the control plane with the
 * active key. `sub` is the SPIFFE ID, `aud` the gateway, lifetime from the Mesh (at most 15 min).
 */
import { formatSpiffeId } from "@weft/sdk";
import { SignJWT } from "jose";
import type { MeshDoc } from "@weft/sdk/config";
import { SIGNING_ALG } from "./keys.js";

/** Audience of SVIDs: the gateway (hop tokens carry the destination service instead). */
export const GATEWAY_AUDIENCE = "weft-gateway";

export function meshIssuer(mesh: MeshDoc): string {
  return `weft://${mesh.spec.trustDomain}`;
}

/** The SPIFFE ID of `service` in `namespace` of this mesh's trust domain. */
export function spiffeId(mesh: MeshDoc, namespace: string, service: string): string {
  return formatSpiffeId({ trustDomain: mesh.spec.trustDomain, namespace, service });
}

export interface IssuedToken {
  token: string;
  /** ISO time of `exp`. */
  expiresAt: string;
}

/** Lifetime of hop tokens: short, since the gateway renews them in the background. */
export const HOP_TOKEN_TTL_MS = 5 * 60_000;

type Signer = { kid: string; key: CryptoKey };

/**
 * Every token the mesh issues: ES256 with the active key, issuer, subject, one audience, iat/exp.
 * SVIDs also carry `typ` and a `jti`, as JWT-SVID consumers expect. Hop tokens leave both out: one
 * hop token serves every call of a caller→destination pair for minutes, so a `jti` names nothing,
 * and the token rides on every forwarded request, where each byte is paid again (docs/architecture.md#hot-path-rule).
 */
async function signToken(options: { signer: Signer; mesh: MeshDoc; subject: string; audience: string; ttlMs: number; now: number; compact: boolean }): Promise<IssuedToken> {
  const issuedAt = Math.floor(options.now / 1000);
  const expires = issuedAt + Math.floor(options.ttlMs / 1000);
  const jwt = new SignJWT({})
    .setProtectedHeader(options.compact ? { alg: SIGNING_ALG, kid: options.signer.kid } : { alg: SIGNING_ALG, kid: options.signer.kid, typ: "JWT" })
    .setIssuer(meshIssuer(options.mesh))
    .setSubject(options.subject)
    .setAudience(options.audience)
    .setIssuedAt(issuedAt)
    .setExpirationTime(expires);
  if (!options.compact) jwt.setJti(crypto.randomUUID());
  const token = await jwt.sign(options.signer.key);
  return { token, expiresAt: new Date(expires * 1000).toISOString() };
}

/**
 * A hop token: what the gateway attaches (`x-weft-identity`) when it forwards a call, naming the
 * caller (`sub`) for one destination (`aud` = the destination's SPIFFE ID), so it is useless
 * against any other audience, including the gateway.
 */
export function signHopToken(options: { signer: Signer; mesh: MeshDoc; caller: string; destination: string; now: number }): Promise<IssuedToken> {
  return signToken({ signer: options.signer, mesh: options.mesh, subject: options.caller, audience: options.destination, ttlMs: HOP_TOKEN_TTL_MS, now: options.now, compact: true });
}

/** A service's SVID: its SPIFFE ID as subject, for `audience` (the gateway). */
export function signSvid(options: { signer: Signer; mesh: MeshDoc; namespace: string; service: string; audience: string; ttlMs: number; now: number }): Promise<IssuedToken> {
  return signToken({ signer: options.signer, mesh: options.mesh, subject: spiffeId(options.mesh, options.namespace, options.service), audience: options.audience, ttlMs: options.ttlMs, now: options.now, compact: false });
}
