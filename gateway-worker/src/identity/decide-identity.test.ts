/** The authenticate stage's decision before any signature check, and the 401s it answers with. */
import { describe, expect, it } from "vitest";
import { callerOf, decideIdentity, identityRefusal, verificationRefusal, type PresentedCredential } from "./decide-identity.js";

describe("the identity decision", () => {
  it.each<[string, string, PresentedCredential, unknown]>([
    ["no token: anonymous", "", undefined, { kind: "anonymous" }],
    ["a bearer token: verify it", "", { token: "abc" }, { kind: "verify", token: "abc" }],
    ["a malformed Authorization", "", { malformed: true }, { kind: "refused", failure: "malformed-authorization" }],
    ["access_token in the URL", "?access_token=x", undefined, { kind: "refused", failure: "token-in-url" }],
    ["token in the URL, even with a bearer token", "?a=1&token=x", { token: "abc" }, { kind: "refused", failure: "token-in-url" }],
    ["id_token in the URL, even with a malformed Authorization", "?id_token=", { malformed: true }, { kind: "refused", failure: "token-in-url" }],
    ["an unrelated query parameter", "?tokens=1&session=2", undefined, { kind: "anonymous" }],
  ])("%s", (_what, search, presented, expected) => {
    expect(decideIdentity(new URLSearchParams(search), presented)).toEqual(expected);
  });

  it.each([
    ["token-in-url", "tokens are accepted only in the Authorization header, never in the URL"],
    ["malformed-authorization", "the Authorization header must be exactly one 'Bearer <token>'"],
  ] as const)("refuses %s with 401: %s", (failure, message) => {
    const error = identityRefusal(failure);
    expect([error.status, error.code, error.message]).toEqual([401, "unauthenticated", message]);
  });

  it("refuses a token that fails verification with 401, naming the check", () => {
    const error = verificationRefusal("ERR_JWT_EXPIRED");
    expect([error.status, error.code, error.message]).toEqual([401, "unauthenticated", "the service identity token was refused (ERR_JWT_EXPIRED)"]);
  });

  it("makes a verified identity the caller", () => {
    expect(callerOf({ service: "cart", spiffeId: "spiffe://shop.weft/ns/default/sa/cart" })).toEqual({ authenticated: true, service: "cart", spiffeId: "spiffe://shop.weft/ns/default/sa/cart" });
  });
});
