/**
 * The end of the pipeline: sends the request upstream in one or more attempts under one deadline.
 * Each attempt picks its endpoint (a retry prefers another one), gets its own per-try timeout, and
 * reports its result to outlier detection. Whether to try again is decided by the pure retry
 * policy (resilience/retry-policy.ts) against the destination's retry budget, so a failing
 * upstream sees at most ~1.2× its offered load; nothing starts after the deadline.
 *
 * Hedging (when configured, idempotent requests only): if the first attempt has not answered
 * after the hedge delay, a second one goes to another endpoint; the first usable answer wins and
 * the other is cancelled.
 */
import { DEADLINE_HEADER, MeshError } from "@weft/sdk";
import { isReplayable, prepareBody, preparedBodyNow } from "../request-body.js";
import type { CompiledEndpoint, CompiledRetries, CompiledService, EndpointPool } from "../routing/snapshot.js";
import { decideRetry, isIdempotentMethod, isRetryableOutcome, type AttemptOutcome } from "../resilience/retry-policy.js";
import type { OutlierResult } from "../resilience/outlier.js";
import type { MeshRequest, PreparedBody, StartTimer } from "../stage.js";
import { chooseEndpoint, poolOf } from "./balance.js";
import { formatTraceparent, newSpanId } from "../telemetry/trace-context.js";
import { safeAttributes } from "../telemetry/spans.js";
import { callerLabel, recordsSpans, routeLabel } from "../telemetry/observe.js";
import { ATTEMPT_HEADER, effectiveTimeoutMs, sendAttempt } from "./forward.js";

/** Response header saying how many attempts the gateway made, when it made more than one. */
export const ATTEMPTS_HEADER = "x-weft-attempts";

interface AttemptResult {
  readonly endpoint: CompiledEndpoint;
  readonly outcome: AttemptOutcome;
  readonly response?: Response;
  readonly error?: string;
  /** The attempt was cut short by the request's deadline (not by its own per-try timeout). */
  readonly deadlineExceeded: boolean;
}

interface RunningAttempt {
  readonly controller: AbortController;
  /** Settles with the attempt's own event, so waiting on one attempt or racing several needs no wrapper. */
  settled: Promise<SettledEvent>;
}

/** The retries that apply: the rule's replace the service's (not merged). */
export function retrySettings(request: Pick<MeshRequest, "route">, service: CompiledService): CompiledRetries {
  return request.route?.rule.retries ?? service.retries;
}

export async function forwardWithRetries(request: MeshRequest): Promise<Response> {
  const { service, destination, isolate } = request;
  if (!service || !destination) throw new MeshError("internal", "forward ran before a destination was chosen");
  const pool = poolOf(service, destination.subset);
  if (!pool) throw new MeshError("no_healthy_upstream", `service ${service.name} has no subset ${destination.subset ?? "*"}`);

  const settings = retrySettings(request, service);
  const budget = isolate.resilience.budget(service, isolate.now());
  budget.recordRequest(isolate.now());

  let deadline = isolate.now() + effectiveTimeoutMs(request);
  if (request.callerBudgetMs !== undefined) deadline = Math.min(deadline, request.receivedAt + request.callerBudgetMs);
  if (isolate.now() >= deadline) throw new MeshError("timeout", "the caller's deadline passed before the request could be sent");

  // A request without a body to read (GET, a stream) waits for nothing here.
  const body = preparedBodyNow(request) ?? (await prepareBody(request));
  const replayable = isReplayable(body);
  const hedgeDelayMs = settings.hedgeDelayMs !== undefined && replayable && isIdempotentMethod(request.method) ? settings.hedgeDelayMs : undefined;
  let hedging = hedgeDelayMs !== undefined;

  const tried = new Set<string>();
  const running = new Set<RunningAttempt>();
  let attemptsMade = 0;
  let lastFailure: AttemptResult | undefined;

  const launch = (): void => {
    const endpoint = chooseEndpoint(request, service, pool, tried);
    tried.add(endpoint.id);
    attemptsMade++;
    request.attempts = attemptsMade;
    const attempt = startAttempt(request, service, endpoint, body, attemptsMade, deadline, settings);
    running.add(attempt);
  };

  try {
    launch();
    for (;;) {
      const next = await nextEvent(running, hedging && attemptsMade < settings.attempts && running.size === 1 ? hedgeDelayMs : undefined, isolate.startTimer);
      if (next.kind === "hedge") {
        // A hedge is a retry for the budget's sake; without budget (or time) just keep waiting.
        if (isolate.now() < deadline && budget.tryWithdraw(isolate.now())) {
          try {
            launch();
            request.hedges = (request.hedges ?? 0) + 1;
          } catch (error) {
            if (!(error instanceof MeshError && error.code === "no_healthy_upstream")) throw error;
            hedging = false;
          }
        } else {
          hedging = false;
        }
        continue;
      }
      running.delete(next.attempt);
      const result = next.result;
      request.endpoint = result.endpoint;
      if (!isRetryableOutcome(result.outcome, settings.retryOn) && !result.deadlineExceeded) {
        discard(lastFailure);
        return finalResponse(result, attemptsMade);
      }
      discard(lastFailure);
      lastFailure = result;
      if (result.deadlineExceeded) break;
      if (running.size > 0) continue; // a hedged attempt is still out: its answer may yet win
      const decision = decideRetry({
        attemptsMade,
        settings,
        method: request.method,
        bodyReplayable: replayable,
        outcome: result.outcome,
        now: isolate.now(),
        deadline,
        random: isolate.random(),
        budget,
      });
      if (!decision.retry) break;
      if (decision.delayMs > 0) await isolate.sleep(decision.delayMs);
      if (isolate.now() >= deadline) break;
      try {
        launch();
      } catch (error) {
        // Nowhere left to send it: the last real answer is more useful than "no healthy upstream".
        if (error instanceof MeshError && error.code === "no_healthy_upstream") break;
        throw error;
      }
    }
  } finally {
    for (const attempt of running) attempt.controller.abort();
  }
  if (!lastFailure) throw new MeshError("internal", "no attempt was made");
  return finalResponse(lastFailure, attemptsMade);
}

