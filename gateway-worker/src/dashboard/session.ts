/**
 * Dashboard sessions: the cookie holds an expiry time and an HMAC-SHA-256 over it, never the admin
 * token. The HMAC key is derived from the admin token (HKDF), so no session state is stored
 * anywhere, and rotating the token ends every session at once.
 */
import { CLOCK_SKEW_SECONDS } from "@weft/sdk";

/** Cookie name of a dashboard session on plain http (local dev), where browsers refuse `__Host-`. */
export const SESSION_COOKIE = "weft_session";

/**
 * Cookie name of a dashboard session over https: browsers accept a `__Host-` cookie only when it is
 * Secure, has Path=/ and no Domain, so no other host (a sibling subdomain included) can set one.
 */
export const SECURE_SESSION_COOKIE = `__Host-${SESSION_COOKIE}`;

/** The session cookie's name for a cookie set with or without Secure. */
export function sessionCookieName(secure: boolean): string {
  return secure ? SECURE_SESSION_COOKIE : SESSION_COOKIE;
}

/** More same-named cookies than this are not a browser's doing: the rest are not looked at. */
const MAX_SESSION_CANDIDATES = 8;

/**
 * Every value of cookie `name` in a Cookie header, in order. Browsers send one per path and domain
 * that match, and a cookie another origin planted may come first, so each is a candidate.
 */
export function cookieValues(header: string | undefined | null, name: string): string[] {
  if (!header) return [];
  const values: string[] = [];
  for (const pair of header.split(";")) {
    const eq = pair.indexOf("=");
    if (eq === -1 || pair.slice(0, eq).trim() !== name) continue;
    let value = pair.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    values.push(value);
    if (values.length === MAX_SESSION_CANDIDATES) break;
  }
  return values;
}

/** How long a session lasts after signing in: 8 hours. */
export const SESSION_TTL_SECONDS = 8 * 60 * 60;

/** Tolerated clock difference between isolates when checking an expiry that looks too far ahead: the mesh's one skew. */
const CLOCK_SKEW_MS = CLOCK_SKEW_SECONDS * 1000;

/** `v1.<expiry in epoch ms>.<base64url HMAC>`; anything else is refused before any crypto. */
const SESSION_FORMAT = /^v1\.(\d{1,15})\.([A-Za-z0-9_-]{43})$/;

const encoder = new TextEncoder();

/** Why a cookie value was not accepted, for tests and logs (never shown to the user). */
export type SessionCheck = { valid: true; expiresAt: number } | { valid: false; reason: "missing" | "malformed" | "bad-signature" | "expired" | "too-long" };

/** The HMAC key for sessions under this admin token. */
export async function sessionKey(adminToken: string): Promise<CryptoKey> {
  const material = await crypto.subtle.importKey("raw", encoder.encode(adminToken), "HKDF", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: encoder.encode("weft dashboard"), info: encoder.encode("weft dashboard session v1") },
    material,
    { name: "HMAC", hash: "SHA-256", length: 256 },
    false,
    ["sign", "verify"],
  );
}

/** What the HMAC covers: a purpose label and the expiry, so the MAC is useless anywhere else. */
function signedText(expiresAt: number): Uint8Array {
  return encoder.encode(`weft-dashboard-session:v1:${expiresAt}`);
}

/** A cookie value valid until `expiresAt` (epoch ms). */
export async function signSession(key: CryptoKey, expiresAt: number): Promise<string> {
  if (!Number.isSafeInteger(expiresAt) || expiresAt < 0) throw new RangeError("expiresAt must be an epoch time in whole ms");
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, signedText(expiresAt)));
  return `v1.${expiresAt}.${base64url(mac)}`;
}

/** A new session value for someone who just signed in at `now`. */
export async function issueSession(key: CryptoKey, now: number, ttlSeconds = SESSION_TTL_SECONDS): Promise<string> {
  return signSession(key, Math.floor(now) + ttlSeconds * 1000);
}

/**
 * Checks a cookie value: well formed, signed with this key (compared by `crypto.subtle.verify`, in
 * constant time), not expired, and not claiming to last longer than a session can.
 */
export async function verifySession(key: CryptoKey, value: string | undefined, now: number, ttlSeconds = SESSION_TTL_SECONDS): Promise<SessionCheck> {
  if (value === undefined || value === "") return { valid: false, reason: "missing" };
  const match = SESSION_FORMAT.exec(value);
  const mac = match?.[2] === undefined ? undefined : fromBase64url(match[2]);
  if (!match?.[1] || !mac || mac.byteLength !== 32) return { valid: false, reason: "malformed" };
  const expiresAt = Number(match[1]);
  if (!(await crypto.subtle.verify("HMAC", key, mac, signedText(expiresAt)))) return { valid: false, reason: "bad-signature" };
  if (expiresAt <= now) return { valid: false, reason: "expired" };
  if (expiresAt > now + ttlSeconds * 1000 + CLOCK_SKEW_MS) return { valid: false, reason: "too-long" };
  return { valid: true, expiresAt };
}

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64url(text: string): Uint8Array | undefined {
  try {
    const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4));
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    // One spelling per value: base64 ignores the last character's spare bits, so refuse others.
    return base64url(bytes) === text ? bytes : undefined;
  } catch {
    return undefined;
  }
}
