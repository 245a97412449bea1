/**
 * catalog: the shop's product list, written with itty-router 5 (the orders and frontend functions
 * use Hono, so the demo shows both). It calls no peer; orders and frontend reach it through the
 * mesh as `catalog.mesh`.
 */
import { Router, type IRequest } from "itty-router";

export const SERVICE = "catalog";

export interface Product {
  id: string;
  name: string;
  /** Price in cents, so totals add up without floating-point error. */
  priceCents: number;
}

/** Static data: the demo is about the mesh, not storage. */
export const PRODUCTS: readonly Product[] = [
  { id: "p1", name: "Espresso beans, 1 kg", priceCents: 2400 },
  { id: "p2", name: "Ceramic pour-over dripper", priceCents: 3200 },
  { id: "p3", name: "Paper filters (100)", priceCents: 650 },
  { id: "p4", name: "Burr grinder", priceCents: 8900 },
  { id: "p5", name: "Gooseneck kettle", priceCents: 5400 },
];

function json(status: number, body: Record<string, unknown>): Response {
  return new Response(JSON.stringify({ service: SERVICE, ...body }), {
    status,
    headers: { "content-type": "application/json; charset=utf-8" },
  });
}

function notFound(code: string, message: string): Response {
  // Same {error:{code,message}} shape as the mesh's own errors, so callers parse one shape.
  return json(404, { error: { code, message } });
}

/** The router the Worker serves (see ./index.ts); tests call `router.fetch(request)` directly. */
// Plain `Router` with an explicit `finally`: AutoRouter's `missing` hook is handed the (absent)
// response before the request, contrary to its type, so it can't name the path it missed.
export const router = Router<IRequest, [env?: unknown, ctx?: ExecutionContext]>({
  catch: function catalogCatch(error: unknown) {
    const message = error instanceof Error ? error.message : String(error);
    return json(500, { error: { code: "internal", message } });
  },
  finally: [
    function catalogMissing(response: Response | undefined, request: IRequest) {
      return response ?? notFound("not_found", `no catalog route for ${request.method} ${new URL(request.url).pathname}`);
    },
  ],
});

router
  .get("/products", () => json(200, { products: PRODUCTS }))
  .get("/products/:id", (request: IRequest) => {
    const id = request.params.id ?? "";
    const product = PRODUCTS.find((p) => p.id === id);
    return product ? json(200, { ...product }) : notFound("product_not_found", `no product "${id}"`);
  });
