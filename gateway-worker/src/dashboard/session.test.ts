import { describe, expect, it } from "vitest";
import { issueSession, SESSION_TTL_SECONDS, sessionKey, signSession, verifySession } from "./session.js";

const TOKEN = "dev-admin-token";
const NOW = Date.UTC(2026, 4, 1, 12, 0, 0);
const HOUR = 3_600_000;

describe("dashboard session cookie", () => {
  it("verifies a value it issued, until the session's end", async () => {
    const key = await sessionKey(TOKEN);
    const value = await issueSession(key, NOW);
    expect(await verifySession(key, value, NOW)).toEqual({ valid: true, expiresAt: NOW + SESSION_TTL_SECONDS * 1000 });
    expect((await verifySession(key, value, NOW + 8 * HOUR - 1)).valid).toBe(true);
  });

  it("refuses a value once it has expired", async () => {
    const key = await sessionKey(TOKEN);
    const value = await issueSession(key, NOW);
    expect(await verifySession(key, value, NOW + 8 * HOUR)).toEqual({ valid: false, reason: "expired" });
    expect(await verifySession(key, value, NOW + 9 * HOUR)).toEqual({ valid: false, reason: "expired" });
  });

  it("holds an expiry and a MAC, never the admin token", async () => {
    const value = await issueSession(await sessionKey(TOKEN), NOW);
    expect(value).toMatch(/^v1\.\d+\.[A-Za-z0-9_-]{43}$/);
    expect(value).not.toContain(TOKEN);
  });

  it("derives the same key from the same token, so every isolate accepts a session", async () => {
    const value = await issueSession(await sessionKey(TOKEN), NOW);
    expect((await verifySession(await sessionKey(TOKEN), value, NOW)).valid).toBe(true);
  });

  it("refuses a session signed under another token (the token was rotated)", async () => {
    const value = await issueSession(await sessionKey(TOKEN), NOW);
    expect(await verifySession(await sessionKey("rotated-admin-token"), value, NOW)).toEqual({ valid: false, reason: "bad-signature" });
  });

  it("refuses a value whose expiry was moved", async () => {
    const key = await sessionKey(TOKEN);
    const value = await issueSession(key, NOW);
    const [version, expiry, mac] = value.split(".");
    const extended = [version, String(Number(expiry) + HOUR), mac].join(".");
    expect(await verifySession(key, extended, NOW)).toEqual({ valid: false, reason: "bad-signature" });
  });

  it("refuses a value whose MAC was changed, in any character", async () => {
    const key = await sessionKey(TOKEN);
    const value = await issueSession(key, NOW);
    for (const position of [value.length - 43, value.length - 20, value.length - 1]) {
      const original = value[position];
      const tampered = value.slice(0, position) + (original === "A" ? "B" : "A") + value.slice(position + 1);
      expect((await verifySession(key, tampered, NOW)).valid, `changed at ${position}`).toBe(false);
    }
  });

  it.each([
    ["an empty value", "", "missing"],
    ["no value", undefined, "missing"],
    ["the admin token itself", TOKEN, "malformed"],
    ["another format version", `v2.${NOW + HOUR}.${"A".repeat(43)}`, "malformed"],
    ["a short MAC", `v1.${NOW + HOUR}.${"A".repeat(42)}`, "malformed"],
    ["a negative expiry", `v1.-5.${"A".repeat(43)}`, "malformed"],
    ["extra parts", `v1.${NOW + HOUR}.${"A".repeat(43)}.x`, "malformed"],
  ])("refuses %s", async (_what, value, reason) => {
    expect(await verifySession(await sessionKey(TOKEN), value, NOW)).toEqual({ valid: false, reason });
  });

  it("refuses a signed value that claims to outlive any session", async () => {
    const key = await sessionKey(TOKEN);
    const value = await signSession(key, NOW + 30 * 24 * HOUR);
    expect(await verifySession(key, value, NOW)).toEqual({ valid: false, reason: "too-long" });
  });
});
