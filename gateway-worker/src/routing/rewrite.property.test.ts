/**
 * Property test: whatever the rewrite, the path authorization decides on is byte for byte the
 * path the destination receives, and it is normalized. The destination's view is what the URL
 * parser makes of the forwarded URL, exactly as the forward stage builds it.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { validateDocuments } from "@weft/sdk/config";
import { findRoute, rewritePath } from "./lookup.js";
import { normalizePath } from "./normalize-path.js";
import { serviceDoc, snapshotOf } from "./test-support.js";

/** Path segments that include the tricky ones: dots, escaped dots, empty (merged slashes). */
const segment = fc.oneof(
  fc.constantFrom("", ".", "..", "%2e", "%2E%2e", ".%2e", "hb", "hb.", "hb..", "hb%2e%2e", "anything", "admin", "a", "%61dmin", "x~y", "%7E", "%41"),
  fc.stringMatching(/^[A-Za-z0-9._~!$&'()*+,;=:@-]{0,6}$/),
);
const rawPath = fc.array(segment, { maxLength: 6 }).chain((parts) => fc.boolean().map((trailing) => `/${parts.join("/")}${trailing ? "/" : ""}`));
/** Rewrite prefixes a config may give: start with /, path characters, with or without a trailing slash. */
const replacement = fc
  .array(fc.constantFrom("api", "v1", "a.b", "x", "...", "~u", "%41"), { maxLength: 3 })
  .chain((parts) => fc.boolean().map((trailing) => `/${parts.join("/")}${trailing && parts.length > 0 ? "/" : ""}`));
/** Route prefixes, with or without trailing slashes, often a prefix of the request path's first segment. */
const routePrefix = fc.constantFrom("/", "/hb", "/hb/", "/hb.", "/a", "/a/", "/anything", "/anything/");

/** The path a destination sees for a path the gateway forwards (forward stage: URL from a string). */
function destinationPath(forwarded: string): string {
  return new URL(`http://destination.internal${forwarded}`).pathname;
}

describe("prefix rewrites", () => {
  it("forward exactly the normalized path that authorization checks, for any prefix, replacement and request path", () => {
    fc.assert(
      fc.property(routePrefix, replacement, rawPath, (prefix, rewrite, raw) => {
        const snapshot = snapshotOf([
          serviceDoc("a"),
          { apiVersion: "weft/v1", kind: "Route", metadata: { name: "r" }, spec: { hosts: ["*"], http: [{ match: [{ path: { prefix } }], rewrite: { prefix: rewrite }, destinations: [{ service: "a" }] }] } },
        ]);
        // What the gateway does: the URL parser, then normalization, then routing and the rewrite.
        const normalized = normalizePath(new URL(`http://x.example${raw}`).pathname);
        if (!normalized.ok) return;
        const lookup = findRoute(snapshot, { host: "x.example", path: normalized.path, method: "GET", headers: new Headers(), query: new URLSearchParams() });
        if (!lookup.found) return;
        const authorized = rewritePath(lookup.route, normalized.path);
        expect(destinationPath(authorized)).toBe(authorized);
        const again = normalizePath(authorized);
        expect(again.ok && again.path).toBe(authorized);
      }),
      { numRuns: 3000 },
    );
  });

  it("keep the invariant for any rewrite prefix the config accepts, whatever its characters", () => {
    const anyPrefix = fc.string({ unit: fc.constantFrom(..."/abz09.-_~%2Ff?#[] \\:@!$&'()*+,;=é".split("")), maxLength: 12 }).map((rest) => `/${rest}`);
    fc.assert(
      fc.property(anyPrefix, rawPath, (rewrite, raw) => {
        const documents = [
          serviceDoc("a"),
          { apiVersion: "weft/v1", kind: "Route", metadata: { name: "r" }, spec: { hosts: ["*"], http: [{ match: [{ path: { prefix: "/hb" } }], rewrite: { prefix: rewrite }, destinations: [{ service: "a" }] }] } },
        ];
        if (!validateDocuments(documents).ok) return; // refused at apply: never reaches a gateway
        const snapshot = snapshotOf(documents);
        const normalized = normalizePath(new URL(`http://x.example/hb${raw}`).pathname);
        if (!normalized.ok) return;
        const lookup = findRoute(snapshot, { host: "x.example", path: normalized.path, method: "GET", headers: new Headers(), query: new URLSearchParams() });
        if (!lookup.found) return;
        const authorized = rewritePath(lookup.route, normalized.path);
        expect(destinationPath(authorized)).toBe(authorized);
      }),
      { numRuns: 3000 },
    );
  });

  it("resolve the dot segments a rewrite joins into the path (/hb./x, /hb../x, /hb%2e%2e/x with prefix /hb → /)", () => {
    const snapshot = snapshotOf([
      serviceDoc("a"),
      { apiVersion: "weft/v1", kind: "Route", metadata: { name: "r" }, spec: { hosts: ["*"], http: [{ match: [{ path: { prefix: "/hb" } }], rewrite: { prefix: "/" }, destinations: [{ service: "a" }] }] } },
    ]);
    const cases: [string, string][] = [
      ["/hb./anything/admin", "/anything/admin"],
      ["/hb../anything/admin/secret", "/anything/admin/secret"],
      ["/hb%2e%2e/anything/admin", "/anything/admin"],
      ["/hb/anything/admin", "/anything/admin"],
    ];
    for (const [raw, expected] of cases) {
      const normalized = normalizePath(new URL(`http://x.example${raw}`).pathname);
      if (!normalized.ok) throw new Error(normalized.reason);
      const lookup = findRoute(snapshot, { host: "x.example", path: normalized.path, method: "GET", headers: new Headers(), query: new URLSearchParams() });
      if (!lookup.found) throw new Error(`no route for ${raw}`);
      expect(rewritePath(lookup.route, normalized.path), raw).toBe(expected);
    }
  });
});
