/**
 * The headers the gateway sends its trace collector (`spec.telemetry.tracing.collector.headers`):
 * literal values as written, and secrets read from the gateway's own Worker secrets by name, so an
 * API key never sits in the config, the admin API or a log line. A header whose secret the gateway
 * lacks stops exports altogether (the collector would refuse each one); that is logged once per
 * isolate, naming the header and the secret, never a value.
 */
import type { MeshDoc } from "@weft/sdk/config";

type HeaderSources = NonNullable<NonNullable<MeshDoc["spec"]["telemetry"]["tracing"]["collector"]>["headers"]>;

const reported = new Set<string>();

export function collectorHeaders(sources: HeaderSources | undefined, env: object): Record<string, string> | undefined {
  const headers: Record<string, string> = {};
  for (const [name, source] of Object.entries(sources ?? {})) {
    if ("value" in source) {
      headers[name] = source.value;
      continue;
    }
    const secret: unknown = (env as Record<string, unknown>)[source.secret];
    if (typeof secret !== "string" || secret === "") {
      const problem = `${name}:${source.secret}`;
      if (!reported.has(problem)) {
        reported.add(problem);
        console.error(JSON.stringify({ level: "error", msg: "trace collector header has no secret; spans are not exported", header: name, secret: source.secret, fix: `npx wrangler secret put ${source.secret}` }));
      }
      return undefined;
    }
    headers[name] = secret;
  }
  return headers;
}
