/**
 * The gateway's unit of composition: a stage sees the request context, may answer by itself, and
 * otherwise hands the request to `next(request)` (tower's Service/Layer; Hono's middleware shape).
 * Stages are assembled in pipeline.ts in the order of the request path.
 */
import type { GatewaySettings } from "./settings.js";
import type { CompiledDestination, CompiledEndpoint, CompiledService, Snapshot } from "./routing/snapshot.js";
import type { RouteMatch } from "./routing/lookup.js";
import type { BalancerCounters } from "./routing/balance.js";
import type { GatewayEnv } from "./env.js";
import type { Caller } from "./policy/authorize.js";
import type { JwksCache } from "./identity/jwks-cache.js";
import type { VerifiedTokens } from "./identity/verified-tokens.js";
import type { HopTokens } from "./identity/hop-tokens.js";
import type { ResilienceState } from "./resilience/state.js";
import type { TelemetryState } from "./telemetry/state.js";
import type { ServerTrace } from "./telemetry/trace-context.js";
import type { GlobalLimiter } from "./resilience/global-limit.js";
import type { RequestLocation } from "./routing/balance.js";

/** Starts a one-shot timer and returns the function that cancels it. */
export type StartTimer = (callback: () => void, ms: number) => () => void;

/** The runtime's timer, as a StartTimer. */
export const nativeTimer: StartTimer = (callback, ms) => {
  const id = setTimeout(callback, ms);
  return () => clearTimeout(id);
};

/** State that lives as long as the isolate: caches and balancer memory, never the truth. */
export interface IsolateState {
  readonly counters: BalancerCounters;
  /** Public signing keys, per gateway environment (created on first use). */
  jwks(env: GatewayEnv): JwksCache;
  readonly verifiedTokens: VerifiedTokens;
  /** Hop tokens per caller→destination pair, per gateway environment. */
  hopTokens(env: GatewayEnv): HopTokens;
  readonly random: () => number;
  readonly now: () => number;
  /** Waits between retry attempts and for injected delays (tests pass a fake). */
  readonly sleep: (ms: number) => Promise<void>;
  /** Starts a one-shot timer (attempt timeouts, hedges, mirrors); tests pass a fake. */
  readonly startTimer: StartTimer;
  /**
   * Where a request came from (request.cf), for locality-aware balancing. Read only by a balancer
   * that uses it: the runtime builds `cf` on first access, which costs every request that touches it.
   */
  readonly location: (request: Request) => RequestLocation | undefined;
  /** Retry budgets, outlier detectors, in-flight counts, rate-limit buckets. */
  readonly resilience: ResilienceState;
  /** Request aggregates, spans and their flushing. */
  readonly telemetry: TelemetryState;
  /** Rate limits that hold across isolates, leased from a Durable Object per key. */
  globalLimiter(env: GatewayEnv): GlobalLimiter;
}

/** The gateway's span for one request, and where it sits in its trace. */
export type RequestTrace = ServerTrace;

/** A request body as the attempts see it: replayable bytes, or a stream that can be sent once. */
export type PreparedBody =
  | { readonly kind: "none" }
  | { readonly kind: "bytes"; readonly bytes: ArrayBuffer }
  | { readonly kind: "stream"; readonly stream: ReadableStream };

/** Everything the stages learn about one request, filled in as it moves down the pipeline. */
export interface MeshRequest {
  readonly original: Request;
  readonly url: URL;
  /** Host without port, lowercase. */
  readonly host: string;
  readonly method: string;
  /** Headers to forward: client `x-weft-*` already removed. */
  readonly headers: Headers;
  readonly env: GatewayEnv;
  readonly waitUntil: (promise: Promise<unknown>) => void;
  readonly snapshot: Snapshot;
  readonly isolate: IsolateState;
  requestId: string;
  /** When the gateway received the request (isolate clock, ms): the caller's budget counts from here. */
  readonly receivedAt: number;
  /** The Worker's settings, parsed once per isolate (settings.ts). */
  readonly settings: GatewaySettings;
  /** The caller's remaining time budget (x-weft-deadline-ms), which may only shorten the timeout. */
  callerBudgetMs?: number | undefined;
  /** The body once read for replay (retries, mirroring); set by the first stage that needs it. */
  body?: PreparedBody;
  /**
   * What the caller's Authorization header held, read before the header is dropped: one bearer
   * token, or something else (malformed, doubled, another scheme), which is refused. Absent: none sent.
   */
  bearer?: { readonly token: string } | { readonly malformed: true } | undefined;
  /** Who is calling, once authentication has run. */
  caller?: Caller;
  /** Why a presented token was refused (telemetry label), when it was. */
  authFailure?: string;
  /** Attempts sent upstream (1 without retries), and how many of them were hedges. */
  attempts?: number;
  hedges?: number;
  /** Trace context of this request at the gateway (W3C Trace Context). */
  trace?: RequestTrace;
  /** The normalized path: what routing and policy match, and what is forwarded (before a rewrite). */
  path: string;
  route?: RouteMatch;
  /** Path sent upstream, after the rule's rewrite. */
  upstreamPath?: string;
  destination?: CompiledDestination;
  service?: CompiledService;
  endpoint?: CompiledEndpoint;
}

export type Next = (request: MeshRequest) => Promise<Response>;
export type Stage = (request: MeshRequest, next: Next) => Promise<Response>;

/**
 * Composes stages so that each one's `next` runs the rest, ending in `terminal`. The chain is
 * built once; a request allocates no closures on its way down.
 */
export function composeStages(stages: readonly Stage[], terminal: Next): Next {
  return stages.reduceRight<Next>((next, stage) => {
    return function runStage(request) {
      return stage(request, next);
    };
  }, terminal);
}
