/**
 * What authentication costs per request: a full SVID verification (ES256 signature and claim
 * checks) against a hit in the isolate's verified-token cache. Node's WebCrypto, not workerd's:
 * the ratio is the point (docs/architecture.md#measured-costs: 60–90 µs per ES256 verify in workerd).
 */
import { generateKeyPair, SignJWT } from "jose";
import { VerifiedTokens } from "../gateway-worker/src/identity/verified-tokens.js";
import { verifySvid } from "../gateway-worker/src/identity/verify-svid.js";

export interface AuthBenchResult {
  uncachedMicros: number;
  cachedMicros: number;
}

export async function runAuthBench(iterations = 5_000): Promise<AuthBenchResult> {
  const { privateKey, publicKey } = await generateKeyPair("ES256");
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: "ES256", kid: "k1" })
    .setIssuer("weft://bench.weft")
    .setSubject("spiffe://bench.weft/ns/default/sa/frontend")
    .setAudience("weft-gateway")
    .setIssuedAt(now)
    .setExpirationTime(now + 600)
    .sign(privateKey);
  const expectations = { issuer: "weft://bench.weft", audience: "weft-gateway", trustDomain: "bench.weft", nowSeconds: now, key: async () => publicKey };

  for (let i = 0; i < 200; i++) await verifySvid(token, expectations); // warm up
  let started = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) {
    const result = await verifySvid(token, expectations);
    if (!result.ok) throw new Error(result.reason);
  }
  const uncachedMicros = Number(process.hrtime.bigint() - started) / 1_000 / iterations;

  const cache = new VerifiedTokens();
  const verified = await verifySvid(token, expectations);
  if (!verified.ok) throw new Error(verified.reason);
  cache.set(token, { caller: verified.caller, kid: verified.kid, exp: verified.exp });
  const lookups = iterations * 100;
  started = process.hrtime.bigint();
  for (let i = 0; i < lookups; i++) {
    if (!cache.get(token, now, () => true)) throw new Error("cache miss");
  }
  const cachedMicros = Number(process.hrtime.bigint() - started) / 1_000 / lookups;
  return { uncachedMicros, cachedMicros };
}

export function formatAuth(result: AuthBenchResult): string {
  return [
    "authentication per request (Node WebCrypto):",
    `  uncached (ES256 verify + claims): ${result.uncachedMicros.toFixed(1)} µs`,
    `  cached (verified-token hit):      ${result.cachedMicros.toFixed(3)} µs`,
    `  ratio: ${(result.uncachedMicros / result.cachedMicros).toFixed(0)}×`,
  ].join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(formatAuth(await runAuthBench()));
}
