/**
 * The control Worker (the mesh's Durable Objects) alone in a workerd process of its own, for tests
 * that kill the control plane while gateways keep running: in production the objects live on other
 * machines than most gateway isolates, and a crash of theirs must not take a gateway down.
 *
 *   node --import tsx scripts/control-host.ts --state <dir> --registry <dir> --out <dir>
 *
 * State persists in `--state` (SQLite, as on Cloudflare), so a host started again on the same
 * directory finds what the last one committed. Gateways in other Miniflare instances reach the
 * objects through the dev registry in `--registry` (Miniflare's cross-process bindings, as between
 * two `wrangler dev` sessions). Prints one JSON line `{"ready":true,"workerdPids":[...]}` once the
 * objects answer; runs until killed.
 */
import { Log, LogLevel, Miniflare } from "miniflare";
import { childWorkerdPids } from "./e2e-support.js";
import { controlWorkerOptions } from "./example-workers.js";

function option(name: string): string {
  const index = process.argv.indexOf(`--${name}`);
  const value = index >= 0 ? process.argv[index + 1] : undefined;
  if (value === undefined || value.startsWith("--")) throw new Error(`control-host: --${name} <dir> is required`);
  return value;
}

const mf = new Miniflare({
  host: "127.0.0.1",
  port: 0,
  unsafeDevRegistryPath: option("registry"),
  durableObjectsPersist: option("state"),
  log: new Log(LogLevel.WARN),
  workers: [await controlWorkerOptions(option("out"))],
});
await mf.ready;
process.stdout.write(`${JSON.stringify({ ready: true, workerdPids: childWorkerdPids(process.pid) })}\n`);
for (const signal of ["SIGTERM", "SIGINT"] as const) process.on(signal, () => void mf.dispose().finally(() => process.exit(0)));
