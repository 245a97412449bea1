import { describe, expect, it } from "vitest";
import { composeStages, type MeshRequest, type Stage } from "./stage.js";

const request = { requestId: "r" } as MeshRequest;

describe("stage composition", () => {
  it("runs stages top to bottom, then the terminal, and unwinds bottom to top", async () => {
    const trace: string[] = [];
    const stage = (name: string): Stage =>
      async function traced(req, next) {
        trace.push(`>${name}`);
        const response = await next(req);
        trace.push(`<${name}`);
        return response;
      };
    const run = composeStages([stage("a"), stage("b")], async () => {
      trace.push("terminal");
      return new Response("done");
    });
    expect(await (await run(request)).text()).toBe("done");
    expect(trace).toEqual([">a", ">b", "terminal", "<b", "<a"]);
  });

  it("lets a stage answer by itself without running the rest", async () => {
    let reached = false;
    const run = composeStages([async () => new Response("stopped", { status: 404 }), async (req, next) => ((reached = true), next(req))], async () => new Response("never"));
    expect((await run(request)).status).toBe(404);
    expect(reached).toBe(false);
  });

  it("reuses one chain for every request", () => {
    const run = composeStages([], async () => new Response());
    expect(typeof run).toBe("function");
    expect(composeStages([], run)).toBe(run);
  });
});
