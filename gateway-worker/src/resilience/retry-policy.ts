/**
 * Whether to send one more attempt after a failed one, and after how long. Copies Envoy's
 * `retry_on` keywords and Linkerd's rule that a retry budget has the last word. Pure: the forward
 * stage supplies the clock, the random number and the budget, and does the waiting and fetching.
 */

/** What one upstream attempt produced, as the retry logic sees it. */
export type AttemptOutcome =
  | { kind: "response"; status: number; /** parsed Retry-After, ms */ retryAfterMs?: number }
  /** The fetch threw before any response. */
  | { kind: "connect-failure" }
  /** The connection broke mid-way. */
  | { kind: "reset" }
  /** This attempt exceeded its per-try timeout. */
  | { kind: "per-try-timeout" };

export interface RetrySettings {
  /** Total attempts including the first, >= 1 (default 3). */
  attempts: number;
  /**
   * Keywords (Envoy's names): "connect-failure", "reset", "gateway-error" (502, 503, 504, per-try
   * timeout), "5xx" (500-599, per-try timeout), or 3-digit status codes like "503" (a per-try timeout
   * counts as "504").
   */
  retryOn: ReadonlySet<string>;
  /** POST, PATCH and other non-idempotent methods are retried only when true. */
  retryNonIdempotent: boolean;
  /** Backoff base, ms (default 25). */
  backoffBaseMs: number;
  /** Backoff cap, ms (default 250). */
  backoffMaxMs: number;
}

/** RFC 9110 §9.2.2. Expects the method as fetch normalizes it (uppercase); methods are case-sensitive. */
const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"]);
const GATEWAY_ERROR_STATUSES: ReadonlySet<number> = new Set([502, 503, 504]);
/** A per-try timeout is what a proxy would have answered with. */
const TIMEOUT_STATUS = 504;

export function isIdempotentMethod(method: string): boolean {
  return IDEMPOTENT_METHODS.has(method);
}

/** Whether requests with this method may be retried at all: idempotent ones, others only when the route says so. */
export function mayRetryMethod(settings: Pick<RetrySettings, "retryNonIdempotent">, method: string): boolean {
  return settings.retryNonIdempotent || isIdempotentMethod(method);
}

function isRetryableStatus(status: number, retryOn: ReadonlySet<string>): boolean {
  if (retryOn.has(String(status))) return true;
  if (retryOn.has("5xx") && status >= 500 && status <= 599) return true;
  return retryOn.has("gateway-error") && GATEWAY_ERROR_STATUSES.has(status);
}

export function isRetryableOutcome(outcome: AttemptOutcome, retryOn: ReadonlySet<string>): boolean {
  switch (outcome.kind) {
    case "response":
      return isRetryableStatus(outcome.status, retryOn);
    case "per-try-timeout":
      return isRetryableStatus(TIMEOUT_STATUS, retryOn);
    // Both mean no usable answer came back, and from inside a Worker the line between them is
    // blurry, so either keyword covers both (Envoy's "reset" likewise covers connect failures).
    case "connect-failure":
    case "reset":
      return retryOn.has("connect-failure") || retryOn.has("reset");
  }
}

/**
 * Full jitter (AWS architecture blog, "Exponential Backoff and Jitter"): a uniform delay in
 * [0, min(max, base × 2^(retryNumber−1))), so retries from many callers spread out instead of
 * arriving in waves. `retryNumber` is 1 for the first retry. A server's Retry-After is a floor.
 */
export function backoffDelayMs(
  retryNumber: number,
  settings: Pick<RetrySettings, "backoffBaseMs" | "backoffMaxMs">,
  random: number,
  retryAfterMs?: number,
): number {
  // min() absorbs the Infinity that 2^n reaches for absurd retry numbers.
  const ceiling = Math.min(settings.backoffMaxMs, settings.backoffBaseMs * 2 ** (Math.max(1, retryNumber) - 1));
  return Math.max(random * ceiling, retryAfterMs ?? 0);
}

export interface RetryDecisionInput {
  /** Attempts already sent (>= 1). */
  attemptsMade: number;
  settings: RetrySettings;
  method: string;
  /** False for streamed bodies or bodies over 64 KiB: they cannot be sent twice. */
  bodyReplayable: boolean;
  outcome: AttemptOutcome;
  /** ms */
  now: number;
  /** Absolute ms: no attempt may start at or after it. */
  deadline: number;
  /** [0, 1) */
  random: number;
  /** Consulted last, only when everything else says retry, so a refused retry never spends budget. */
  budget: { tryWithdraw(now: number): boolean };
}

export type RetryDecision =
  | { retry: true; delayMs: number }
  | {
      retry: false;
      reason: "success" | "not-retryable" | "attempts-exhausted" | "method-not-idempotent" | "body-not-replayable" | "deadline" | "budget-exhausted";
    };

export function decideRetry(input: RetryDecisionInput): RetryDecision {
  const { outcome, settings } = input;
  if (!isRetryableOutcome(outcome, settings.retryOn)) {
    // Below 500 the upstream answered as intended (even a 4xx is the caller's problem); anything
    // else is a failure that the route simply does not retry.
    const answered = outcome.kind === "response" && outcome.status < 500;
    return { retry: false, reason: answered ? "success" : "not-retryable" };
  }
  if (input.attemptsMade >= settings.attempts) return { retry: false, reason: "attempts-exhausted" };
  if (!mayRetryMethod(settings, input.method)) return { retry: false, reason: "method-not-idempotent" };
  if (!input.bodyReplayable) return { retry: false, reason: "body-not-replayable" };
  const retryAfterMs = outcome.kind === "response" ? outcome.retryAfterMs : undefined;
  const delayMs = backoffDelayMs(input.attemptsMade, settings, input.random, retryAfterMs);
  if (input.now + delayMs >= input.deadline) return { retry: false, reason: "deadline" };
  if (!input.budget.tryWithdraw(input.now)) return { retry: false, reason: "budget-exhausted" };
  return { retry: true, delayMs };
}
