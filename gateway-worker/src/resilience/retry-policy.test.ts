import { describe, expect, it } from "vitest";
import { type AttemptOutcome, backoffDelayMs, decideRetry, isIdempotentMethod, isRetryableOutcome, type RetryDecisionInput, type RetrySettings } from "./retry-policy.js";

const DEFAULTS: RetrySettings = {
  attempts: 3,
  retryOn: new Set(["connect-failure", "gateway-error"]),
  retryNonIdempotent: false,
  backoffBaseMs: 25,
  backoffMaxMs: 250,
};

/** A budget that records whether it was asked, so tests can prove refusals never spend it. */
function budgetThat(allows: boolean) {
  const budget = {
    withdrawals: 0,
    tryWithdraw(): boolean {
      budget.withdrawals++;
      return allows;
    },
  };
  return budget;
}

function input(overrides: Partial<RetryDecisionInput> = {}): RetryDecisionInput {
  return {
    attemptsMade: 1,
    settings: DEFAULTS,
    method: "GET",
    bodyReplayable: true,
    outcome: { kind: "response", status: 503 },
    now: 1_000,
    deadline: 10_000,
    random: 0.5,
    budget: budgetThat(true),
    ...overrides,
  };
}

const response = (status: number): AttemptOutcome => ({ kind: "response", status });

describe("idempotent methods", () => {
  it.each([
    ["GET", true],
    ["HEAD", true],
    ["OPTIONS", true],
    ["TRACE", true],
    ["PUT", true],
    ["DELETE", true],
    ["POST", false],
    ["PATCH", false],
    ["CONNECT", false],
  ])("%s idempotent: %s", (method, expected) => {
    expect(isIdempotentMethod(method)).toBe(expected);
  });
});

describe("retryable outcomes", () => {
  it.each<[string, AttemptOutcome, string[], boolean]>([
    ["a 503 under gateway-error", response(503), ["gateway-error"], true],
    ["a 502 under gateway-error", response(502), ["gateway-error"], true],
    ["a 500 under gateway-error", response(500), ["gateway-error"], false],
    ["a 500 under 5xx", response(500), ["5xx"], true],
    ["a 599 under 5xx", response(599), ["5xx"], true],
    ["a 429 under 5xx", response(429), ["5xx"], false],
    ["a 429 listed by code", response(429), ["429"], true],
    ["a 503 listed by another code", response(503), ["502"], false],
    ["a per-try timeout under gateway-error", { kind: "per-try-timeout" }, ["gateway-error"], true],
    ["a per-try timeout under 5xx", { kind: "per-try-timeout" }, ["5xx"], true],
    ["a per-try timeout under code 504", { kind: "per-try-timeout" }, ["504"], true],
    ["a per-try timeout under connect-failure", { kind: "per-try-timeout" }, ["connect-failure"], false],
    ["a connect failure under connect-failure", { kind: "connect-failure" }, ["connect-failure"], true],
    ["a connect failure under reset", { kind: "connect-failure" }, ["reset"], true],
    ["a reset under connect-failure", { kind: "reset" }, ["connect-failure"], true],
    ["a reset under reset", { kind: "reset" }, ["reset"], true],
    ["a reset under gateway-error", { kind: "reset" }, ["gateway-error"], false],
    ["a connect failure under 5xx", { kind: "connect-failure" }, ["5xx"], false],
    ["anything under an empty list", response(503), [], false],
  ])("%s is retryable: %s", (_name, outcome, retryOn, expected) => {
    expect(isRetryableOutcome(outcome, new Set(retryOn))).toBe(expected);
  });
});

