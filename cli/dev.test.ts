import { describe, expect, it } from "vitest";
import { devWranglerArgs } from "./dev-runner.js";
import { describeDevMesh, devBanner } from "./dev.js";

describe("weft dev's local mesh", () => {
  const gateway = { path: "wrangler.jsonc", name: "acme-gateway", services: [{ binding: "USERS", service: "users" }] };
  const control = { path: "wrangler.control.jsonc", name: "acme-gateway-control", services: [] };
  const users = { path: "users/wrangler.jsonc", name: "users", services: [] };
  const billing = { path: "billing/wrangler.jsonc", name: "billing-worker", services: [{ binding: "WEFT", service: "acme-gateway" }] };

  it("runs the gateway's config first, then its control Worker's, then each Worker's, and gives a credential to each Worker that binds the gateway, as its mesh service", () => {
    const mesh = describeDevMesh("/p", gateway, control, [users, billing], "mesh.yaml", (worker) => (worker === "billing-worker" ? "billing" : worker), "/p/node_modules/wrangler/bin/wrangler.js");
    expect(devWranglerArgs(mesh, 8899)).toEqual(["dev", "-c", "wrangler.jsonc", "-c", "wrangler.control.jsonc", "-c", "users/wrangler.jsonc", "-c", "billing/wrangler.jsonc", "--ip", "127.0.0.1", "--port", "8899", "--show-interactive-dev-session=false"]);
    expect(mesh.callers).toEqual([{ service: "billing", devVarsFile: "billing/.dev.vars" }]);
    expect(mesh).toMatchObject({ cwd: "/p", meshFile: "mesh.yaml", resetHint: "weft dev --reset" });
  });

  it("prints where to look, never the admin token", () => {
    const lines = devBanner("http://127.0.0.1:8899", ["users", "billing"], ".dev.vars").join("\n");
    expect(lines).toContain("gateway at http://127.0.0.1:8899");
    expect(lines).toContain("curl -H 'Host: users.mesh' http://127.0.0.1:8899/");
    expect(lines).toContain("http://weft-admin.localhost:8899/.weft/dashboard");
    expect(lines).not.toMatch(/WEFT_ADMIN_TOKEN=[A-Za-z0-9]/);
  });
});
