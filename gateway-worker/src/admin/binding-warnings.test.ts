import { describe, expect, it } from "vitest";
import { parseYamlDocuments, validateDocuments } from "@weft/sdk/config";
import { missingBindingWarnings } from "./binding-warnings.js";

const YAML = `apiVersion: weft/v1
kind: Service
metadata: { name: users }
spec:
  subsets:
    - name: v1
      endpoints:
        - { binding: USERS_V1, worker: users-v1 }
        - { url: "https://users.example.com" }
    - name: v2
      endpoints: [{ binding: USERZ }]
`;

describe("endpoints whose binding the gateway lacks", () => {
  it("names each missing binding with its field path and line, and nothing the gateway has or that is a URL", () => {
    const parsed = parseYamlDocuments(YAML);
    if (!parsed.ok) throw new Error("yaml");
    const valid = validateDocuments(parsed.value.documents, parsed.value.locate);
    if (!valid.ok) throw new Error(JSON.stringify(valid.issues));
    const warnings = missingBindingWarnings(valid.value, (name) => name === "USERS_V1", parsed.value.locate);
    expect(warnings).toEqual([
      expect.objectContaining({ document: 1, kind: "Service", name: "users", path: "spec.subsets[1].endpoints[0].binding", line: 11, message: expect.stringContaining("no service binding named USERZ") }),
    ]);
    expect(missingBindingWarnings(valid.value, () => true)).toEqual([]);
    expect(missingBindingWarnings(valid.value, () => false).map((w) => w.path)).toEqual(["spec.subsets[0].endpoints[0].binding", "spec.subsets[1].endpoints[0].binding"]);
  });
});
