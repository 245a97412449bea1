/**
 * `npm run bench` runs end to end and prints its figures: the route-lookup table, the
 * direct / passthrough / gateway / full / ablation load table, the CPU profile by category and the
 * apply stall. A short run: this checks the harness, not the speed.
 */
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { ROOT } from "../scripts/example-workers.js";
import { wrkInstalled } from "./load.js";
import { CATEGORIES } from "./profile-aggregate.js";

const hasWrk = wrkInstalled();
const mustRun = process.env.CI === "true";

describe("npm run bench", () => {
  if (!hasWrk && !mustRun) console.warn("skipping the npm run bench smoke test: wrk is missing (apt-get install -y wrk)");

  it.skipIf(!hasWrk && !mustRun)("prints route-lookup figures and the six-way load table", { timeout: 180_000 }, async () => {
    expect(hasWrk, "wrk is needed: apt-get install -y wrk").toBe(true);
    const child = spawn("npm", ["run", "bench", "--", "--duration", "1s", "--warmup", "0s", "--rounds", "1", "--stall-before", "1s", "--stall-after", "0s", "--stall-rounds", "1"], { cwd: ROOT, env: { ...process.env, WRANGLER_SEND_METRICS: "false" }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    expect(code, output.slice(-3000)).toBe(0);

    for (const rules of ["10", "100", "1,000", "10,000"]) expect(output).toMatch(new RegExp(`^\\s*${rules}\\s+[\\d,]+\\s+\\d+\\s+[\\d.]+\\s+[\\d.]+\\s+[\\d.]+×`, "m"));
    for (const way of ["direct", "passthrough", "gateway", "full", "ablation", "floor"]) {
      const row = new RegExp(`^${way}\\s+(\\d+)\\s+[\\d.]+\\s+[\\d.]+\\s+\\d+\\s+0\\s`, "m").exec(output);
      expect(row, `${way} row in:\n${output.slice(-2000)}`).not.toBeNull();
      expect(Number(row?.[1])).toBeGreaterThan(0);
    }
    expect(output).toMatch(/^gateway \/ passthrough\s+[\d.]+×/m);
    expect(output).toMatch(/^full pipeline \/ passthrough\s+[\d.]+×/m);
    expect(output).toMatch(/^full pipeline \/ ablation\s+[\d.]+×/m);
    expect(output).toMatch(/^floor \/ passthrough\s+[\d.]+×/m);
    expect(output).toMatch(/^full pipeline \/ floor\s+[\d.]+×/m);
    expect(output).toMatch(/record one request into the aggregates: \d+ ns/);
    // The CPU profile: a row per category with µs per request for the full gateway, the floor, the ablation and the pass-through.
    for (const category of CATEGORIES.filter((c) => c.id !== "idle")) {
      expect(output, `${category.label} row`).toMatch(new RegExp(`^${category.label.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(\\s+[\\d.]+){4}$`, "m"));
    }
    const busy = /^busy total\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)$/m.exec(output);
    expect(busy, "busy total row").not.toBeNull();
    for (const column of [1, 2, 3, 4]) expect(Number(busy?.[column])).toBeGreaterThan(0);
    expect(output).toMatch(/^apply stall \(10,000-rule JSON\): [+-]\d+ ms/m);
    expect(output).toMatch(/^serving isolate's longest busy stretch during the apply \(10,000-rule JSON\): \d+ ms/m);
    expect(output).toMatch(/^gateway startup over passthrough: -?\d+ ms$/m);
  });
});
