import { describe, expect, it } from "vitest";
import { runAuthBench } from "./auth.js";

describe("authentication cost benchmark", () => {
  it("measures a cached authentication as far cheaper than a signature check", async () => {
    const result = await runAuthBench(200);
    expect(result.uncachedMicros).toBeGreaterThan(0);
    expect(result.cachedMicros).toBeGreaterThan(0);
    expect(result.cachedMicros * 10).toBeLessThan(result.uncachedMicros);
  });
});
