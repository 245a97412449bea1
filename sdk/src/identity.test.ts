import { describe, expect, it } from "vitest";
import { CLOCK_SKEW_SECONDS, formatSpiffeId, identityInTrustDomain, isServiceName, NAME_MAX_LENGTH, NAME_PATTERN, parseSpiffeId } from "./identity.js";
import { isRecord } from "./is-record.js";

describe("SPIFFE IDs", () => {
  it("formats and parses back to the same parts", () => {
    const parts = { trustDomain: "shop.weft", namespace: "payments", service: "billing-v2" };
    const id = formatSpiffeId(parts);
    expect(id).toBe("spiffe://shop.weft/ns/payments/sa/billing-v2");
    expect(parseSpiffeId(id)).toEqual(parts);
  });

  it.each([
    ["another scheme", "https://shop.weft/ns/default/sa/orders"],
    ["no namespace segment", "spiffe://shop.weft/sa/orders"],
    ["an extra segment", "spiffe://shop.weft/ns/default/sa/orders/extra"],
    ["upper case in the service", "spiffe://shop.weft/ns/default/sa/Orders"],
    ["an empty trust domain", "spiffe:///ns/default/sa/orders"],
    ["an empty service", "spiffe://shop.weft/ns/default/sa/"],
    ["a bare service name", "orders"],
  ])("refuses %s", (_, id) => {
    expect(parseSpiffeId(id)).toBeUndefined();
  });

  it("names the caller only when the ID is in the expected trust domain", () => {
    const id = "spiffe://shop.weft/ns/default/sa/orders";
    expect(identityInTrustDomain(id, "shop.weft")).toEqual({ spiffeId: id, namespace: "default", service: "orders" });
    expect(identityInTrustDomain(id, "other.weft")).toBeUndefined();
    expect(identityInTrustDomain("spiffe://shop.weft/ns/default", "shop.weft")).toBeUndefined();
  });
});

describe("service names", () => {
  it("accepts DNS-label names up to 63 characters", () => {
    expect(isServiceName("orders")).toBe(true);
    expect(isServiceName("a")).toBe(true);
    expect(isServiceName("v2-orders-1")).toBe(true);
    expect(isServiceName("a".repeat(NAME_MAX_LENGTH))).toBe(true);
  });

  it.each(["", "Orders", "-orders", "orders-", "or_ders", "orders.mesh", "a".repeat(NAME_MAX_LENGTH + 1)])("refuses %j", (name) => {
    expect(isServiceName(name)).toBe(false);
  });

  it("leaves the length to isServiceName: the pattern alone admits a long label", () => {
    expect(NAME_PATTERN.test("a".repeat(NAME_MAX_LENGTH + 1))).toBe(true);
  });
});

describe("the shared skew and isRecord", () => {
  it("tolerates 60 s of clock skew", () => {
    expect(CLOCK_SKEW_SECONDS).toBe(60);
  });

  it("treats only non-null, non-array objects as records", () => {
    expect(isRecord({ a: 1 })).toBe(true);
    expect(isRecord(Object.create(null))).toBe(true);
    for (const value of [null, undefined, [], [1], "x", 1, true]) expect(isRecord(value)).toBe(false);
  });
});
