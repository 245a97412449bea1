import { beforeAll, describe, expect, it } from "vitest";
import { admin, applyExampleMesh, applyYaml, EXAMPLE_MESH_YAML, gateway, gatewayEnv } from "./helpers.js";

interface ConfigBody {
  version: number;
  documents: unknown[];
}

async function currentConfig(): Promise<ConfigBody> {
  const response = await admin("/config");
  expect(response.status).toBe(200);
  return (await response.json()) as ConfigBody;
}

const SERVICE_A = `apiVersion: weft/v1
kind: Service
metadata: { name: a }
spec:
  subsets:
    - name: v1
      endpoints: [{ binding: HTTPBIN_V1 }]
    - name: v2
      endpoints: [{ binding: HTTPBIN_V2 }]
`;

const routeTo = (destinations: string) => `${SERVICE_A}---
apiVersion: weft/v1
kind: Route
metadata: { name: r }
spec:
  hosts: ["a.example"]
  http:
    - destinations: ${destinations}
`;

/** Every admin route of the README's Admin API table that exists in this release, plus ones that do not. */
const ADMIN_ROUTES: [string, string][] = [
  ["GET", "/config"],
  ["POST", "/config"],
  ["POST", "/config?dryRun=1"],
  ["GET", "/config/history"],
  ["POST", "/config/rollback"],
  ["GET", "/audit"],
  ["GET", "/services"],
  ["GET", "/no-such-route"],
  ["DELETE", "/config"],
];

