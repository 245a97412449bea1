/**
 * The local runtime's own memory growth, with nothing of weft in it (docs/reliability.md#soak):
 * the `workerd` binary from its npm package, no Miniflare, serving a Worker that answers "ok"
 * (`hello`) or one that forwards to it over a service binding (`forward`), loaded by wrk over a
 * plain socket. The process RSS is read every `--sample-every` seconds while wrk runs, then after
 * `--idle` seconds without requests.
 *
 *   npx tsx bench/runtime-growth.ts [--worker hello|forward] [--duration 60] [--connections 8] [--sample-every 10] [--idle 60]
 *
 * Needs `wrk` (apt-get install -y wrk).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { freePort } from "../scripts/e2e-support.js";

const { values } = parseArgs({
  options: {
    worker: { type: "string", default: "hello" },
    duration: { type: "string", default: "60" },
    connections: { type: "string", default: "8" },
    "sample-every": { type: "string", default: "10" },
    idle: { type: "string", default: "60" },
  },
});
if (values.worker !== "hello" && values.worker !== "forward") throw new Error("--worker is hello or forward");
const seconds = Number(values.duration);
const everySeconds = Number(values["sample-every"]);
const idleSeconds = Number(values.idle);

const HELLO = `export default { fetch() { return new Response("ok"); } };`;
const FORWARD = `export default { fetch(request, env) { return env.TARGET.fetch(request); } };`;

const dir = mkdtempSync(join(tmpdir(), "weft-runtime-growth-"));
const port = await freePort();
writeFileSync(join(dir, "hello.js"), HELLO);
writeFileSync(join(dir, "forward.js"), FORWARD);
writeFileSync(
  join(dir, "config.capnp"),
  `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "hello", worker = (modules = [(name = "hello.js", esModule = embed "hello.js")], compatibilityDate = "2026-04-20")),
    (name = "forward", worker = (modules = [(name = "forward.js", esModule = embed "forward.js")], compatibilityDate = "2026-04-20", bindings = [(name = "TARGET", service = "hello")])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "${values.worker}")],
);
`,
);

// The binary the workerd npm package installs for this platform (what Miniflare runs too).
const workerdBin = (createRequire(import.meta.url)("workerd") as { default?: string } | string);
const binary = typeof workerdBin === "string" ? workerdBin : (workerdBin.default ?? "");
const runtime = spawn(binary, ["serve", join(dir, "config.capnp")], { stdio: ["ignore", "inherit", "inherit"] });
const rss = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${runtime.pid}/status`, "utf8"))?.[1] ?? Number.NaN) / 1024;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

try {
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/`)).ok) break;
    } catch {
      await sleep(100);
    }
  }
  console.log(`workerd ${values.worker}: wrk -c${values.connections} for ${seconds} s`);
  console.log("   s   requests   RSS MB");
  const started = Date.now();
  console.log(`${"0".padStart(4)} ${"0".padStart(10)} ${rss().toFixed(1).padStart(8)}`);
  const wrk = spawn("wrk", ["-t1", `-c${values.connections}`, `-d${seconds}s`, `http://127.0.0.1:${port}/`], { stdio: ["ignore", "pipe", "inherit"] });
  let output = "";
  wrk.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const finished = new Promise<void>((resolve) => wrk.once("exit", () => resolve()));
  let done = false;
  void finished.then(() => (done = true));
  while (!done) {
    await Promise.race([sleep(everySeconds * 1000), finished]);
    console.log(`${String(Math.round((Date.now() - started) / 1000)).padStart(4)} ${"".padStart(10)} ${rss().toFixed(1).padStart(8)}`);
  }
  const requests = Number(/(\d+) requests in/.exec(output)?.[1] ?? Number.NaN);
  const afterLoad = rss();
  console.log(`wrk: ${requests} requests`);
  await sleep(idleSeconds * 1000);
  const afterIdle = rss();
  console.log(`after ${idleSeconds} s idle: ${afterIdle.toFixed(1)} MB (${(afterLoad - afterIdle).toFixed(1)} MB given back)`);
} finally {
  runtime.kill("SIGTERM");
  rmSync(dir, { recursive: true, force: true });
}
