/**
 * The README's first quick-start command, for real: `npm run dev` brings up the gateway, the
 * control plane and every example function on loopback, applies examples/mesh.yaml, and serves
 * ingress and mesh calls; stopping it leaves nothing behind.
 */
import { spawn } from "node:child_process";
import { request } from "node:http";
import { createServer } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT } from "./example-workers.js";

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolvePort(address.port) : reject(new Error("no port"))));
    });
  });
}

/** GET with an explicit Host header (fetch may not set one). */
function get(port: number, path: string, host = `127.0.0.1:${port}`, extraHeaders: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolveGet, reject) => {
    const req = request({ host: "127.0.0.1", port, path, headers: { host, ...extraHeaders } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolveGet({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.setTimeout(15_000, () => req.destroy(new Error("timed out")));
    req.end();
  });
}

describe("npm run dev", () => {
  let stop: (() => Promise<void>) | undefined;
  afterAll(async () => {
    await stop?.();
  });

  it("serves the example mesh on 127.0.0.1 with the config applied", { timeout: 120_000 }, async () => {
    const port = await freePort();
    const child = spawn("npm", ["run", "dev"], { cwd: ROOT, env: { ...process.env, PORT: String(port), WRANGLER_SEND_METRICS: "false" }, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<void>((resolveExit) => child.once("exit", () => resolveExit()));
    stop = async () => {
      if (child.exitCode === null && child.pid !== undefined) {
        process.kill(-child.pid, "SIGTERM");
        await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
        if (child.exitCode === null) process.kill(-child.pid, "SIGKILL");
      }
    };

    const deadline = Date.now() + 100_000;
    while (!output.includes("weft dev mesh: gateway at") && Date.now() < deadline && child.exitCode === null) {
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(output, output.slice(-3000)).toContain(`weft dev mesh: gateway at http://127.0.0.1:${port}`);
    expect(output).toMatch(/applied examples\/mesh\.yaml as config version \d+|examples\/mesh\.yaml is already config version \d+/);
    expect(output).not.toMatch(/could not create a credential/);

    const httpbin = await get(port, "/httpbin/anything");
    expect(httpbin.status).toBe(200);
    expect(JSON.parse(httpbin.body)).toMatchObject({ service: "httpbin", version: expect.stringMatching(/^v[12]$/) });

    // The ingress rule's fault injection, on request.
    const chaos = await get(port, "/httpbin/anything", undefined, { "x-chaos": "abort" });
    expect(chaos.status).toBe(503);
    expect(JSON.parse(chaos.body)).toMatchObject({ error: { code: "fault_injected" } });

    // STRICT: a caller without an identity is refused; the shop's functions hold credentials.
    const anonymous = await get(port, "/orders/1001", "orders.mesh");
    expect(anonymous.status).toBe(401);

    for (let i = 0; i < 20; i++) {
      const shop = await get(port, "/api/shop/orders/1001");
      expect(shop.status, shop.body).toBe(200);
      // frontend → orders (→ catalog on v2), each hop with the caller's identity, which orders reports.
      expect(JSON.parse(shop.body)).toMatchObject({ ordersVersion: expect.stringMatching(/^v[12]$/), order: { caller: "frontend" } });
    }

    const health = await get(port, "/.weft/healthz");
    expect(JSON.parse(health.body)).toMatchObject({ status: "ok", stale: false });

    await stop();
    expect(child.exitCode ?? child.signalCode).not.toBeNull();
    // npm returns at once; wrangler and workerd stop a moment later. Wait for the port to close.
    const closedBy = Date.now() + 15_000;
    let closed = false;
    while (!closed && Date.now() < closedBy) {
      closed = await get(port, "/.weft/healthz").then(
        () => false,
        () => true,
      );
      if (!closed) await new Promise((r) => setTimeout(r, 250));
    }
    expect(closed, "the mesh still answers after npm run dev was stopped").toBe(true);
  });
});
