/**
 * Request path normalization, done once per request before anything matches on the path: the
 * path that routing and authorization see is the path that is forwarded, so `//admin`,
 * `/a/../admin` and `/%61dmin` cannot slip past a rule written for `/admin`.
 *
 * Steps (RFC 3986 §6.2.2, with Envoy's and Istio's safety choices): reject `%00` and encoded `/`
 * or `\` (they change meaning between hops); reject malformed escapes; decode escapes of
 * unreserved characters; upper-case the hex of the escapes that stay; merge repeated slashes;
 * resolve `.` and `..` segments (never above the root).
 */
import { MeshError } from "@weft/sdk";

export type NormalizedPath = { ok: true; path: string } | { ok: false; reason: string };

const UNRESERVED = /[A-Za-z0-9\-._~]/;

/**
 * What can make a path differ from its normal form: an escape, a backslash, a repeated slash or a
 * dot segment. A path with none of them is already normal, which is nearly every request's.
 */
const NEEDS_WORK = /[%\\]|\/\/|\/\.(?:\.)?(?:\/|$)/;

export function normalizePath(raw: string): NormalizedPath {
  if (!raw.startsWith("/")) return { ok: false, reason: "the path must start with /" };
  return NEEDS_WORK.test(raw) ? normalizePathFully(raw) : { ok: true, path: raw };
}

/** Every step, whatever the path (normalizePath skips it for paths that are already normal). */
export function normalizePathFully(raw: string): NormalizedPath {
  if (!raw.startsWith("/")) return { ok: false, reason: "the path must start with /" };
  let decoded = "";
  for (let i = 0; i < raw.length; i++) {
    const char = raw[i] as string;
    if (char === "\\") return { ok: false, reason: "the path contains a backslash" };
    if (char !== "%") {
      decoded += char;
      continue;
    }
    const hex = raw.slice(i + 1, i + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return { ok: false, reason: "the path has a malformed percent-escape" };
    const code = parseInt(hex, 16);
    if (code === 0x00) return { ok: false, reason: "the path contains an encoded NUL (%00)" };
    if (code === 0x2f || code === 0x5c) return { ok: false, reason: "the path contains an encoded slash or backslash (%2F, %5C)" };
    const character = String.fromCharCode(code);
    decoded += UNRESERVED.test(character) ? character : `%${hex.toUpperCase()}`;
    i += 2;
  }

  const output: string[] = [];
  const segments = decoded.split("/");
  // segments[0] is "" (the path starts with /); empty segments are merged slashes.
  for (let s = 1; s < segments.length; s++) {
    const segment = segments[s] as string;
    const last = s === segments.length - 1;
    if (segment === "." || segment === "..") {
      if (segment === "..") output.pop();
      if (last) output.push(""); // `/a/b/..` → `/a/`: a trailing dot segment leaves a directory
      continue;
    }
    if (segment === "" && !last) continue;
    output.push(segment);
  }
  const path = `/${output.join("/")}`;
  return { ok: true, path: path.replace(/\/{2,}/g, "/") };
}

/** The normalize stage's answer to a path it refuses (400); explain reports the same refusal. */
export function refusedPath(reason: string): MeshError {
  return new MeshError("bad_request", `refused path: ${reason}`);
}
