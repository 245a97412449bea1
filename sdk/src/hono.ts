/**
 * @weft/sdk/hono — the Hono middleware, typed with Hono's own `Context` and `MiddlewareHandler`
 * so `c.env.WEFT` and `c.get("weftCaller")` type-check in your app. Hono is an optional peer
 * dependency: only this subpath needs it.
 */
import type { Context, Env, MiddlewareHandler } from "hono";
import type { MeshBinding } from "./client.js";
import { runWithInbound } from "./context.js";
import { inboundDeadline } from "./deadline.js";
import { MeshError } from "./errors.js";
import { verifyInbound, type InboundCaller, type InboundOptions } from "./inbound.js";

/** What the middleware sets: `c.get("weftCaller")`, the verified caller or null for an anonymous one. */
export interface WeftVariables {
  weftCaller: InboundCaller | null;
}

/** `weftIdentity`'s options in plain form: the gateway binding is named, and read from `c.env`. */
export interface WeftIdentityOptions extends Omit<InboundOptions, "binding"> {
  /** Name of the gateway's service binding in this Worker's env. Default "WEFT". */
  binding?: string;
}

function isMeshBinding(value: unknown): value is MeshBinding {
  return typeof value === "object" && value !== null && typeof (value as { fetch?: unknown }).fetch === "function";
}

/** The options for one request: the plain form's binding looked up in the Worker's env. */
function resolveOptions<E extends Env>(options: WeftIdentityOptions | ((c: Context<E>) => InboundOptions), c: Context<E>): InboundOptions {
  if (typeof options === "function") return options(c);
  const name = options.binding ?? "WEFT";
  const binding: unknown = (c.env as Record<string, unknown> | undefined)?.[name];
  if (!isMeshBinding(binding)) throw new MeshError("internal", `this Worker has no service binding named ${name} to the weft gateway`);
  return { ...options, binding };
}

/**
 * Hono middleware: refuses unverified calls with 401 and sets `c.get("weftCaller")`. It also
 * records when the request arrived, so its time budget (`inboundDeadline`) is counted from here,
 * and runs the rest of the request inside `runWithInbound`, so mesh calls the handlers make carry
 * its trace context, request id and remaining budget without passing headers.
 *
 * Give the options as an object (the gateway binding read from `c.env.WEFT`, or the binding you
 * name), or as a function of Hono's typed `Context` with your app's Env as the type argument.
 * @example
 * const app = new Hono<{ Bindings: { WEFT: Fetcher }; Variables: WeftVariables }>();
 * app.use("*", weftIdentity({ service: "orders", trustDomain: "shop.weft" }));
 * // or: app.use("*", weftIdentity<AppEnv>((c) => ({ binding: c.env.WEFT, service: "orders", trustDomain: "shop.weft" })));
 */
export function weftIdentity<E extends Env = Env>(options: WeftIdentityOptions | ((c: Context<E>) => InboundOptions)): MiddlewareHandler<E> {
  return async function verifyCaller(c, next) {
    // Before the token check, which may wait for the JWKS: that wait spends the caller's budget too.
    inboundDeadline(c.req.raw);
    let caller: InboundCaller | null;
    try {
      caller = await verifyInbound(c.req.raw, resolveOptions(options, c));
    } catch (error) {
      if (error instanceof MeshError) return error.toResponse();
      throw error;
    }
    // The app declares `weftCaller` in its Variables (WeftVariables); Hono's `set` is typed by them.
    (c as unknown as Context<{ Variables: WeftVariables }>).set("weftCaller", caller);
    await runWithInbound(c.req.raw, next);
  };
}

export type { InboundCaller, InboundOptions } from "./inbound.js";
