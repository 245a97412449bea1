import { describe, expect, it } from "vitest";
import { devWranglerArgs } from "../cli/dev-runner.js";
import { exampleMesh, parseDevArgs } from "./dev.js";

describe("npm run dev options", () => {
  it("applies examples/mesh.yaml only when asked to reset, and keeps state where it is told", () => {
    expect(parseDevArgs([])).toEqual({ traffic: false, reset: false, help: false });
    expect(parseDevArgs(["--reset"]).reset).toBe(true);
    expect(parseDevArgs(["--persist-to", "/tmp/state"]).persistTo).toBe("/tmp/state");
    expect(parseDevArgs(["--persist-to=/tmp/other", "--traffic"])).toMatchObject({ persistTo: "/tmp/other", traffic: true });
  });

  it("refuses --persist-to without a directory and unknown arguments", () => {
    expect(() => parseDevArgs(["--persist-to"])).toThrow(/directory/);
    expect(() => parseDevArgs(["--persist-to", "--reset"])).toThrow(/directory/);
    expect(() => parseDevArgs(["--persist-to="])).toThrow(/directory/);
    expect(() => parseDevArgs(["--resett"])).toThrow(/unknown argument/);
  });

  it("passes the state folder on to wrangler dev", async () => {
    const args = devWranglerArgs(await exampleMesh(), 9000, "/tmp/state");
    expect(args.slice(args.indexOf("--persist-to"), args.indexOf("--persist-to") + 2)).toEqual(["--persist-to", "/tmp/state"]);
    expect(devWranglerArgs(await exampleMesh(), 9000)).not.toContain("--persist-to");
  });
});