describe("backoff with full jitter", () => {
  it.each([
    [1, 0.5, 12.5],
    [2, 0.5, 25],
    [3, 0.5, 50],
    [4, 1, 200],
    [5, 1, 250],
    [60, 1, 250],
    [2000, 0.5, 125],
    [1, 0, 0],
  ])("retry %s with random %s waits %s ms", (retryNumber, random, expected) => {
    expect(backoffDelayMs(retryNumber, DEFAULTS, random)).toBe(expected);
  });

  it("waits at least as long as the upstream's Retry-After", () => {
    expect(backoffDelayMs(1, DEFAULTS, 0.5, 2_000)).toBe(2_000);
  });

  it("keeps the jittered delay when Retry-After is shorter", () => {
    expect(backoffDelayMs(3, DEFAULTS, 0.5, 10)).toBe(50);
  });
});

describe("retry decisions", () => {
  it("retries a retryable failure after the jittered backoff", () => {
    expect(decideRetry(input())).toEqual({ retry: true, delayMs: 12.5 });
  });

  it("backs off longer on later retries", () => {
    expect(decideRetry(input({ attemptsMade: 2 }))).toEqual({ retry: true, delayMs: 25 });
  });

  it.each<[string, Partial<RetryDecisionInput>, string]>([
    ["a 200", { outcome: response(200) }, "success"],
    ["a 404", { outcome: response(404) }, "success"],
    ["a 500 the route does not list", { outcome: response(500) }, "not-retryable"],
    ["a reset the route does not list", { outcome: { kind: "reset" }, settings: { ...DEFAULTS, retryOn: new Set(["5xx"]) } }, "not-retryable"],
    ["a third failed attempt", { attemptsMade: 3 }, "attempts-exhausted"],
    ["a failure when only one attempt is allowed", { settings: { ...DEFAULTS, attempts: 1 } }, "attempts-exhausted"],
    ["a POST", { method: "POST" }, "method-not-idempotent"],
    ["a PATCH", { method: "PATCH" }, "method-not-idempotent"],
    ["a streamed body", { bodyReplayable: false }, "body-not-replayable"],
    ["a backoff ending at the deadline", { now: 1_000, deadline: 1_012.5 }, "deadline"],
    ["a Retry-After beyond the deadline", { outcome: { kind: "response", status: 503, retryAfterMs: 60_000 } }, "deadline"],
    ["an empty budget", { budget: budgetThat(false) }, "budget-exhausted"],
  ])("does not retry %s", (_name, overrides, reason) => {
    expect(decideRetry(input(overrides))).toEqual({ retry: false, reason });
  });

  it("retries a POST when the route allows non-idempotent retries", () => {
    expect(decideRetry(input({ method: "POST", settings: { ...DEFAULTS, retryNonIdempotent: true } })).retry).toBe(true);
  });

  it("retries just before the deadline", () => {
    expect(decideRetry(input({ now: 1_000, deadline: 1_012.6 })).retry).toBe(true);
  });

  it("honours a Retry-After that fits before the deadline", () => {
    expect(decideRetry(input({ outcome: { kind: "response", status: 503, retryAfterMs: 1_000 } }))).toEqual({ retry: true, delayMs: 1_000 });
  });

  it.each<[string, Partial<RetryDecisionInput>]>([
    ["success", { outcome: response(200) }],
    ["not-retryable", { outcome: response(500) }],
    ["attempts-exhausted", { attemptsMade: 3 }],
    ["method-not-idempotent", { method: "POST" }],
    ["body-not-replayable", { bodyReplayable: false }],
    ["deadline", { deadline: 1_000 }],
  ])("spends no budget when refusing for %s", (_reason, overrides) => {
    const budget = budgetThat(true);
    expect(decideRetry(input({ ...overrides, budget })).retry).toBe(false);
    expect(budget.withdrawals).toBe(0);
  });

  it("checks attempts before the method, and the method before the body", () => {
    expect(decideRetry(input({ attemptsMade: 3, method: "POST", bodyReplayable: false }))).toEqual({ retry: false, reason: "attempts-exhausted" });
    expect(decideRetry(input({ method: "POST", bodyReplayable: false }))).toEqual({ retry: false, reason: "method-not-idempotent" });
  });

  it("withdraws from the budget exactly once for a retry", () => {
    const budget = budgetThat(true);
    decideRetry(input({ budget }));
    expect(budget.withdrawals).toBe(1);
  });
});
