import { Hono } from "hono";
import { AutoRouter } from "itty-router";
import { afterEach, describe, expect, it, vi } from "vitest";
import { DEADLINE_HEADER, inboundDeadline, parseDeadlineHeader, remainingBudgetMs } from "./deadline.js";
import { withWeftIdentity, type InboundOptions } from "./inbound.js";
import { weftIdentity } from "./hono.js";

const withBudget = (value?: string) => new Request("http://orders.mesh/orders/1", { headers: value === undefined ? {} : { [DEADLINE_HEADER]: value } });

describe("inbound deadline", () => {
  it("is the receipt time plus the budget, in the function's own clock", () => {
    expect(inboundDeadline(withBudget("250"), 1_000_000)).toBe(1_000_250);
  });

  it("records the receipt time once: later calls return the same deadline whatever the clock says", () => {
    const request = withBudget("250");
    expect(inboundDeadline(request, 1_000)).toBe(1_250);
    expect(inboundDeadline(request, 5_000)).toBe(1_250);
    expect(inboundDeadline(request)).toBe(1_250);
  });

  it("is kept per Request object, not per header value", () => {
    const a = withBudget("100");
    const b = withBudget("100");
    expect(inboundDeadline(a, 0)).toBe(100);
    expect(inboundDeadline(b, 40)).toBe(140);
  });

  it("is undefined when the mesh gave no budget", () => {
    expect(inboundDeadline(withBudget(), 1_000)).toBeUndefined();
    expect(remainingBudgetMs(withBudget(), 1_000)).toBeUndefined();
  });

  it("takes a zero budget as already spent", () => {
    const request = withBudget("0");
    expect(inboundDeadline(request, 1_000)).toBe(1_000);
    expect(remainingBudgetMs(request, 1_000)).toBe(0);
  });
});

describe("remaining budget", () => {
  it("shrinks as the function's clock advances, and never goes below zero", () => {
    const request = withBudget("300");
    expect(remainingBudgetMs(request, 10_000)).toBe(300);
    expect(remainingBudgetMs(request, 10_120)).toBe(180);
    expect(remainingBudgetMs(request, 10_300)).toBe(0);
    expect(remainingBudgetMs(request, 99_000)).toBe(0);
  });

  it("counts from the first look even when that look was remainingBudgetMs itself", () => {
    const request = withBudget("50");
    expect(remainingBudgetMs(request, 2_000)).toBe(50);
    expect(inboundDeadline(request, 2_030)).toBe(2_050);
  });

  it("rounds down to whole milliseconds, never promising time that isn't there", () => {
    const request = withBudget("100");
    inboundDeadline(request, 0);
    expect(remainingBudgetMs(request, 0.4)).toBe(99);
  });
});

describe("parsing the budget header", () => {
  it.each(["0", "1", "250", "0250", "9999999999"])("accepts the non-negative integer %j", (value) => {
    expect(parseDeadlineHeader(value)).toBe(Number(value));
    expect(inboundDeadline(withBudget(value), 0)).toBe(Number(value));
  });

  it.each(["", "-5", "+5", "1.5", "1e3", "0x10", "5ms", "abc", "12345678901", "5, 6", "Infinity", "NaN"])("ignores the malformed value %j", (value) => {
    expect(parseDeadlineHeader(value)).toBeUndefined();
    expect(inboundDeadline(withBudget(value), 0)).toBeUndefined();
    expect(remainingBudgetMs(withBudget(value), 0)).toBeUndefined();
  });

  it("treats an absent header as no budget", () => {
    expect(parseDeadlineHeader(null)).toBeUndefined();
    expect(parseDeadlineHeader(undefined)).toBeUndefined();
  });
});

describe("the identity middleware", () => {
  // Anonymous calls allowed, so no JWKS is needed: the point here is when the budget starts counting.
  const options: InboundOptions = {
    binding: { fetch: async () => new Response("no JWKS here", { status: 404 }) },
    service: "orders",
    trustDomain: "shop.weft",
    allowAnonymous: true,
  };

  afterEach(() => {
    vi.useRealTimers();
  });

  it("starts the budget when the Hono middleware runs, not when the handler first looks", async () => {
    vi.useFakeTimers({ now: 10_000 });
    const app = new Hono();
    app.use("*", weftIdentity(() => options));
    app.get("/orders/:id", (c) => {
      vi.setSystemTime(10_150); // the handler's own work
      return c.text(String(remainingBudgetMs(c.req.raw)));
    });
    const response = await app.fetch(withBudget("400"));
    expect(await response.text()).toBe("250");
  });

  it("starts the budget when the itty-router handler runs, not when the route first looks", async () => {
    vi.useFakeTimers({ now: 10_000 });
    const router = AutoRouter();
    router.all("*", withWeftIdentity(() => options));
    router.get("/orders/:id", (request: Request) => {
      vi.setSystemTime(10_150);
      return new Response(String(remainingBudgetMs(request)));
    });
    const response = await router.fetch(withBudget("400"));
    expect(await response.text()).toBe("250");
  });
});
