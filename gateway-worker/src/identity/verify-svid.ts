/**
 * Verifies a caller's SVID (SPIFFE JWT-SVID, RFC 8725 practice, docs/architecture.md#token-rules): compact JWS only,
 * ES256 only, no key-bearing or key-locating headers, a known `kid`, then jose's signature and
 * claim checks (iss, aud, exp, nbf with ≤ 60 s skew, unknown `crit` refused), plus `iat` not in
 * the future, a lifetime of at most 15 minutes, and a SPIFFE `sub` in this trust domain.
 */
import { CLOCK_SKEW_SECONDS, identityInTrustDomain, type MeshIdentity } from "@weft/sdk";
import { decodeProtectedHeader, errors, jwtVerify } from "jose";

export const MAX_TOKEN_LIFETIME_SECONDS = 15 * 60;

export type VerifiedCaller = MeshIdentity;

export type SvidVerification = { ok: true; caller: VerifiedCaller; kid: string; exp: number } | { ok: false; reason: string };

export interface SvidExpectations {
  issuer: string;
  audience: string;
  trustDomain: string;
  /** Seconds since the epoch. */
  nowSeconds: number;
  key: (kid: string) => Promise<CryptoKey | undefined>;
}

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const FORBIDDEN_HEADERS = ["jku", "x5u", "x5c", "jwk", "x5t", "x5t#S256"];

export async function verifySvid(token: string, expect: SvidExpectations): Promise<SvidVerification> {
  if (token.length > 8192) return { ok: false, reason: "token too long" };
  if (!COMPACT_JWS.test(token)) return { ok: false, reason: "not a compact JWS" };
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    return { ok: false, reason: "unreadable header" };
  }
  if (header.alg !== "ES256") return { ok: false, reason: "algorithm not allowed" };
  if (FORBIDDEN_HEADERS.some((name) => name in header)) return { ok: false, reason: "key-bearing header not allowed" };
  if (typeof header.kid !== "string" || header.kid === "") return { ok: false, reason: "missing kid" };
  const key = await expect.key(header.kid);
  if (!key) return { ok: false, reason: "unknown kid" };
  try {
    const { payload } = await jwtVerify(token, key, {
      algorithms: ["ES256"],
      issuer: expect.issuer,
      audience: expect.audience,
      clockTolerance: CLOCK_SKEW_SECONDS,
      currentDate: new Date(expect.nowSeconds * 1000),
      requiredClaims: ["exp", "iat", "sub"],
    });
    const iat = payload.iat as number;
    const exp = payload.exp as number;
    if (iat > expect.nowSeconds + CLOCK_SKEW_SECONDS) return { ok: false, reason: "issued in the future" };
    if (exp - iat > MAX_TOKEN_LIFETIME_SECONDS) return { ok: false, reason: "lifetime over the cap" };
    const caller = identityInTrustDomain(payload.sub as string, expect.trustDomain);
    if (!caller) return { ok: false, reason: "subject outside the trust domain" };
    return { ok: true, caller, kid: header.kid, exp };
  } catch (error) {
    if (error instanceof errors.JOSEError) return { ok: false, reason: error.code };
    return { ok: false, reason: "invalid token" };
  }
}
