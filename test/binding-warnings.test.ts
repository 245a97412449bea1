/**
 * An endpoint whose service binding the gateway does not have applies (a fleet may be mid-deploy),
 * but apply and dry-run say so with the field and line, and explain says requests there get 503.
 */
import { afterAll, describe, expect, it } from "vitest";
import { admin, applyExampleMesh, applyYaml, EXAMPLE_MESH_YAML } from "./helpers.js";

const WITH_USERZ = `${EXAMPLE_MESH_YAML}
---
apiVersion: weft/v1
kind: Service
metadata: { name: users }
spec:
  subsets: [{ name: v1, endpoints: [{ binding: USERZ, worker: users }] }]
`;

interface Warned {
  version?: number;
  warnings?: { document: number; path: string; message: string; line?: number }[];
}

describe("endpoints whose binding the gateway lacks", () => {
  afterAll(async () => {
    await applyExampleMesh();
  });

  it("are named in a dry run's and an apply's answer, with the field and the line", async () => {
    for (const dryRun of [true, false]) {
      const result = await applyYaml(WITH_USERZ, { dryRun });
      expect(result.status).toBe(200);
      const body = result.body as Warned;
      expect(body.warnings).toEqual([expect.objectContaining({ path: "spec.subsets[0].endpoints[0].binding", message: expect.stringContaining("no service binding named USERZ"), line: expect.any(Number) })]);
    }
    // The example mesh's own bindings are all there: no warnings.
    expect(((await applyYaml(EXAMPLE_MESH_YAML, { dryRun: true })).body as Warned).warnings).toBeUndefined();
  });

  it("are reported by explain: requests there are answered 503", async () => {
    await applyYaml(WITH_USERZ);
    const response = await admin("/explain", { method: "POST", body: JSON.stringify({ method: "GET", url: "http://users.mesh/users/1" }) });
    const trace = (await response.json()) as { notes: string[]; destinations: { endpoints: { status: string }[] }[] };
    expect(trace.destinations[0]?.endpoints[0]?.status).toBe("missing-binding");
    expect(trace.notes.join("\n")).toMatch(/none of its service bindings.*503/);
  });
});
