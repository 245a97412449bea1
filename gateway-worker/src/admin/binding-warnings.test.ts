import { describe, expect, it } from "vitest";
import { parseYamlDocuments, validateDocuments } from "@weft/sdk/config";
import { endpointBindings } from "../../../control-durable/src/config-input.js";
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
    // As an apply goes: the control Worker lists the endpoint bindings with their lines, the gateway checks its env.
    const bindings = endpointBindings(valid.value, parsed.value.locate);
    const warnings = missingBindingWarnings(bindings, (name) => name === "USERS_V1");
    expect(warnings).toEqual([
      expect.objectContaining({ document: 1, kind: "Service", name: "users", path: "spec.subsets[1].endpoints[0].binding", line: 11, message: expect.stringContaining("no service binding named USERZ") }),
    ]);
    expect(missingBindingWarnings(bindings, () => true)).toEqual([]);
    expect(missingBindingWarnings(endpointBindings(valid.value), () => false).map((w) => w.path)).toEqual(["spec.subsets[0].endpoints[0].binding", "spec.subsets[1].endpoints[0].binding"]);
    expect(missingBindingWarnings(endpointBindings(valid.value), () => false).every((w) => w.line === undefined)).toBe(true);
  });
});
