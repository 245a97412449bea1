import { runInDurableObject } from "cloudflare:test";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { CONTROL_PLANE_NAME, type ControlPlane } from "../control-durable/src/control-plane.js";
import { admin, applyExampleMesh, gateway, gatewayEnv } from "./helpers.js";

/**
 * After a credential's creation response, neither it nor any private key material appears in a
 * response body, a response header or a log line, across a run that exercises every identity path.
 */
describe("no secret leaks", () => {
  const logged: string[] = [];
  beforeAll(async () => {
    await applyExampleMesh();
    for (const level of ["log", "info", "warn", "error", "debug"] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        logged.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" "));
      });
    }
  });
  afterAll(() => {
    vi.restoreAllMocks();
  });

  it("keeps credentials and private keys out of every answer and log line", async () => {
    const seen: string[] = [];
    const record = async (response: Response) => {
      const headers: string[] = [];
      response.headers.forEach((value, name) => headers.push(`${name}: ${value}`));
      seen.push(headers.join("\n"), await response.text());
    };

    const created = await admin("/credentials", { method: "POST", body: JSON.stringify({ service: "frontend" }) });
    const { id, credential } = (await created.json()) as { id: string; credential: string };
    const secret = credential.split(".")[2] ?? "";
    expect(secret.length).toBeGreaterThan(30);

    const exchanged = await gateway("http://gateway.test/.weft/token", { method: "POST", headers: { authorization: `Bearer ${credential}` } });
    const { token } = (await exchanged.clone().json()) as { token: string };
    await record(exchanged);
    await record(await gateway("http://gateway.test/.weft/token", { method: "POST", headers: { authorization: `Bearer ${credential}x` } }));
    await record(await gateway(`http://gateway.test/.weft/token?credential=${credential}`, { method: "POST" }));
    await record(await gateway("http://httpbin.mesh/headers", { headers: { authorization: `Bearer ${token}` } }));
    await record(await gateway("http://orders.mesh/orders", { headers: { authorization: `Bearer ${credential}` } })); // a credential misused as a token
    await record(await admin("/credentials"));
    await record(await admin("/keys"));
    await record(await admin("/keys/rotate", { method: "POST" }));
    await record(await admin("/audit?limit=50"));
    await record(await admin("/config/history"));
    await record(await admin(`/credentials/${id}`, { method: "DELETE" }));
    await record(await gateway("http://gateway.test/.weft/token", { method: "POST", headers: { authorization: `Bearer ${credential}` } }));
    await record(await gateway("http://gateway.test/.well-known/jwks.json"));

    const stub = gatewayEnv.CONTROL.get(gatewayEnv.CONTROL.idFromName(CONTROL_PLANE_NAME));
    const privateParts = await runInDurableObject(stub, (_instance: ControlPlane, state) =>
      state.storage.sql
        .exec<{ private_jwk: string }>("SELECT private_jwk FROM signing_keys")
        .toArray()
        .map((row) => (JSON.parse(row.private_jwk) as { d: string }).d),
    );
    expect(privateParts.length).toBeGreaterThan(0);

    const everything = [...seen, ...logged].join("\n");
    expect(everything).not.toContain(secret);
    for (const d of privateParts) expect(everything).not.toContain(d);
    expect(everything).not.toMatch(/"d"\s*:\s*"/);
  });
});
