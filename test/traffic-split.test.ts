import { beforeAll, describe, expect, it } from "vitest";
import { applyExampleMesh, gateway, sendMany } from "./helpers.js";

interface OrderAnswer {
  version: string;
}

async function orderVersion(headers: Record<string, string> = {}): Promise<string> {
  const response = await gateway("http://orders.mesh/orders/1001", { headers });
  if (response.status !== 200) throw new Error(`orders answered ${response.status}: ${await response.text()}`);
  return ((await response.json()) as OrderAnswer).version;
}

describe("weighted split between subsets", () => {
  beforeAll(async () => {
    await applyExampleMesh();
  });

  it("sends 10,000 mesh calls to orders 90/10 between v1 and v2, within 2 percentage points", async () => {
    const versions = await sendMany(10_000, 8, () => orderVersion());
    const v1 = versions.filter((v) => v === "v1").length;
    const v2 = versions.filter((v) => v === "v2").length;
    expect(v1 + v2).toBe(10_000);
    expect(Math.abs(v1 / 100 - 90)).toBeLessThanOrEqual(2);
    expect(Math.abs(v2 / 100 - 10)).toBeLessThanOrEqual(2);
  });

  it("sends every request that matches a header rule to that rule's subset", async () => {
    const versions = await sendMany(500, 16, () => orderVersion({ "x-canary": "1" }));
    expect(new Set(versions)).toEqual(new Set(["v2"]));
  });

  it("splits ingress traffic under /httpbin/ and rewrites the prefix", async () => {
    const answers = await sendMany(2_000, 16, async () => {
      const response = await gateway("http://shop.example/httpbin/anything/deep?x=1");
      expect(response.status).toBe(200);
      return (await response.json()) as { version: string; path: string };
    });
    expect(new Set(answers.map((a) => a.path))).toEqual(new Set(["/anything/deep"]));
    const v2Share = answers.filter((a) => a.version === "v2").length / answers.length;
    expect(v2Share).toBeGreaterThan(0.06);
    expect(v2Share).toBeLessThan(0.14);
  });
});
