/**
 * orders: a Hono function deployed twice (subsets v1 and v2, told apart by VERSION). v2 adds a
 * `totalCents` it computes by asking catalog for each item's price *through the mesh*, so the demo
 * has a real function-to-function call that the gateway authenticates, routes and measures.
 */
import { Hono } from "hono";
import { inboundDeadline, meshClient, MeshError, propagationHeaders, verifyInbound, type MeshClient, type MeshErrorCode } from "@weft/sdk";

export interface Env {
  /** Subset name reported in every answer ("v1", "v2"); set by each wrangler TOML. */
  VERSION?: string;
  /**
   * Share of requests (0..1) answered with a 500, to show a rollout rolling a bad release back
   * (docs/rollouts.md#try-it); "0" or unset in the shipped configs.
   */
  FAILURE_RATE?: string;
  /** Service binding to the gateway (`weft-gateway`); the only way this function reaches peers. */
  WEFT: Fetcher;
  /** This function's bootstrap credential (a secret); without it, its peer calls are anonymous. */
  WEFT_CREDENTIAL?: string;
  /** The mesh's trust domain, to check the caller identity the gateway attaches. */
  WEFT_TRUST_DOMAIN?: string;
}

export const SERVICE = "orders";

export interface OrderItem {
  productId: string;
  quantity: number;
}

export interface Order {
  id: string;
  items: OrderItem[];
}

/** Static data: the demo is about the mesh, not storage. Product ids are catalog's. */
export const ORDERS: readonly Order[] = [
  { id: "1001", items: [{ productId: "p1", quantity: 2 }, { productId: "p3", quantity: 1 }] },
  { id: "1002", items: [{ productId: "p4", quantity: 1 }] },
  { id: "1003", items: [{ productId: "p2", quantity: 1 }, { productId: "p3", quantity: 2 }, { productId: "p5", quantity: 1 }] },
];

/** From the Request, not its headers: the catalog calls then carry the time budget still left. */
function propagatedHeaders(inbound: Request): Headers {
  return propagationHeaders(inbound);
}

/** Catalog answered, but not with a usable price (unknown product, its own 5xx, odd body). */
class CatalogLookupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CatalogLookupError";
  }
}

function hasPrice(value: unknown): value is { priceCents: number } {
  return typeof value === "object" && value !== null && "priceCents" in value && Number.isFinite(value.priceCents);
}

async function priceOf(mesh: MeshClient, productId: string, headers: Headers): Promise<number> {
  const res = await mesh.fetch("catalog", `/products/${encodeURIComponent(productId)}`, { headers });
  if (!res.ok) {
    await res.body?.cancel();
    throw new CatalogLookupError(`catalog answered ${res.status} for product "${productId}"`);
  }
  const body: unknown = await res.json().catch(() => undefined);
  if (!hasPrice(body)) throw new CatalogLookupError(`catalog sent no priceCents for product "${productId}"`);
  return body.priceCents;
}

/** Sum of price × quantity, one catalog call per item, in parallel. Throws what the calls throw. */
export async function totalCents(mesh: MeshClient, items: readonly OrderItem[], headers: Headers): Promise<number> {
  const prices = await Promise.all(items.map((item) => priceOf(mesh, item.productId, headers)));
  return items.reduce((sum, item, i) => sum + item.quantity * (prices[i] ?? 0), 0);
}

/** The 502 body for a failed peer call: the mesh's own code when it was the mesh that failed. */
export function peerFailure(error: unknown): { error: { code: MeshErrorCode | "catalog_lookup_failed"; message: string } } {
  if (error instanceof MeshError) return { error: { code: error.code, message: error.message } };
  if (error instanceof CatalogLookupError) return { error: { code: "catalog_lookup_failed", message: error.message } };
  // The binding itself threw (gateway not deployed, connection lost): still an upstream failure.
  const message = error instanceof Error ? error.message : String(error);
  return { error: { code: "upstream_failure", message } };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The Hono app the Worker serves (see ./index.ts); tests call `app.fetch(request, env)`. */
export const app = new Hono<{ Bindings: Env }>();

// First thing: note when the request arrived, so the budget passed to catalog counts the time spent
// here (verifying the caller may wait for the JWKS).
app.use("*", async function recordArrival(c, next) {
  inboundDeadline(c.req.raw);
  await next();
});

// A release gone bad, on demand: FAILURE_RATE of the requests fail as a real bug would.
app.use("*", async function failOnDemand(c, next) {
  const rate = Number(c.env.FAILURE_RATE ?? "0");
  if (rate > 0 && Math.random() < rate) {
    return c.json({ version: c.env.VERSION ?? "unknown", service: SERVICE, error: { code: "internal", message: `failed on purpose (FAILURE_RATE=${c.env.FAILURE_RATE})` } }, 500);
  }
  await next();
});

app.get("/orders", (c) => {
  const version = c.env.VERSION ?? "unknown";
  return c.json({ version, service: SERVICE, orders: ORDERS });
});

app.get("/orders/:id", async (c) => {
  const version = c.env.VERSION ?? "unknown";
  const id = c.req.param("id");
  const order = ORDERS.find((o) => o.id === id);
  if (!order) {
    return c.json({ version, service: SERVICE, error: { code: "order_not_found", message: `no order "${id}"` } }, 404);
  }
  // Who is calling, as the mesh vouches for it (null for an anonymous call in a PERMISSIVE mesh).
  let caller: string | null = null;
  try {
    const verified = await verifyInbound(c.req.raw, { binding: c.env.WEFT, service: SERVICE, trustDomain: c.env.WEFT_TRUST_DOMAIN ?? "weft.local", allowAnonymous: true });
    caller = verified?.service ?? null;
  } catch (error) {
    if (error instanceof MeshError) return c.json({ version, service: SERVICE, error: { code: error.code, message: error.message } }, 401);
    throw error;
  }
  const answer = { id: order.id, version, service: SERVICE, items: order.items, caller };
  // v1 and v2 differ only here, so a split between them is visible in the answer's shape too.
  if (version !== "v2") return c.json(answer);
  try {
    const mesh = meshClient(c.env.WEFT, { credential: c.env.WEFT_CREDENTIAL });
    const total = await totalCents(mesh, order.items, propagatedHeaders(c.req.raw));
    return c.json({ ...answer, totalCents: total });
  } catch (error) {
    return c.json({ version, service: SERVICE, ...peerFailure(error) }, 502);
  }
});

app.post("/orders", async (c) => {
  const version = c.env.VERSION ?? "unknown";
  const input: unknown = await c.req.json().catch(() => undefined);
  if (!isObject(input)) {
    return c.json({ version, service: SERVICE, error: { code: "bad_request", message: "body must be a JSON object" } }, 400);
  }
  const id = crypto.randomUUID();
  // id, version and service last: the caller's body can't overwrite what the server decided.
  return c.json({ ...input, id, version, service: SERVICE }, 201, { location: `/orders/${id}` });
});

app.notFound((c) =>
  c.json(
    { version: c.env.VERSION ?? "unknown", service: SERVICE, error: { code: "not_found", message: `no orders route for ${c.req.method} ${c.req.path}` } },
    404,
  ),
);

// Safety net: a mesh failure anywhere is a 502 with the mesh's code, never an unexplained 500.
app.onError((error, c) => {
  const version = c.env.VERSION ?? "unknown";
  if (error instanceof MeshError) return c.json({ version, service: SERVICE, ...peerFailure(error) }, 502);
  return c.json({ version, service: SERVICE, error: { code: "internal", message: error.message } }, 500);
});