interface SettledEvent {
  readonly kind: "settled";
  readonly attempt: RunningAttempt;
  readonly result: AttemptResult;
}
type Event = SettledEvent | { readonly kind: "hedge" };

function nextEvent(running: ReadonlySet<RunningAttempt>, hedgeAfterMs: number | undefined, startTimer: StartTimer): Promise<Event> {
  if (hedgeAfterMs === undefined && running.size === 1) {
    // The common case (one attempt out, no hedge to start): its own promise, no race to build.
    const attempt = running.values().next().value;
    if (attempt) return attempt.settled;
  }
  const settled = [...running].map((attempt) => attempt.settled);
  if (hedgeAfterMs === undefined) return Promise.race(settled);
  let cancel: (() => void) | undefined;
  const hedge = new Promise<Event>((resolve) => {
    cancel = startTimer(() => resolve({ kind: "hedge" }), hedgeAfterMs);
  });
  return Promise.race([...settled, hedge]).finally(() => cancel?.());
}

/** Starts one attempt under min(per-try timeout, time left); settles with what happened, never rejects. */
function startAttempt(
  request: MeshRequest,
  service: CompiledService,
  endpoint: CompiledEndpoint,
  body: PreparedBody,
  attempt: number,
  deadline: number,
  settings: CompiledRetries,
): RunningAttempt {
  const { isolate } = request;
  const controller = new AbortController();
  const remaining = Math.max(0, deadline - isolate.now());
  const perTry = settings.perTryTimeoutMs;
  const limitMs = perTry !== undefined && perTry < remaining ? perTry : remaining;
  const limitedByDeadline = limitMs === remaining;
  // The destination learns its budget, and a retry or hedge its number (the first attempt carries
  // none: only headers that tell the destination something are set). The Request constructor copies
  // these headers, so each attempt carries its own values.
  request.headers.set(DEADLINE_HEADER, String(Math.floor(limitMs)));
  if (attempt > 1) request.headers.set(ATTEMPT_HEADER, String(attempt));
  // Each attempt is a span of its own, the parent of whatever the destination does.
  const trace = request.trace;
  const attemptSpanId = trace ? newSpanId() : undefined;
  if (trace && attemptSpanId) request.headers.set("traceparent", formatTraceparent({ traceId: trace.traceId, parentId: attemptSpanId, sampled: trace.sampled }));
  const startedAt = isolate.now();

  const inFlight = isolate.resilience.endpointsInFlight;
  inFlight.acquire(endpoint.id);
  // One timer per attempt, cleared when the answer's headers arrive: the limit bounds the wait for
  // an answer, never a body still streaming after it (a native AbortSignal.timeout would cut that
  // body too). The attempt settles by whichever comes first, the answer or the timer, even when a
  // target ignores the abort.
  let settle!: (event: SettledEvent) => void;
  const running: RunningAttempt = { controller, settled: new Promise<SettledEvent>((resolve) => (settle = resolve)) };
  let settled = false;
  const finish = (first: AttemptResult): void => {
    if (settled) return;
    settled = true;
    inFlight.release(endpoint.id);
    const cancelled = controller.signal.aborted && first.outcome.kind !== "per-try-timeout";
    if (trace && attemptSpanId && recordsSpans(request)) recordAttemptSpan(request, trace, attemptSpanId, endpoint, attempt, startedAt, first, cancelled);
    // Cancelled because another attempt won: not the endpoint's fault.
    if (!cancelled) recordOutlier(request, service, endpoint, first.outcome);
    settle({ kind: "settled", attempt: running, result: first });
  };
  const cancelTimer = isolate.startTimer(() => {
    finish({ endpoint, outcome: { kind: "per-try-timeout" }, error: `no answer within ${Math.floor(limitMs)} ms`, deadlineExceeded: limitedByDeadline });
    controller.abort();
  }, limitMs);
  void sendAttempt(request, endpoint, body, controller.signal).then((sent) => {
    cancelTimer();
    const answer: AttemptResult =
      "response" in sent
        ? { endpoint, outcome: sent.outcome, response: sent.response, deadlineExceeded: false }
        : { endpoint, outcome: sent.outcome, error: sent.error, deadlineExceeded: false };
    // An answer that lost to the timer or a cancellation is not read by anyone.
    if (settled) discard(answer);
    else finish(answer);
  });
  return running;
}

