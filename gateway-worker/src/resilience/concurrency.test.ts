import { describe, expect, it } from "vitest";
import { InFlight } from "./concurrency.js";

describe("in-flight counts", () => {
  it("admits up to the limit and sheds the rest", () => {
    const inFlight = new InFlight();
    const admitted = Array.from({ length: 5 }, () => inFlight.tryAcquire("service:a", 3));
    expect(admitted).toEqual([true, true, true, false, false]);
    expect(inFlight.get("service:a")).toBe(3);
  });

  it("admits again once a request finishes", () => {
    const inFlight = new InFlight();
    inFlight.tryAcquire("service:a", 1);
    expect(inFlight.tryAcquire("service:a", 1)).toBe(false);
    inFlight.release("service:a");
    expect(inFlight.tryAcquire("service:a", 1)).toBe(true);
  });

  it("counts keys independently", () => {
    const inFlight = new InFlight();
    inFlight.tryAcquire("service:a", 1);
    expect(inFlight.tryAcquire("service:b", 1)).toBe(true);
    expect(inFlight.get("service:c")).toBe(0);
  });

  it("sheds everything under a limit of zero", () => {
    expect(new InFlight().tryAcquire("service:a", 0)).toBe(false);
  });

  it("counts unconditional acquires", () => {
    const inFlight = new InFlight();
    for (let i = 0; i < 4; i++) inFlight.acquire("endpoint:e1");
    inFlight.release("endpoint:e1");
    expect(inFlight.get("endpoint:e1")).toBe(3);
  });

  it("forgets keys whose count returns to zero", () => {
    const inFlight = new InFlight();
    for (let i = 0; i < 1_000; i++) {
      inFlight.acquire(`endpoint:e${i}`);
      inFlight.release(`endpoint:e${i}`);
    }
    expect(inFlight.size).toBe(0);
  });

  it("never goes negative on a release without an acquire", () => {
    const inFlight = new InFlight();
    inFlight.release("service:a");
    expect(inFlight.get("service:a")).toBe(0);
    expect(inFlight.tryAcquire("service:a", 1)).toBe(true);
    expect(inFlight.tryAcquire("service:a", 1)).toBe(false);
  });
});
