/**
 * A client cannot mint metric series by choosing the upstream status: /.weft/metrics keeps a
 * fixed set of common codes and folds the rest into their class (2xx, 5xx, ...), so 100 distinct
 * unusual statuses through httpbin give a handful of series, with every request still counted,
 * and a folded 5xx still counts as a failure.
 */
import { describe, expect, it } from "vitest";
import { applyOk } from "./helpers.js";
import { poolMesh, testGateway } from "./resilience-helpers.js";

const ADMIN = { authorization: "Bearer dev-admin-token" };

describe("status code labels", () => {
  it("100 distinct unusual statuses make a bounded number of series, and every request is counted", async () => {
    // A service of its own (httpbin's v1 as its endpoint), so the telemetry earlier tests left does not count.
    const service = `codes-${crypto.randomUUID().slice(0, 8)}`;
    await applyOk(poolMesh(service, ["HTTPBIN_V1"], "retries: { attempts: 1 }"));
    const gateway = testGateway({});
    await gateway.reload();
    const codes = [...Array.from({ length: 50 }, (_, i) => 220 + i), ...Array.from({ length: 50 }, (_, i) => 520 + i)];
    for (const code of codes) expect((await gateway.fetch(`http://${service}.mesh/status/${code}`)).status).toBe(code);
    // Two common ones, kept as themselves.
    for (const code of [200, 503]) expect((await gateway.fetch(`http://${service}.mesh/status/${code}`)).status).toBe(code);
    await gateway.flush();

    const text = await (await gateway.fetch("http://gw.test/.weft/metrics", { headers: ADMIN })).text();
    const mine = text.split("\n").filter((line) => line.includes(`destination="${service}"`));
    const requests = mine.filter((line) => line.startsWith("weft_requests_total{"));
    const codeLabels = requests.map((line) => /code="([^"]*)"/.exec(line)?.[1]).sort();
    expect(codeLabels).toEqual(["200", "2xx", "503", "5xx"]);
    expect(requests.reduce((sum, line) => sum + Number(line.split(" ").at(-1)), 0)).toBe(codes.length + 2);
    expect(requests.find((line) => line.includes('code="2xx"'))?.endsWith(" 50")).toBe(true);
    expect(requests.find((line) => line.includes('code="5xx"'))?.endsWith(" 50")).toBe(true);
    // Every family of this destination together: 4 label sets, whatever the number of distinct statuses.
    expect(mine.length, mine.join("\n")).toBeLessThan(120);

    // Folded 5xx answers are failures: 51 of the 102 requests were 5xx.
    const view = (await (await gateway.fetch(`http://gw.test/.weft/api/v1/telemetry?service=${service}&window=1h`, { headers: ADMIN })).json()) as { golden: { requests: number; successRate: number } };
    expect(view.golden.requests).toBe(codes.length + 2);
    expect(view.golden.successRate).toBeCloseTo(51 / 102, 10);
  });
});