describe("admin API authentication", () => {
  it.each(ADMIN_ROUTES)("answers 401 to %s %s without a token or with a wrong one", async (method, path) => {
    for (const authorization of [undefined, "Bearer wrong-token", "Bearer dev-admin-token-but-longer", "Basic ZGV2LWFkbWluLXRva2Vu", "dev-admin-token"]) {
      const headers: Record<string, string> = authorization ? { authorization } : {};
      const response = await gateway(`http://gateway.test/.weft/api/v1${path}`, { method, headers: { ...headers, "content-type": "application/yaml" }, ...(method === "POST" ? { body: SERVICE_A } : {}) });
      expect(response.status, `${method} ${path} with ${authorization ?? "no token"}`).toBe(401);
      expect(response.headers.get("www-authenticate")).toMatch(/^Bearer/);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe("unauthenticated");
    }
  });

  it("stays disabled outside dev when the admin token is shorter than 32 characters, even with that token", async () => {
    const production = { ...gatewayEnv, WEFT_ENV: "production", WEFT_ADMIN_TOKEN: "short-token" };
    const response = await gateway("http://gateway.test/.weft/api/v1/config", { headers: { authorization: "Bearer short-token" } }, production);
    expect(response.status).toBe(503);
    expect(((await response.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: "admin_disabled" });
  });

  it("stays disabled when no admin token is configured", async () => {
    const { WEFT_ADMIN_TOKEN: _unset, ...withoutToken } = gatewayEnv;
    const response = await gateway("http://gateway.test/.weft/api/v1/config", { headers: { authorization: "Bearer " } }, { ...withoutToken, WEFT_ENV: "production" });
    expect(response.status).toBe(503);
  });

  it("accepts a long token outside dev", async () => {
    const token = "p".repeat(40);
    const response = await gateway("http://gateway.test/.weft/api/v1/config", { headers: { authorization: `Bearer ${token}` } }, { ...gatewayEnv, WEFT_ENV: "production", WEFT_ADMIN_TOKEN: token });
    expect(response.status).toBe(200);
  });
});

describe("applying configuration", () => {
  beforeAll(async () => {
    await applyExampleMesh();
  });

  const MALFORMED: [string, RequestInit][] = [
    ["YAML that does not parse", { body: "kind: [unclosed\n", headers: { "content-type": "application/yaml" } }],
    ["YAML with a tab-indented block", { body: "kind: Service\nspec:\n\tsubsets: []\n", headers: { "content-type": "application/yaml" } }],
    ["JSON that does not parse", { body: '{"documents": [', headers: { "content-type": "application/json" } }],
    ["JSON that is a number", { body: "42", headers: { "content-type": "application/json" } }],
    ["JSON whose documents is not a list", { body: '{"documents": {}}', headers: { "content-type": "application/json" } }],
    ["a document that is a plain string", { body: "hello\n", headers: { "content-type": "application/yaml" } }],
    ["an unknown kind", { body: "apiVersion: weft/v1\nkind: Gateway\nmetadata: { name: x }\nspec: {}\n" }],
    ["a missing apiVersion", { body: SERVICE_A.replace("apiVersion: weft/v1\n", "") }],
    ["a wrong type (subsets as a string)", { body: "apiVersion: weft/v1\nkind: Service\nmetadata: { name: a }\nspec: { subsets: v1 }\n" }],
    ["a weight written as a string", { body: routeTo('[{ service: a, subset: v1, weight: "50" }, { service: a, subset: v2, weight: 50 }]') }],
    ["a weight of 0", { body: routeTo("[{ service: a, subset: v1, weight: 0 }, { service: a, subset: v2, weight: 100 }]") }],
    ["a weight over 100", { body: routeTo("[{ service: a, subset: v1, weight: 150 }]") }],
    ["weights that add up to 80", { body: routeTo("[{ service: a, subset: v1, weight: 40 }, { service: a, subset: v2, weight: 40 }]") }],
    ["a route to an unknown service", { body: routeTo("[{ service: ghost }]") }],
    ["a route to an unknown subset", { body: routeTo("[{ service: a, subset: v9 }]") }],
    ["duplicate names", { body: `${SERVICE_A}---\n${SERVICE_A}` }],
    ["an unknown field", { body: SERVICE_A.replace("spec:\n", "spec:\n  colour: red\n") }],
    ["an invalid regular expression", { body: routeTo("[{ service: a }]\n      match: [{ path: { regex: '([' } }]") }],
    ["a huge body", { body: `# ${"x".repeat(2 * 1024 * 1024)}\n${SERVICE_A}` }],
    ["an unsupported content type", { body: "<html></html>", headers: { "content-type": "text/html" } }],
    ["bytes that are not UTF-8", { body: new Uint8Array([0x6b, 0x69, 0x6e, 0x64, 0x3a, 0x20, 0xff, 0xfe, 0x0a]) }],
    ["duplicate YAML keys", { body: "apiVersion: weft/v1\nkind: Service\nkind: Route\n" }],
    ["a YAML alias bomb", { body: `a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n` }],
    ["an empty body", { body: "" }],
  ];

  it(`refuses ${MALFORMED.length} kinds of malformed input with a clear 400, and changes nothing`, async () => {
    const before = await currentConfig();
    for (const [what, init] of MALFORMED) {
      const headers = new Headers(init.headers);
      if (!headers.has("content-type")) headers.set("content-type", "application/yaml");
      const response = await admin("/config", { ...init, method: "POST", headers });
      const body = (await response.json()) as { error?: { code: string; message: string; issues?: unknown[] } };
      expect(response.status, `${what}: ${JSON.stringify(body)}`).toBe(400);
      expect(body.error?.code, what).toMatch(/^(invalid_config|bad_request|body_too_large)$/);
      expect(body.error?.message.length, what).toBeGreaterThan(10);
      expect(response.headers.get("x-weft-error"), what).toBe(body.error?.code);
    }
    expect(await currentConfig()).toEqual(before);
  });

  it("points every issue at the document, the field path and the line", async () => {
    const yaml = `${SERVICE_A}---
apiVersion: weft/v1
kind: Route
metadata: { name: r }
spec:
  hosts: ["a.example"]
  http:
    - destinations:
        - { service: a, subset: v1, weight: 70 }
        - { service: nope, subset: v2, weight: 20 }
`;
    const result = await applyYaml(yaml);
    expect(result.status).toBe(400);
    expect(result.body.error?.issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ document: 2, kind: "Route", name: "r", path: "spec.http[0].destinations[1].service", message: 'unknown service "nope"', line: 19 }),
        expect.objectContaining({ document: 2, path: "spec.http[0].destinations", message: "weights add up to 90; they must add up to 100" }),
      ]),
    );
  });

  it("shows a diff on dry-run and stores nothing", async () => {
    const before = await currentConfig();
    const changed = EXAMPLE_MESH_YAML.replace("{ service: orders, subset: v1, weight: 90 }", "{ service: orders, subset: v1, weight: 50 }").replace(
      "{ service: orders, subset: v2, weight: 10 }",
      "{ service: orders, subset: v2, weight: 50 }",
    );
    const response = await admin("/config?dryRun=1", { method: "POST", headers: { "content-type": "application/yaml" }, body: changed });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { dryRun: boolean; version: number; diff: { changed: { kind: string; name: string; fields: string[] }[] } };
    expect(body.dryRun).toBe(true);
    expect(body.version).toBe(before.version);
    expect(body.diff.changed).toEqual([
      { kind: "Route", name: "orders-canary", fields: ["spec.http[1].destinations[0].weight", "spec.http[1].destinations[1].weight"] },
    ]);
    expect(await currentConfig()).toEqual(before);
  });

  it("accepts JSON documents as well as YAML", async () => {
    const before = await currentConfig();
    const response = await admin("/config", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ documents: before.documents }) });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ changed: false, version: before.version });
  });
});

