import { Miniflare } from "miniflare";
const script = `export default { async fetch() {
  const out = {};
  out.globalALS = typeof globalThis.AsyncLocalStorage;
  out.process = typeof globalThis.process;
  out.gbm = typeof globalThis.process?.getBuiltinModule;
  try { const m = globalThis.process?.getBuiltinModule?.("node:async_hooks"); out.gbmALS = typeof m?.AsyncLocalStorage; } catch (e) { out.gbmErr = String(e); }
  try { const m = await import("node:async_hooks"); out.dynALS = typeof m.AsyncLocalStorage; } catch (e) { out.dynErr = String(e); }
  return Response.json(out);
} }`;
for (const flags of [[], ["nodejs_als"], ["nodejs_compat"]]) {
  try {
  const mf = new Miniflare({ modules: true, script, compatibilityDate: "2026-04-20", compatibilityFlags: flags });
  const r = await mf.dispatchFetch("http://x/");
  console.log(flags, await r.text());
  await mf.dispose();
  } catch (e) { console.log(flags, "ERR", String(e).slice(0, 300)); }
}
