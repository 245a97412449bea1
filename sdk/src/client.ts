/**
 * Calling peers through the mesh. A function holds a service binding (conventionally `WEFT`) to
 * the gateway Worker; the SDK turns `mesh.fetch("orders", "/orders/42")` into a request for
 * `http://orders.mesh/orders/42` on that binding, and turns the mesh's own error answers into
 * typed `MeshError`s. Answers from the destination itself (even 4xx/5xx) come back as Responses.
 * A call carrying a spent time budget (`x-weft-deadline-ms: 0`) is not sent at all.
 * Inside `runWithInbound` (the `weftIdentity` middleware, `withWeftContext`), a call the caller
 * left without `traceparent`/`tracestate`/`x-request-id`/`x-weft-deadline-ms` gets them from the
 * inbound request; headers the caller set always win.
 */
import { applyInboundDefaults, currentInbound, inboundContextOf, type InboundContext } from "./context.js";
import { DEADLINE_HEADER, parseDeadlineHeader } from "./deadline.js";
import { NAME_PATTERN } from "./identity.js";
import { MeshError, meshErrorFromResponse } from "./errors.js";
import { ServiceToken } from "./service-token.js";

/** The part of a service binding the SDK needs (a Worker `Fetcher` satisfies it). */
export interface MeshBinding {
  fetch(input: Request | string | URL, init?: RequestInit): Promise<Response>;
}

export interface MeshClientOptions {
  /**
   * When true (the default), an answer produced by the mesh itself (no route, upstream failure,
   * timeout, …) is thrown as a `MeshError`; when false it is returned as a Response like any other.
   */
  throwMeshErrors?: boolean;
  /**
   * This function's bootstrap credential (a wrangler secret such as `env.WEFT_CREDENTIAL`). With it,
   * every call carries the function's SVID; without it, calls are anonymous (refused in STRICT mode).
   */
  credential?: string | undefined;
  /** Clock (epoch ms; for token renewal and deadline checks) and randomness for token renewal (tests). */
  now?: () => number;
  random?: () => number;
}

/** `meshClient`'s options: the isolate client's, and the request being handled. */
export interface IsolateMeshClientOptions extends Pick<MeshClientOptions, "credential" | "throwMeshErrors"> {
  /**
   * The request this function is handling: every peer call carries its `traceparent`,
   * `tracestate`, `x-request-id` and what is left of its deadline (unless the call sets them), so
   * the hops stay one trace with no wrapper and no compatibility flag.
   */
  inbound?: Request;
}

/** The SDK's own refusals to send, told apart from MeshErrors thrown by what it calls (token exchange). */
const refusals = new WeakSet<MeshError>();

function deadlinePassed(): MeshError {
  const error = new MeshError("timeout", "the caller's deadline has passed");
  refusals.add(error);
  return error;
}

/** Suffix of mesh host names: `<service>.mesh`. */
export const MESH_HOST_SUFFIX = ".mesh";

/** The URL the gateway understands as a mesh call to `service`. */
export function meshUrl(service: string, path = "/"): string {
  if (!NAME_PATTERN.test(service)) throw new TypeError(`"${service}" is not a valid service name`);
  const suffix = path.startsWith("/") ? path : `/${path}`;
  return `http://${service}${MESH_HOST_SUFFIX}${suffix}`;
}

export interface MeshClient {
  /**
   * Calls `service` at `path` through the gateway. With an `x-weft-deadline-ms` header (see
   * `propagationHeaders`) the call is refused with a `timeout` MeshError, unsent, once that budget
   * is spent, and the header is lowered by whatever the SDK itself waited (token renewal) before
   * each attempt.
   * @example const res = await mesh.fetch("orders", "/orders/42", { headers: propagationHeaders(c.req.raw) });
   */
  fetch(service: string, path: string, init?: RequestInit): Promise<Response>;
  /**
   * Calls a full mesh URL (`http://<service>.mesh/...`) or a Request for one.
   * @example const res = await mesh.fetch("http://orders.mesh/orders/42", { method: "POST", body });
   */
  fetch(url: string | URL | Request, init?: RequestInit): Promise<Response>;
  /**
   * This client, with the trace context, request id and deadline of `inbound` on every call
   * (what `runWithInbound` gives implicitly). Cheap: the SVID and everything else are shared.
   * @example const mesh = meshClient(env.WEFT).withInbound(request);
   */
  withInbound(inbound: Request): MeshClient;
}

/**
 * Creates a mesh client over the gateway binding.
 * @example
 * const mesh = createMeshClient(env.WEFT);
 * const order = await (await mesh.fetch("orders", "/orders/42")).json();
 */
