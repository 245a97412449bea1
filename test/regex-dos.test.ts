import { beforeAll, describe, expect, it } from "vitest";
import { applyOk, applyYaml, gateway } from "./helpers.js";

/** Route regexes that a backtracking engine takes exponential time on, behind the real gateway. */
const REDOS_MESH = `
apiVersion: weft/v1
kind: Mesh
metadata: { name: redos }
spec: { identity: { mode: PERMISSIVE } }
---
apiVersion: weft/v1
kind: Service
metadata: { name: httpbin }
spec:
  subsets: [{ name: v1, endpoints: [{ binding: HTTPBIN_V1 }] }]
---
apiVersion: weft/v1
kind: Route
metadata: { name: redos }
spec:
  hosts: [redos.example]
  http:
    - name: path-regex
      match: [{ path: { regex: "/anything/redos/(a+)+" } }]
      destinations: [{ service: httpbin }]
    - name: header-regex
      match: [{ path: { prefix: /anything/header }, headers: { x-probe: { regex: "(x+x+)+y" } } }]
      destinations: [{ service: httpbin }]
`;

/**
 * Lengths in small steps up to a few KB: a backtracking engine passes the first few and then takes
 * seconds on the next, so a regression fails fast instead of stalling the isolate for hours.
 */
const LENGTHS = [16, 20, 22, 24, 26, 28, 30, 4_000];
const BOUND_MS = 1_000;

async function timed(url: string, headers: Record<string, string> = {}): Promise<{ status: number; code: string | undefined; ms: number }> {
  const started = performance.now();
  const response = await gateway(url, { headers });
  const body = (await response.json()) as { error?: { code?: string } };
  return { status: response.status, code: body.error?.code, ms: performance.now() - started };
}

describe("route regexes under adversarial input", () => {
  beforeAll(async () => {
    await applyOk(REDOS_MESH);
  });

  it("answers adversarial paths for /anything/redos/(a+)+ within a second with 404 no_route", async () => {
    for (const length of LENGTHS) {
      const answer = await timed(`http://redos.example/anything/redos/${"a".repeat(length)}!`);
      expect(answer.ms, `${length} characters`).toBeLessThan(BOUND_MS);
      expect([answer.status, answer.code]).toEqual([404, "no_route"]);
    }
  });

  it("answers adversarial x-probe headers for (x+x+)+y within a second with 404 no_route", async () => {
    for (const length of LENGTHS) {
      const answer = await timed("http://redos.example/anything/header", { "x-probe": "x".repeat(length) });
      expect(answer.ms, `${length} characters`).toBeLessThan(BOUND_MS);
      expect([answer.status, answer.code]).toEqual([404, "no_route"]);
    }
  });

  it("still routes requests that match the regexes", async () => {
    const byPath = await gateway(`http://redos.example/anything/redos/${"a".repeat(4_000)}`);
    expect(byPath.status).toBe(200);
    expect(await byPath.json()).toMatchObject({ service: "httpbin", version: "v1" });
    const byHeader = await gateway("http://redos.example/anything/header", { headers: { "x-probe": `${"x".repeat(4_000)}y` } });
    expect(byHeader.status).toBe(200);
    expect(await byHeader.json()).toMatchObject({ service: "httpbin", version: "v1" });
  });

  it("refuses at apply a route regex RE2 cannot run, naming the field", async () => {
    const result = await applyYaml(REDOS_MESH.replace('"(x+x+)+y"', '"(x)\\\\1"'));
    expect(result.status).toBe(400);
    expect(result.body.error?.issues).toEqual([
      expect.objectContaining({ document: 3, path: "spec.http[1].match[0].headers.x-probe.regex", message: expect.stringMatching(/must be RE2 syntax.*\\1/) }),
    ]);
  });
});
