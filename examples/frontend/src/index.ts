/**
 * Worker entry for frontend. Only a default export lives here: workerd treats every named export
 * of the main module as an entrypoint and refuses anything that isn't a handler, so the app and
 * its helpers (what tests import) live in ./app.ts.
 */
import { app, type Env } from "./app.js";

export default app satisfies ExportedHandler<Env>;