function recordAttemptSpan(
  request: MeshRequest,
  trace: NonNullable<MeshRequest["trace"]>,
  spanId: string,
  endpoint: CompiledEndpoint,
  attempt: number,
  startedAt: number,
  result: AttemptResult,
  cancelled: boolean,
): void {
  const status = result.outcome.kind === "response" ? result.outcome.status : undefined;
  request.isolate.telemetry.spans.add({
    traceId: trace.traceId,
    spanId,
    parentSpanId: trace.spanId,
    name: `attempt ${attempt} → ${endpoint.id}`,
    kind: "client",
    startMs: startedAt,
    endMs: request.isolate.now(),
    attributes: safeAttributes({
      "weft.source": callerLabel(request),
      "weft.destination": request.service?.name,
      "weft.subset": endpoint.subset,
      "weft.route": routeLabel(request) || undefined,
      "weft.attempt": attempt,
      "weft.error_code": cancelled ? "cancelled" : result.outcome.kind === "response" ? undefined : result.outcome.kind,
      "http.request.method": request.method,
      "url.path": request.upstreamPath ?? request.path,
      "http.response.status_code": status,
    }),
    status: status !== undefined && status < 500 ? "ok" : "error",
  });
}

function recordOutlier(request: MeshRequest, service: CompiledService, endpoint: CompiledEndpoint, outcome: AttemptOutcome): void {
  const detector = request.isolate.resilience.detector(service);
  if (!detector) return;
  const pool: EndpointPool | undefined = service.subsets.get(endpoint.subset);
  const now = request.isolate.now();
  const change = detector.record(endpoint.id, pool?.key ?? `${service.name}/${endpoint.subset}`, pool?.endpoints.length ?? 1, outlierResult(outcome), now);
  if (change === "ejected") request.isolate.telemetry.recorder.count("ejections", service.name, { destination: service.name, subset: endpoint.subset }, now);
}

/** How outlier detection counts an attempt: gateway errors (502/503/504, no connection, timeouts) and other 5xx. */
export function outlierResult(outcome: AttemptOutcome): OutlierResult {
  if (outcome.kind !== "response") return "gateway-error";
  if (outcome.status === 502 || outcome.status === 503 || outcome.status === 504) return "gateway-error";
  return outcome.status >= 500 ? "server-error" : "success";
}

function finalResponse(result: AttemptResult, attempts: number): Response {
  if (result.response) {
    if (attempts === 1) return result.response;
    const response = new Response(result.response.body, result.response);
    response.headers.set(ATTEMPTS_HEADER, String(attempts));
    return response;
  }
  const headers = attempts > 1 ? { [ATTEMPTS_HEADER]: String(attempts) } : {};
  if (result.outcome.kind === "per-try-timeout") {
    throw new MeshErrorWithHeaders("timeout", `${result.endpoint.id}: ${result.error ?? "timed out"}`, headers);
  }
  throw new MeshErrorWithHeaders("upstream_failure", `${result.endpoint.id} failed: ${result.error ?? result.outcome.kind}`, headers);
}

/** A mesh error that also reports the attempts made. */
export class MeshErrorWithHeaders extends MeshError {
  readonly headers: Record<string, string>;
  constructor(code: ConstructorParameters<typeof MeshError>[0], message: string, headers: Record<string, string>) {
    super(code, message);
    this.headers = headers;
  }
  override toResponse(extraHeaders: Record<string, string> = {}): Response {
    return super.toResponse({ ...this.headers, ...extraHeaders });
  }
}

function discard(result: AttemptResult | undefined): void {
  if (result?.response?.body) void result.response.body.cancel().catch(() => undefined);
}