describe("versions, history, rollback and audit", () => {
  it("round-trips apply → history → rollback, each change a new version with an audit entry", async () => {
    const start = await applyExampleMesh();
    const bumped = EXAMPLE_MESH_YAML.replace("timeout: 5s", "timeout: 7s");
    const applied = await applyYaml(bumped, { actor: "alice" });
    expect(applied.status).toBe(200);
    const v2 = applied.body.version ?? -1;
    expect(v2).toBe(start + 1);
    expect(applied.body.summary).toBe("changed Service/orders (1 field)");

    const history = (await (await admin("/config/history")).json()) as { versions: { version: number; actor: string; summary: string; source: string }[] };
    expect(history.versions[0]).toMatchObject({ version: v2, actor: "admin:alice", source: "apply" });
    expect(history.versions[1]?.version).toBe(start);

    const old = (await (await admin(`/config?version=${start}`)).json()) as ConfigBody;
    expect(old.version).toBe(start);
    expect(JSON.stringify(old.documents)).toContain('"timeout":"5s"');

    const rolledBack = await admin("/config/rollback", { method: "POST", headers: { "content-type": "application/json", "weft-actor": "bob" }, body: JSON.stringify({ version: start }) });
    expect(rolledBack.status).toBe(200);
    const rollback = (await rolledBack.json()) as { version: number; summary: string };
    expect(rollback.version).toBe(v2 + 1);
    const now = await currentConfig();
    expect(now.version).toBe(v2 + 1);
    expect(now.documents).toEqual(old.documents);

    const audit = (await (await admin("/audit?limit=3")).json()) as { entries: { actor: string; action: string; version: number; summary: string; at: string }[] };
    expect(audit.entries.slice(0, 2)).toEqual([
      expect.objectContaining({ actor: "admin:bob", action: "rollback", version: v2 + 1, summary: expect.stringContaining(`rollback to version ${start}`) }),
      expect.objectContaining({ actor: "admin:alice", action: "apply", version: v2, summary: "changed Service/orders (1 field)" }),
    ]);
    expect(Date.parse(audit.entries[0]?.at ?? "")).not.toBeNaN();
  });

  it("serves the applied version at once, then the rolled-back one", async () => {
    await applyExampleMesh();
    const split = EXAMPLE_MESH_YAML.replace("- { service: orders, subset: v1, weight: 90 }\n        - { service: orders, subset: v2, weight: 10 }", "- { service: orders, subset: v2, weight: 100 }");
    const applied = await applyYaml(split);
    expect(applied.status).toBe(200);
    const answer = await gateway("http://orders.mesh/orders/1001");
    expect(((await answer.json()) as { version: string }).version).toBe("v2");
    await admin("/config/rollback", { method: "POST", body: JSON.stringify({ version: (applied.body.version ?? 0) - 1 }) });
    const health = (await (await gateway("http://gateway.test/.weft/healthz")).json()) as { configVersion: number };
    expect(health.configVersion).toBe((applied.body.version ?? 0) + 1);
  });

  it("refuses a rollback to a version that does not exist, with 404, and to a malformed request with 400", async () => {
    const before = await currentConfig();
    const missing = await admin("/config/rollback", { method: "POST", body: JSON.stringify({ version: 99_999 }) });
    expect(missing.status).toBe(404);
    for (const body of ["", "{}", '{"version": "3"}', '{"version": -1}', '{"version": 1.5}', "[1]"]) {
      const response = await admin("/config/rollback", { method: "POST", body });
      expect(response.status, body).toBe(400);
    }
    expect(await currentConfig()).toEqual(before);
  });

  it("lists services with their subsets, endpoints and what the gateway can reach", async () => {
    await applyExampleMesh();
    const registry = (await (await admin("/services")).json()) as { services: { name: string; subsets: { name: string; endpoints: { binding?: string; status: string }[] }[] }[] };
    expect(registry.services.map((s) => s.name).sort()).toEqual(["catalog", "frontend", "httpbin", "orders"]);
    const orders = registry.services.find((s) => s.name === "orders");
    expect(orders?.subsets.map((s) => [s.name, s.endpoints[0]?.binding, s.endpoints[0]?.status])).toEqual([
      ["v1", "ORDERS_V1", "healthy"],
      ["v2", "ORDERS_V2", "healthy"],
    ]);
  });
});
