/**
 * Worker entry for catalog. Only a default export lives here: workerd treats every named export of
 * the main module as an entrypoint and refuses anything that isn't a handler, so the router and
 * its data (what tests import) live in ./router.ts.
 */
import { router } from "./router.js";

export default {
  fetch(request: Request, env: unknown, ctx: ExecutionContext): Promise<Response> {
    return router.fetch(request, env, ctx);
  },
} satisfies ExportedHandler;
