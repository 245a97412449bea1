/**
 * @weft/gateway: the weft gateway Worker. A gateway project's `wrangler.jsonc` points `main` at
 * this package (or at a one-line module that re-exports it) and binds the control Worker's three
 * Durable Object classes (`@weft/gateway/control`) by `script_name`; `weft init` writes that config.
 */

/** The gateway's fetch handler: the mesh's data plane, admin API, dashboard and token exchange. */
declare const gateway: {
  fetch(request: Request, env: unknown, ctx: unknown): Promise<Response>;
};
export default gateway;
