/** Which bucket a request draws from, and the 429 a spent bucket answers with. */
import { describe, expect, it } from "vitest";
import { ANONYMOUS, type Caller } from "../policy/authorize.js";
import type { CompiledRateLimit } from "../routing/snapshot.js";
import { rateLimited, rateLimitKey } from "./rate-limit.js";

const perSource: CompiledRateLimit = { ratePerSecond: 5, burst: 5, per: "source", scope: "local" };
const perDestination: CompiledRateLimit = { ...perSource, per: "destination" };
const cart: Caller = { authenticated: true, service: "cart", spiffeId: "spiffe://shop.weft/ns/default/sa/cart" };

describe("rate-limit buckets", () => {
  it.each([
    [perSource, cart, "spiffe://shop.weft/ns/default/sa/cart->orders"],
    [perSource, ANONYMOUS, "anonymous->orders"],
    [perDestination, cart, "orders"],
    [perDestination, ANONYMOUS, "orders"],
  ])("%o from %o draws from %s", (limit, caller, key) => {
    expect(rateLimitKey(limit, "orders", caller)).toBe(key);
  });

  it("answers 429 with Retry-After in whole seconds, at least one", () => {
    const perCaller = rateLimited(perSource, "orders", cart, 1500);
    expect([perCaller.status, perCaller.code, perCaller.message, perCaller.retryAfterSeconds]).toEqual([429, "rate_limited", "rate limit of 5/s for spiffe://shop.weft/ns/default/sa/cart calling orders exceeded", 2]);
    const shared = rateLimited(perDestination, "orders", cart, 10);
    expect([shared.message, shared.retryAfterSeconds]).toEqual(["rate limit of 5/s for orders exceeded", 1]);
  });
});
