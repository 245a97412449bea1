/**
 * Parsers for the CLI's arguments and option values. They throw commander's
 * `InvalidArgumentError`, so a bad value is a usage error (exit 2) with commander's message.
 */
import { InvalidArgumentError } from "commander";
import { parseDuration } from "@weft/sdk/config";

export const DOCUMENT_KINDS = ["Mesh", "Service", "Route", "AuthorizationPolicy", "Rollout"] as const;
export type DocumentKind = (typeof DOCUMENT_KINDS)[number];

const KIND_ALIASES: Readonly<Record<string, DocumentKind | "all">> = {
  all: "all",
  mesh: "Mesh",
  meshes: "Mesh",
  service: "Service",
  services: "Service",
  svc: "Service",
  route: "Route",
  routes: "Route",
  authorizationpolicy: "AuthorizationPolicy",
  authorizationpolicies: "AuthorizationPolicy",
  policy: "AuthorizationPolicy",
  policies: "AuthorizationPolicy",
  authz: "AuthorizationPolicy",
  rollout: "Rollout",
  rollouts: "Rollout",
};

/** `service`, `Services`, `svc`, `policies`, `AuthorizationPolicy`, `all` → a document kind. */
export function parseKind(text: string): DocumentKind | "all" {
  const kind = KIND_ALIASES[text.toLowerCase()];
  if (kind === undefined) throw new InvalidArgumentError(`expected one of mesh, service(s), route(s), authorizationpolicy/policies, rollout(s) or all`);
  return kind;
}

/** A config version number: a whole number from 1. */
export function parseVersion(text: string): number {
  if (!/^\d{1,9}$/.test(text) || Number(text) < 1) throw new InvalidArgumentError("expected a version number (1 or more)");
  return Number(text);
}

export function parsePositiveInt(text: string): number {
  if (!/^\d{1,9}$/.test(text) || Number(text) < 1) throw new InvalidArgumentError("expected a whole number (1 or more)");
  return Number(text);
}

/** Shortest redraw interval `weft top` accepts. */
export const MIN_INTERVAL_MS = 100;

/** `2s`, `500ms`, `1m` → milliseconds (at least MIN_INTERVAL_MS). */
export function parseInterval(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms < MIN_INTERVAL_MS) throw new InvalidArgumentError(`expected a duration of at least ${MIN_INTERVAL_MS}ms, such as 2s or 500ms`);
  return ms;
}

/** A telemetry window: `1m`, `5m`, `1h` (the mesh accepts 1s to 168h). */
export function parseWindow(text: string): string {
  const ms = parseDuration(text);
  if (ms === undefined || ms < 1000) throw new InvalidArgumentError("expected a duration of at least 1s, such as 1m or 1h");
  return text.trim();
}

/** One `-H name: value` (repeatable): collected into a header map, repeats joined with ", ". */
export function collectHeader(text: string, previous: Record<string, string> = {}): Record<string, string> {
  const colon = text.indexOf(":");
  const name = colon < 0 ? "" : text.slice(0, colon).trim().toLowerCase();
  if (colon < 0 || !/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(name)) throw new InvalidArgumentError('expected "name: value", such as "x-canary: 1"');
  const value = text.slice(colon + 1).trim();
  const existing = previous[name];
  return { ...previous, [name]: existing === undefined ? value : `${existing}, ${value}` };
}

/** An HTTP method token, upper-cased. */
export function parseMethod(text: string): string {
  if (!/^[A-Za-z]{1,20}$/.test(text)) throw new InvalidArgumentError("expected an HTTP method such as GET or POST");
  return text.toUpperCase();
}

/** A request URL to explain: absolute, `host/path` (taken as http://), or a bare `/path` (to the gateway, resolved later against --url). */
export function parseRequestUrl(text: string): string {
  const candidate = text.startsWith("/") || /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`;
  if (candidate.startsWith("/")) return candidate;
  try {
    return new URL(candidate).href;
  } catch {
    throw new InvalidArgumentError("expected a URL such as http://orders.mesh/orders/1 or /httpbin/anything");
  }
}
