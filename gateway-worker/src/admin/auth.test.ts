import { describe, expect, it } from "vitest";
import { adminTokenPolicy, bearerToken, tokensEqual } from "./auth.js";

describe("admin token policy", () => {
  it.each([
    [{}, false],
    [{ WEFT_ADMIN_TOKEN: "" }, false],
    [{ WEFT_ADMIN_TOKEN: "short" }, false],
    [{ WEFT_ADMIN_TOKEN: "x".repeat(31) }, false],
    [{ WEFT_ADMIN_TOKEN: "x".repeat(32) }, true],
    [{ WEFT_ADMIN_TOKEN: "dev-admin-token", WEFT_ENV: "dev" }, true],
    [{ WEFT_ADMIN_TOKEN: "dev-admin-token", WEFT_ENV: "production" }, false],
    [{ WEFT_ENV: "dev" }, false],
  ])("enables the admin API for %j: %s", (env, enabled) => {
    expect(adminTokenPolicy(env).enabled).toBe(enabled);
  });

  it("never puts the token in the reason it gives", () => {
    const policy = adminTokenPolicy({ WEFT_ADMIN_TOKEN: "secret-but-short" });
    expect(policy.enabled).toBe(false);
    if (!policy.enabled) expect(policy.reason).not.toContain("secret");
  });
});

describe("bearer tokens", () => {
  it.each([
    ["Bearer abc", "abc"],
    ["bearer abc", "abc"],
    ["Bearer  abc ", "abc"],
    ["Basic abc", undefined],
    ["Bearer", undefined],
    ["Bearer a b", undefined],
  ])("reads %j as %j", (header, token) => {
    expect(bearerToken(header)).toBe(token);
  });

  it("compares tokens exactly", async () => {
    expect(await tokensEqual("same-token", "same-token")).toBe(true);
    expect(await tokensEqual("same-token", "same-tokeN")).toBe(false);
    expect(await tokensEqual("same-token", "same-token-longer")).toBe(false);
    expect(await tokensEqual("", "x")).toBe(false);
  });
});
