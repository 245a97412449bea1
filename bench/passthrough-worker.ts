/**
 * The load benchmark's baseline hop: a Worker that forwards every request, untouched, to the
 * service binding TARGET. Gateway minus pass-through is what weft's own work costs per request;
 * pass-through minus direct is what any extra Worker hop costs.
 */
interface Env {
  TARGET: Fetcher;
}

export default {
  fetch(request, env) {
    return env.TARGET.fetch(request);
  },
} satisfies ExportedHandler<Env>;
