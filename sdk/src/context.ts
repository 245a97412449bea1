/**
 * The request a function is handling, reachable from anywhere in the work it starts, so its peer
 * calls carry the trace context, request id and remaining time budget without the function
 * passing headers by hand (the mesh client fills them in; see `createMeshClient`).
 *
 * It rests on `AsyncLocalStorage`. In workerd that lives in `node:async_hooks` and only exists
 * with a compatibility flag; a static import of it fails the whole Worker at load (and bundlers
 * refuse it) without the flag, and this module is also loaded by Workers that never propagate
 * (the gateway imports the SDK's errors and has no Node.js flags). So it is looked up at run time:
 * `process.getBuiltinModule("node:async_hooks")` (Node ≥ 20.16; workerd with `nodejs_compat`,
 * which the example functions set), then a global `AsyncLocalStorage` (hosts that expose one; a
 * Worker with only `nodejs_als`, which has no `process`, can assign it there itself). Without
 * either, everything works as before, minus the automatic propagation: pass
 * `propagationHeaders(request)` explicitly.
 */
import { DEADLINE_HEADER, inboundDeadline, remainingBudgetMs } from "./deadline.js";

/** What a peer call inherits from the inbound request, read once when the request arrived. */
export interface InboundContext {
  /** The inbound Request (its time budget is read from it at each call, see `remainingBudgetMs`). */
  readonly request: Request;
  readonly traceparent?: string;
  readonly tracestate?: string;
  readonly requestId?: string;
}

/** The part of `AsyncLocalStorage` this module uses. */
export interface ContextStorage<T> {
  run<R>(store: T, callback: () => R): R;
  getStore(): T | undefined;
}

export type ContextStorageConstructor = new () => ContextStorage<InboundContext>;

/**
 * Finds `AsyncLocalStorage` on `host` (default: this runtime), or `undefined` when it has none.
 * Never throws: a missing module must cost the function its automatic propagation, not its life.
 */
export function findAsyncLocalStorage(host: object = globalThis): ContextStorageConstructor | undefined {
  const candidate = host as { process?: { getBuiltinModule?: (id: string) => unknown }; AsyncLocalStorage?: unknown };
  try {
    const hooks = candidate.process?.getBuiltinModule?.("node:async_hooks") as { AsyncLocalStorage?: unknown } | undefined;
    if (typeof hooks?.AsyncLocalStorage === "function") return hooks.AsyncLocalStorage as ContextStorageConstructor;
  } catch {
    // getBuiltinModule throws for a module the host doesn't have: fall through.
  }
  if (typeof candidate.AsyncLocalStorage === "function") return candidate.AsyncLocalStorage as ContextStorageConstructor;
  return undefined;
}

/** A place to keep the inbound request for the duration of a callback. */
export interface InboundScope {
  /** Whether `current()` can see the request from inside `run` (false without AsyncLocalStorage). */
  readonly propagates: boolean;
  run<R>(request: Request, fn: () => R): R;
  current(): InboundContext | undefined;
}

/** Builds an InboundScope over `Storage`; with `undefined`, one that runs callbacks and remembers nothing. */
export function createInboundScope(Storage: ContextStorageConstructor | undefined): InboundScope {
  const storage = Storage ? new Storage() : undefined;
  return {
    propagates: storage !== undefined,
    run(request, fn) {
      // Starts the request's budget clock here at the latest, whether or not anything propagates.
      inboundDeadline(request);
      return storage ? storage.run(snapshot(request), fn) : fn();
    },
    current() {
      return storage?.getStore();
    },
  };
}

/**
 * What peer calls inherit from `request`, read now (and its time budget's clock started): the
 * explicit form of the context `runWithInbound` keeps, for a client made per request
 * (`meshClient(env.WEFT, { inbound: request })`).
 */
export function inboundContextOf(request: Request): InboundContext {
  inboundDeadline(request);
  return snapshot(request);
}

function snapshot(request: Request): InboundContext {
  const traceparent = request.headers.get("traceparent");
  const tracestate = request.headers.get("tracestate");
  const requestId = request.headers.get("x-request-id");
  return {
    request,
    ...(traceparent !== null ? { traceparent } : {}),
    ...(tracestate !== null ? { tracestate } : {}),
    ...(requestId !== null ? { requestId } : {}),
  };
}

// Resolved on first use rather than at import, so merely importing the SDK does nothing.
let isolateScope: InboundScope | undefined;

function scope(): InboundScope {
  return (isolateScope ??= createInboundScope(findAsyncLocalStorage()));
}

/**
 * Runs `fn` with `request` as the inbound request: mesh calls made anywhere inside it (awaited or
 * not) inherit its trace context, request id and remaining budget. The `weftIdentity` middleware
 * and `withWeftContext` call it for you. Nested runs see the innermost request; concurrent ones
 * each see their own.
 * @example
 * return runWithInbound(request, () => handle(request, env));
 */
export function runWithInbound<R>(request: Request, fn: () => R): R {
  return scope().run(request, fn);
}

/**
 * The inbound request being handled, or `undefined` outside `runWithInbound` (or where the
 * runtime has no AsyncLocalStorage; see `inboundPropagationAvailable`).
 * @example
 * const requestId = currentInbound()?.requestId;
 */
export function currentInbound(): InboundContext | undefined {
  return scope().current();
}

/**
 * Whether this runtime supports automatic propagation. False in workerd without the
 * `nodejs_compat` compatibility flag; then pass `propagationHeaders(request)` to peer calls.
 * @example
 * if (!inboundPropagationAvailable()) console.warn("add compatibility_flags = [\"nodejs_compat\"]");
 */
export function inboundPropagationAvailable(): boolean {
  return scope().propagates;
}

/**
 * Wraps a Worker's fetch handler so the whole request runs inside `runWithInbound`. This is the
 * way for itty-router apps (a router handler returns before the routes after it run, so
 * `withWeftIdentity` cannot wrap them) and for any Worker without the Hono middleware.
 * @example
 * export default { fetch: withWeftContext(router.fetch) };
 * export default { fetch: withWeftContext(app.fetch) }; // Hono, without weftIdentity
 */
export function withWeftContext<Args extends unknown[], R>(handler: (request: Request, ...args: Args) => R): (request: Request, ...args: Args) => R {
  return function fetchInWeftContext(request, ...args) {
    return runWithInbound(request, () => handler(request, ...args));
  };
}

/**
 * Fills an outgoing call's headers from the inbound request, never overriding one the caller set:
 * `traceparent` with its `tracestate` (as a pair: the inbound tracestate belongs to the inbound
 * trace, so a caller-chosen traceparent keeps only the tracestate the caller gave),
 * `x-request-id`, and `x-weft-deadline-ms` as what is left of the inbound budget at `now`.
 */
export function applyInboundDefaults(headers: Headers, inbound: InboundContext | undefined, now: number = Date.now()): void {
  if (!inbound) return;
  if (!headers.has("traceparent") && inbound.traceparent !== undefined) {
    headers.set("traceparent", inbound.traceparent);
    if (!headers.has("tracestate") && inbound.tracestate !== undefined) headers.set("tracestate", inbound.tracestate);
  }
  if (!headers.has("x-request-id") && inbound.requestId !== undefined) headers.set("x-request-id", inbound.requestId);
  if (!headers.has(DEADLINE_HEADER)) {
    const left = remainingBudgetMs(inbound.request, now);
    if (left !== undefined) headers.set(DEADLINE_HEADER, String(left));
  }
}
