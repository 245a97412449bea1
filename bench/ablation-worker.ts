/**
 * The load benchmark's floor for a forwarding gateway: only what any gateway that vouches for a
 * caller must do per request, and nothing weft-specific. It derives the upstream request from the
 * incoming one (no URL rebuild), sets an identity header (a fixed string the size of weft's hop
 * token) and a fresh `traceparent`, applies one timeout, and forwards to the service binding
 * TARGET. Full pipeline minus ablation is what weft's own stages cost beyond that floor.
 */
interface Env {
  TARGET: Fetcher;
}

/** The header weft's gateway sets (gateway-worker/src/stages/hop-identity.ts). */
const IDENTITY_HEADER = "x-weft-identity";
/**
 * A fixed token the size of the full row's hop token (an ES256 JWT of 354 bytes for frontend →
 * httpbin; the load benchmark prints both sizes as httpbin saw them); nobody verifies it here.
 * (No named exports: workerd would take them for entrypoints.)
 */
const FIXED_IDENTITY = `eyJhbGciOiJFUzI1NiJ9.${"A".repeat(354 - 21 - 87)}.${"B".repeat(86)}`;
/** One timeout for the whole forward, like the gateway's per-request timeout. */
const TIMEOUT_MS = 15_000;

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

function randomHex(bytes: number): string {
  const buffer = crypto.getRandomValues(new Uint8Array(bytes));
  let out = "";
  for (const byte of buffer) out += HEX[byte];
  return out;
}

export default {
  fetch(request, env) {
    // new Request(request, init) keeps URL, method, body and headers, and gives mutable headers.
    const upstream = new Request(request, { signal: AbortSignal.timeout(TIMEOUT_MS) });
    upstream.headers.set(IDENTITY_HEADER, FIXED_IDENTITY);
    upstream.headers.set("traceparent", `00-${randomHex(16)}-${randomHex(8)}-01`);
    return env.TARGET.fetch(upstream);
  },
} satisfies ExportedHandler<Env>;
