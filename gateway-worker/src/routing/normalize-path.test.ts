import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { normalizePath, normalizePathFully, refusedPath } from "./normalize-path.js";

describe("path normalization", () => {
  it.each([
    ["/", "/"],
    ["/admin", "/admin"],
    ["/admin/", "/admin/"],
    ["//admin", "/admin"],
    ["/a//b///c", "/a/b/c"],
    ["/a/../admin", "/admin"],
    ["/a/./b", "/a/b"],
    ["/../../admin", "/admin"],
    ["/a/b/..", "/a/"],
    ["/a/b/.", "/a/b/"],
    ["/%61dmin", "/admin"],
    ["/%2e%2e/admin", "/admin"],
    ["/a/%2E/b", "/a/b"],
    ["/caf%c3%a9", "/caf%C3%A9"],
    ["/q%3Fx", "/q%3Fx"],
    ["/%7euser", "/~user"],
    ["/a%20b", "/a%20b"],
  ])("normalizes %s to %s", (raw, expected) => {
    expect(normalizePath(raw)).toEqual({ ok: true, path: expected });
  });

  it.each([
    ["/admin%2F", /encoded slash/],
    ["/admin%2fx", /encoded slash/],
    ["/a%5Cb", /encoded slash or backslash/],
    ["/a%00", /NUL/],
    ["/a%0", /malformed/],
    ["/a%zz", /malformed/],
    ["/a\\b", /backslash/],
    ["relative", /start with/],
  ])("refuses %s", (raw, reason) => {
    const result = normalizePath(raw);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(reason);
  });

  it("is idempotent and never leaves a dot segment or a double slash", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom("a", "b", ".", "..", "", "%2e", "%2E%2e", "%61", "x%20y"), { maxLength: 8 }), (segments) => {
        const first = normalizePath(`/${segments.join("/")}`);
        expect(first.ok).toBe(true);
        if (!first.ok) return;
        expect(normalizePath(first.path)).toEqual(first);
        expect(first.path).not.toMatch(/\/\/|\/\.\.?(\/|$)/);
      }),
      { numRuns: 500 },
    );
  });
});

describe("the shortcut for paths that are already normal", () => {
  it("gives what every step gives, for any path", () => {
    const piece = fc.constantFrom("a", "b", ".", "..", "", ".a", "a.", "..b", "%", "%2e", "%41", "%zz", "\\", "x y", "~", "/", "//");
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 8 }), (parts) => {
        const raw = `/${parts.join("")}`;
        expect(normalizePath(raw)).toEqual(normalizePathFully(raw));
        const segmented = `/${parts.join("/")}`;
        expect(normalizePath(segmented)).toEqual(normalizePathFully(segmented));
      }),
      { numRuns: 2000 },
    );
  });
});

describe("the normalize stage's refusal", () => {
  it("is a 400 that says why", () => {
    const result = normalizePath("/a%2Fb");
    expect(result.ok).toBe(false);
    const error = refusedPath(result.ok ? "" : result.reason);
    expect([error.status, error.code, error.message]).toEqual([400, "bad_request", "refused path: the path contains an encoded slash or backslash (%2F, %5C)"]);
  });
});
