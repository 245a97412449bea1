import { describe, expect, it } from "vitest";
import { DEFAULT_PORT, describeRefusal, devWranglerArgs, readDevVar } from "../cli/dev-runner.js";
import { banner, exampleMesh, MESH_FILE, parsePort } from "./dev.js";
import { CONTROL_WRANGLER_CONFIG, EXAMPLE_WORKERS } from "./example-workers.js";

describe("npm run dev helpers", () => {
  it("serves the gateway, its control Worker and every example function from one wrangler dev, on loopback", async () => {
    const args = devWranglerArgs(await exampleMesh(), 9000);
    const configs = args.flatMap((arg, i) => (arg === "-c" ? [args[i + 1]] : []));
    // The gateway's config comes first: the first Worker is the one wrangler dev listens for.
    expect(configs).toEqual(["wrangler.toml", CONTROL_WRANGLER_CONFIG, ...EXAMPLE_WORKERS.map((w) => w.wranglerConfig)]);
    expect(args.slice(args.indexOf("--ip"), args.indexOf("--ip") + 2)).toEqual(["--ip", "127.0.0.1"]);
    expect(args.slice(args.indexOf("--port"), args.indexOf("--port") + 2)).toEqual(["--port", "9000"]);
    expect(args[0]).toBe("dev");
  });

  it("gives a credential to each example Worker that binds the gateway, as the mesh service whose endpoint names it", async () => {
    const callers = (await exampleMesh()).callers;
    expect(callers).toEqual([
      { service: "orders", devVarsFile: "examples/orders/.dev.vars" },
      { service: "orders", devVarsFile: "examples/orders/.dev.vars" },
      { service: "frontend", devVarsFile: "examples/frontend/.dev.vars" },
    ]);
  });

  it("takes PORT when it is a port number", () => {
    expect(parsePort(undefined)).toBe(DEFAULT_PORT);
    expect(parsePort("")).toBe(DEFAULT_PORT);
    expect(parsePort("8899")).toBe(8899);
    for (const bad of ["0", "65536", "80.5", "http", "-1"]) expect(() => parsePort(bad)).toThrow(/PORT/);
  });

  it("reads the admin token from .dev.vars text", () => {
    const text = "# local only\nWEFT_ENV=dev\nWEFT_ADMIN_TOKEN = \"quoted token\"\n";
    expect(readDevVar(text, "WEFT_ADMIN_TOKEN")).toBe("quoted token");
    expect(readDevVar(text, "WEFT_ENV")).toBe("dev");
    expect(readDevVar(text, "MISSING")).toBeUndefined();
    expect(readDevVar("", "WEFT_ADMIN_TOKEN")).toBeUndefined();
  });

  it("explains a refused config with file:line per issue", () => {
    const body = {
      error: {
        code: "invalid_config",
        message: "the document set was refused: 2 issues",
        issues: [
          { document: 6, kind: "Route", name: "orders-canary", path: "spec.http[1].destinations[0].weight", message: "weight must be between 1 and 100", line: 71 },
          { document: 1, path: "", message: "not valid YAML" },
        ],
      },
    };
    expect(describeRefusal(400, body, MESH_FILE)).toEqual([
      "HTTP 400 invalid_config: the document set was refused: 2 issues",
      "  examples/mesh.yaml:71  document 6 (Route/orders-canary) spec.http[1].destinations[0].weight: weight must be between 1 and 100",
      "  examples/mesh.yaml  document 1: not valid YAML",
    ]);
    expect(describeRefusal(502, "Bad Gateway", MESH_FILE)).toEqual(["HTTP 502: Bad Gateway"]);
  });

  it("prints the try-it lines against the served address", () => {
    const text = banner("http://127.0.0.1:9000", "dev-admin-token").join("\n");
    expect(text).toContain("curl http://127.0.0.1:9000/httpbin/anything");
    expect(text).toContain("curl -H 'Host: orders.mesh' http://127.0.0.1:9000/orders/1001");
    expect(text).toContain("curl http://127.0.0.1:9000/.weft/healthz");
    expect(text).toContain("authorization: Bearer dev-admin-token");
    expect(text).toContain("npm run weft -- --url http://127.0.0.1:9000 rollout status orders-v2");
  });
});
