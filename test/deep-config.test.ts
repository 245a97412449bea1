import { describe, expect, it } from "vitest";
import { admin, type ApplyResult } from "./helpers.js";

async function apply(body: string, contentType: string): Promise<ApplyResult> {
  const response = await admin("/config", { method: "POST", headers: { "content-type": contentType }, body });
  return { status: response.status, body: (await response.json()) as ApplyResult["body"] };
}

/** Deeply nested bodies are refused at the admin API with one clear issue, whatever the format. */
describe("deeply nested config bodies", () => {
  it.each([
    ["YAML of 400,000 unclosed [", "[".repeat(400_000), "application/yaml"],
    ["YAML of 400,000 closed [ ] pairs", `${"[".repeat(400_000)}${"]".repeat(400_000)}`, "application/yaml"],
    ["JSON whose document nests 400,000 arrays", `{"documents":[${"[".repeat(400_000)}${"]".repeat(400_000)}]}`, "application/json"],
  ])("refuses %s with one issue naming the nesting limit", async (_what, body, contentType) => {
    const result = await apply(body, contentType);
    expect(result.status).toBe(400);
    expect(result.body.error?.issues).toEqual([{ document: 1, path: "", message: expect.stringMatching(/nesting deeper than 64 levels/), ...(contentType === "application/yaml" ? { line: 1 } : {}) }]);
  });

  it("refuses a JSON document nested 65 levels inside its spec, naming that document", async () => {
    const service = { apiVersion: "weft/v1", kind: "Service", metadata: { name: "a" }, spec: { subsets: [{ name: "v1", endpoints: [{ binding: "A" }] }] } };
    const deep = { ...service, metadata: { name: "b" }, spec: { extra: JSON.parse(`${"[".repeat(63)}${"]".repeat(63)}`) as unknown } };
    const result = await apply(JSON.stringify({ documents: [service, deep] }), "application/json");
    expect(result.status).toBe(400);
    expect(result.body.error?.issues).toEqual([expect.objectContaining({ document: 2, path: "", message: expect.stringMatching(/nesting deeper than 64 levels/) })]);
  });
});