export function createMeshClient(binding: MeshBinding, options: MeshClientOptions = {}): MeshClient {
  if (!binding || typeof binding.fetch !== "function") {
    throw new TypeError("createMeshClient needs the gateway service binding (e.g. env.WEFT); check the function's wrangler config");
  }
  const throwMeshErrors = options.throwMeshErrors ?? true;
  const now = options.now ?? Date.now;
  const identity =
    options.credential === undefined
      ? undefined
      : new ServiceToken(binding, options.credential, { ...(options.now ? { now: options.now } : {}), ...(options.random ? { random: options.random } : {}) });

  /**
   * Sends with this function's SVID; a 401 from the mesh triggers one renewal and one retry.
   * `deadline` (this isolate's clock) is checked and re-stamped right before every attempt.
   */
  async function send(request: Request, deadline: number | undefined): Promise<Response> {
    if (!identity) return binding.fetch(stampBudget(request, deadline));
    const replay = request.body === null ? undefined : request.clone();
    const token = await identity.get();
    const first = new Request(request);
    first.headers.set("authorization", `Bearer ${token}`);
    const response = await binding.fetch(stampBudget(first, deadline));
    if (response.status !== 401 || response.headers.get("x-weft-error") !== "unauthenticated") return response;
    if (request.body !== null && !replay) return response;
    identity.invalidate(token);
    const retry = new Request((replay ?? request) as Request);
    retry.headers.set("authorization", `Bearer ${await identity.get()}`);
    return binding.fetch(stampBudget(retry, deadline));
  }

  /** No attempt starts after the deadline; one that starts carries only the budget still left. */
  function stampBudget(request: Request, deadline: number | undefined): Request {
    if (deadline === undefined) return request;
    const left = Math.floor(deadline - now());
    if (left <= 0) throw deadlinePassed();
    request.headers.set(DEADLINE_HEADER, String(left));
    return request;
  }

  async function meshFetch(inbound: InboundContext | undefined, first: string | URL | Request, second?: string | RequestInit, third?: RequestInit): Promise<Response> {
    let request: Request;
    if (typeof first === "string" && typeof second === "string") {
      request = new Request(meshUrl(first, second), third);
    } else {
      const init = typeof second === "object" ? second : undefined;
      request = first instanceof Request ? new Request(first, init) : new Request(String(first), init);
      const host = new URL(request.url).hostname;
      if (!host.endsWith(MESH_HOST_SUFFIX)) {
        throw new TypeError(`mesh.fetch needs a mesh URL such as http://orders.mesh/...; got host "${host}"`);
      }
    }
    // Before the budget is read, so an inherited budget is enforced like an explicit one.
    applyInboundDefaults(request.headers, inbound ?? currentInbound(), now());
    // A malformed budget is left for the gateway to ignore; a well-formed one becomes a deadline here.
    const budget = parseDeadlineHeader(request.headers.get(DEADLINE_HEADER));
    let response: Response;
    try {
      if (budget === 0) throw deadlinePassed();
      response = await send(request, budget === undefined ? undefined : now() + budget);
    } catch (error) {
      // Refused before sending: answered the way the gateway would have, per `throwMeshErrors`.
      if (!throwMeshErrors && error instanceof MeshError && refusals.has(error)) return error.toResponse();
      throw error;
    }
    if (!throwMeshErrors) return response;
    const meshError = await meshErrorFromResponse(response);
    if (meshError) throw meshError;
    return response;
  }

  /** A client whose calls inherit from `inbound` (or, without one, from the current `runWithInbound`). */
  function clientFor(inbound: InboundContext | undefined): MeshClient {
    return {
      fetch: ((first: string | URL | Request, second?: string | RequestInit, third?: RequestInit) => meshFetch(inbound, first, second, third)) as MeshClient["fetch"],
      withInbound: (request) => clientFor(inboundContextOf(request)),
    };
  }
  return clientFor(undefined);
}

const isolateClients = new WeakMap<MeshBinding, Map<string, MeshClient>>();

/**
 * The isolate's mesh client for this binding and credential, created on first use and reused, so
 * the function's SVID is exchanged once and renewed in place rather than once per request. With
 * `inbound`, the client for this request: its calls carry the request's trace context, request id
 * and remaining deadline.
 * @example
 * const mesh = meshClient(env.WEFT, { credential: env.WEFT_CREDENTIAL, inbound: request });
 */
export function meshClient(binding: MeshBinding, options: IsolateMeshClientOptions = {}): MeshClient {
  let byOptions = isolateClients.get(binding);
  if (!byOptions) isolateClients.set(binding, (byOptions = new Map()));
  const key = `${options.credential ?? ""}|${options.throwMeshErrors ?? true}`;
  let client = byOptions.get(key);
  if (!client) byOptions.set(key, (client = createMeshClient(binding, { ...(options.credential !== undefined ? { credential: options.credential } : {}), ...(options.throwMeshErrors !== undefined ? { throwMeshErrors: options.throwMeshErrors } : {}) })));
  return options.inbound ? client.withInbound(options.inbound) : client;
}
