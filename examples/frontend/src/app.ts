/**
 * frontend: the shop's public face, a Hono function that composes catalog and orders. Every peer
 * call goes through the gateway (the WEFT binding), so a failure there shows up as a MeshError,
 * which this function turns into a 502 with the mesh's code instead of crashing.
 */
import { Hono, type Context } from "hono";
import { inboundDeadline, meshClient, MeshError, runWithInbound } from "@weft/sdk";
import { failurePage, shopPage, type ProductView } from "./page.js";

export interface Env {
  /** Service binding to the gateway (`weft-gateway`); the only way this function reaches peers. */
  WEFT: Fetcher;
  /** This function's bootstrap credential (a secret); without it, its peer calls are anonymous. */
  WEFT_CREDENTIAL?: string;
}

type AppContext = Context<{ Bindings: Env }>;

/** `{"error":{"code","message"}}`, the shape the mesh and every example function use. */
export interface ErrorBody {
  error: { code: string; message: string };
}

/** A peer call failed outside the mesh's own answers: the binding threw, or the body was unusable. */
export class PeerError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = "PeerError";
    this.code = code;
  }
}

/**
 * What the shop adds to its peer calls by itself: a visitor's canary opt-in (`x-canary`), which the
 * orders route in mesh.yaml reads. Trace context, request id and the remaining time budget are
 * carried by the SDK on its own (the request runs inside `runWithInbound`, below).
 */
function peerHeaders(inbound: Request): Headers {
  const headers = new Headers({ accept: "application/json" });
  const canary = inbound.headers.get("x-canary");
  if (canary !== null) headers.set("x-canary", canary);
  return headers;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isProduct(value: unknown): value is ProductView {
  return isObject(value) && typeof value.id === "string" && typeof value.name === "string" && typeof value.priceCents === "number";
}

interface PeerAnswer {
  status: number;
  ok: boolean;
  body: Record<string, unknown>;
}

/**
 * Calls `service` at `path` through the mesh and reads its JSON object. Throws `MeshError` when the
 * mesh itself refused or failed, `PeerError` when the call could not be made or read.
 */
async function callPeer(c: AppContext, service: string, path: string): Promise<PeerAnswer> {
  const mesh = meshClient(c.env.WEFT, { credential: c.env.WEFT_CREDENTIAL });
  let res: Response;
  try {
    res = await mesh.fetch(service, path, { headers: peerHeaders(c.req.raw) });
  } catch (error) {
    if (error instanceof MeshError) throw error;
    throw new PeerError("upstream_failure", `calling ${service}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const body: unknown = await res.json().catch(() => undefined);
  if (!isObject(body)) throw new PeerError("upstream_failure", `${service} answered ${res.status} without a JSON object`);
  return { status: res.status, ok: res.ok, body };
}

/** The error body for any failed peer call (mesh or otherwise). */
export function failureBody(error: MeshError | PeerError): ErrorBody {
  return { error: { code: error.code, message: error.message } };
}

/**
 * When a peer answered with its own error: keep its 4xx (the caller asked for something missing),
 * turn its 5xx into 502 (from our caller's side, our upstream failed), and keep its error body.
 */
function relayedFailure(service: string, answer: PeerAnswer): { status: 400 | 404 | 409 | 422 | 502; body: ErrorBody } {
  const err = isObject(answer.body.error) ? answer.body.error : {};
  const body: ErrorBody = {
    error: {
      code: typeof err.code === "string" ? err.code : `${service}_error`,
      message: typeof err.message === "string" ? err.message : `${service} answered ${answer.status}`,
    },
  };
  const status = answer.status === 400 || answer.status === 404 || answer.status === 409 || answer.status === 422 ? answer.status : 502;
  return { status, body };
}

function isPeerFailure(error: unknown): error is MeshError | PeerError {
  return error instanceof MeshError || error instanceof PeerError;
}

/** The Hono app the Worker serves (see ./index.ts); tests call `app.fetch(request, env)`. */
export const app = new Hono<{ Bindings: Env }>();

// First thing: note when the request arrived (peer calls get only the budget still left), and
// run the rest inside the request's context, so every peer call carries its trace and budget.
app.use("*", async function inMeshContext(c, next) {
  inboundDeadline(c.req.raw);
  await runWithInbound(c.req.raw, next);
});

app.get("/", async (c) => {
  try {
    const answer = await callPeer(c, "catalog", "/products");
    if (!answer.ok) {
      const { body } = relayedFailure("catalog", answer);
      return c.html(failurePage(body.error.code, body.error.message), 502);
    }
    const products = Array.isArray(answer.body.products) ? answer.body.products.filter(isProduct) : [];
    return c.html(shopPage(products));
  } catch (error) {
    // The page degrades to an explanation (HTML, since a browser asked) rather than a 500.
    if (isPeerFailure(error)) return c.html(failurePage(error.code, error.message), 502);
    throw error;
  }
});

app.get("/api/shop/products", async (c) => {
  const answer = await callPeer(c, "catalog", "/products");
  if (!answer.ok) {
    const { status, body } = relayedFailure("catalog", answer);
    return c.json(body, status);
  }
  if (!Array.isArray(answer.body.products)) throw new PeerError("upstream_failure", "catalog sent no products list");
  return c.json({ products: answer.body.products.filter(isProduct) });
});

app.get("/api/shop/products/:id", async (c) => {
  const answer = await callPeer(c, "catalog", `/products/${encodeURIComponent(c.req.param("id"))}`);
  if (!answer.ok) {
    const { status, body } = relayedFailure("catalog", answer);
    return c.json(body, status);
  }
  if (!isProduct(answer.body)) throw new PeerError("upstream_failure", "catalog sent no product");
  const { id, name, priceCents } = answer.body;
  return c.json({ product: { id, name, priceCents } });
});

app.get("/api/shop/orders/:id", async (c) => {
  const answer = await callPeer(c, "orders", `/orders/${encodeURIComponent(c.req.param("id"))}`);
  // Which subset answered is the point of this route (traffic splits, canaries), even on failure.
  const ordersVersion = typeof answer.body.version === "string" ? answer.body.version : null;
  if (!answer.ok) {
    const { status, body } = relayedFailure("orders", answer);
    return c.json({ ...body, ordersVersion }, status);
  }
  return c.json({ order: answer.body, ordersVersion });
});

app.notFound((c) => c.json({ error: { code: "not_found", message: `no frontend route for ${c.req.method} ${c.req.path}` } }, 404));

// Peer failures become 502 with their code; anything else is our own bug, and says so.
app.onError((error, c) => {
  if (isPeerFailure(error)) return c.json(failureBody(error), 502);
  return c.json({ error: { code: "internal", message: error.message } }, 500);
});
