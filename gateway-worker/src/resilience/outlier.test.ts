import { describe, expect, it } from "vitest";
import { OutlierDetector, type OutlierResult, type OutlierSettings } from "./outlier.js";

const DEFAULTS: OutlierSettings = { consecutive5xx: 5, consecutiveGatewayErrors: undefined, baseEjectionMs: 30_000, maxEjectionMs: 300_000, maxEjectionPercent: 50 };
const POOL = "svc/v1";
const POOL_SIZE = 4;

function detector(overrides: Partial<OutlierSettings> = {}): OutlierDetector {
  return new OutlierDetector({ ...DEFAULTS, ...overrides });
}

/** Records `results` for one endpoint, one millisecond apart from `start`; returns the last change. */
function feed(outliers: OutlierDetector, id: string, results: OutlierResult[], start = 0, poolSize = POOL_SIZE): string {
  let last = "unchanged";
  results.forEach((result, i) => {
    last = outliers.record(id, POOL, poolSize, result, start + i);
  });
  return last;
}

const fiveErrors: OutlierResult[] = Array.from({ length: 5 }, () => "server-error");

/** Ejects `id` at time 0, then lets its probe fail `probeFailures` times, each right when allowed. */
function ejectRepeatedly(outliers: OutlierDetector, id: string, probeFailures: number): number {
  feed(outliers, id, fiveErrors);
  let now = 4;
  for (let i = 0; i < probeFailures; i++) {
    now = outliers.view(id, now).ejectedUntil ?? now;
    outliers.onPicked(id, now);
    outliers.record(id, POOL, POOL_SIZE, "gateway-error", now);
  }
  return now;
}

describe("outlier detection", () => {
  it.each<[string, OutlierResult[], Partial<OutlierSettings>, "healthy" | "ejected"]>([
    ["5 consecutive server errors", fiveErrors, {}, "ejected"],
    ["5 consecutive gateway errors", ["gateway-error", "gateway-error", "gateway-error", "gateway-error", "gateway-error"], {}, "ejected"],
    ["gateway errors mixed with server errors, 5 in a row", ["server-error", "gateway-error", "server-error", "gateway-error", "server-error"], {}, "ejected"],
    ["4 server errors then a success", ["server-error", "server-error", "server-error", "server-error", "success"], {}, "healthy"],
    ["4 errors, a success, 4 errors", ["server-error", "server-error", "server-error", "server-error", "success", "server-error", "server-error", "server-error", "server-error"], {}, "healthy"],
    ["3 gateway errors under a gateway threshold of 3", ["gateway-error", "gateway-error", "gateway-error"], { consecutiveGatewayErrors: 3 }, "ejected"],
    ["gateway errors broken by a server error", ["gateway-error", "gateway-error", "server-error", "gateway-error"], { consecutiveGatewayErrors: 3 }, "healthy"],
    ["3 gateway errors with the gateway rule off", ["gateway-error", "gateway-error", "gateway-error"], {}, "healthy"],
  ])("%s leaves the endpoint %s", (_name, results, overrides, expected) => {
    const outliers = detector(overrides);
    feed(outliers, "e1", results);
    expect(outliers.view("e1", results.length).health).toBe(expected);
  });

  it("reports the ejection when it happens and counts it in the pool", () => {
    const outliers = detector();
    expect(feed(outliers, "e1", fiveErrors.slice(0, 4))).toBe("unchanged");
    expect(outliers.record("e1", POOL, POOL_SIZE, "server-error", 4)).toBe("ejected");
    expect(outliers.ejectedCount(POOL, 4)).toBe(1);
    expect(outliers.ejectedCount("other/pool", 4)).toBe(0);
  });

  it("keeps an ejected endpoint out for baseEjectionMs, then lets it be picked", () => {
    const outliers = detector();
    feed(outliers, "e1", fiveErrors);
    expect(outliers.view("e1", 4)).toEqual({ health: "ejected", consecutiveFailures: 0, timesEjected: 1, ejectedUntil: 30_004 });
    expect(outliers.isAvailable("e1", 30_003)).toBe(false);
    expect(outliers.isAvailable("e1", 30_004)).toBe(true);
  });

  it.each([
    [1, 30_000],
    [2, 60_000],
    [3, 90_000],
    [10, 300_000],
    [12, 300_000],
  ])("ejection number %s lasts %s ms (base × times ejected, capped)", (times, durationMs) => {
    const outliers = detector();
    const ejectedAt = ejectRepeatedly(outliers, "e1", times - 1);
    const view = outliers.view("e1", ejectedAt);
    expect(view.timesEjected).toBe(times);
    expect(view.ejectedUntil).toBe(ejectedAt + durationMs);
  });

  it("lets exactly one probe through once the ejection expires", () => {
    const outliers = detector();
    feed(outliers, "e1", fiveErrors);
    outliers.onPicked("e1", 30_004);
    expect(outliers.view("e1", 30_004).health).toBe("probing");
    expect(outliers.isAvailable("e1", 30_005)).toBe(false);
    // A second pick while the probe is out does not restart it.
    outliers.onPicked("e1", 40_000);
    expect(outliers.isAvailable("e1", 60_003)).toBe(false);
  });

  it("frees the probe slot when a probe never reports back", () => {
    const outliers = detector();
    feed(outliers, "e1", fiveErrors);
    outliers.onPicked("e1", 30_004);
    expect(outliers.isAvailable("e1", 60_004)).toBe(true);
    expect(outliers.view("e1", 60_004).health).toBe("ejected");
  });

  it("ignores a pick before the ejection expires", () => {
    const outliers = detector();
    feed(outliers, "e1", fiveErrors);
    outliers.onPicked("e1", 10_000);
    expect(outliers.isAvailable("e1", 30_004)).toBe(true);
  });

  it("restores an endpoint whose probe succeeds", () => {
    const outliers = detector();
    feed(outliers, "e1", fiveErrors);
    outliers.onPicked("e1", 30_004);
    expect(outliers.record("e1", POOL, POOL_SIZE, "success", 30_050)).toBe("restored");
    expect(outliers.view("e1", 30_050)).toEqual({ health: "healthy", consecutiveFailures: 0, timesEjected: 1, ejectedUntil: undefined });
    expect(outliers.ejectedCount(POOL, 30_050)).toBe(0);
    expect(outliers.isAvailable("e1", 30_051)).toBe(true);
  });

  it("re-ejects for longer, at once, when the probe fails", () => {
    const outliers = detector();
    feed(outliers, "e1", fiveErrors);
    outliers.onPicked("e1", 30_004);
    expect(outliers.record("e1", POOL, POOL_SIZE, "gateway-error", 30_050)).toBe("ejected");
    expect(outliers.view("e1", 30_050)).toMatchObject({ health: "ejected", timesEjected: 2, ejectedUntil: 90_050 });
  });

  it("ignores results from requests sent before the ejection", () => {
    const outliers = detector();
    feed(outliers, "e1", fiveErrors);
    expect(outliers.record("e1", POOL, POOL_SIZE, "success", 1_000)).toBe("unchanged");
    expect(outliers.record("e1", POOL, POOL_SIZE, "server-error", 1_001)).toBe("unchanged");
    expect(outliers.view("e1", 1_001)).toMatchObject({ health: "ejected", timesEjected: 1, ejectedUntil: 30_004 });
  });

  it("doubles the next ejection for an endpoint restored recently", () => {
    const outliers = detector();
    feed(outliers, "e1", fiveErrors);
    outliers.record("e1", POOL, POOL_SIZE, "success", 30_004);
    feed(outliers, "e1", fiveErrors, 100_000);
    expect(outliers.view("e1", 100_004)).toMatchObject({ timesEjected: 2, ejectedUntil: 160_004 });
  });

  it("forgets past ejections after maxEjectionMs of health", () => {
    const outliers = detector();
    feed(outliers, "e1", fiveErrors);
    outliers.record("e1", POOL, POOL_SIZE, "success", 30_004);
    expect(outliers.view("e1", 330_004).timesEjected).toBe(0);
    feed(outliers, "e1", fiveErrors, 330_004);
    expect(outliers.view("e1", 330_008)).toMatchObject({ timesEjected: 1, ejectedUntil: 360_008 });
  });

  it.each([
    [4, 50, 3, 2],
    [1, 50, 1, 1],
    [3, 50, 3, 1],
    [10, 10, 3, 1],
    [4, 100, 4, 4],
    [4, 0, 1, 0],
  ])("in a pool of %s with a %s%% cap, %s failing endpoints lead to %s ejected", (poolSize, maxEjectionPercent, failing, ejected) => {
    const outliers = detector({ maxEjectionPercent });
    for (let i = 0; i < failing; i++) feed(outliers, `e${i}`, fiveErrors, 0, poolSize);
    expect(outliers.ejectedCount(POOL, 10)).toBe(ejected);
  });

  it("ejects an endpoint held back by the cap as soon as a slot frees", () => {
    const outliers = detector();
    feed(outliers, "e0", fiveErrors);
    feed(outliers, "e1", fiveErrors);
    feed(outliers, "e2", fiveErrors);
    expect(outliers.view("e2", 10)).toMatchObject({ health: "healthy", consecutiveFailures: 5 });
    outliers.record("e0", POOL, POOL_SIZE, "success", 30_004);
    expect(outliers.record("e2", POOL, POOL_SIZE, "server-error", 30_005)).toBe("ejected");
  });

  it("keeps no state for endpoints that recover before ever being ejected", () => {
    const outliers = detector();
    for (let i = 0; i < 1_000; i++) feed(outliers, `e${i}`, ["server-error", "gateway-error", "success"]);
    expect(outliers.size).toBe(0);
  });

  it("drops a restored endpoint's state once its history is forgotten", () => {
    const outliers = detector();
    feed(outliers, "e1", fiveErrors);
    outliers.record("e1", POOL, POOL_SIZE, "success", 30_004);
    outliers.record("e1", POOL, POOL_SIZE, "success", 100_000);
    expect(outliers.size).toBe(1);
    outliers.record("e1", POOL, POOL_SIZE, "success", 330_004);
    expect(outliers.size).toBe(0);
  });

  it("applies new thresholds from a config update", () => {
    const outliers = detector();
    feed(outliers, "e1", ["server-error", "server-error"]);
    outliers.updateSettings({ ...DEFAULTS, consecutive5xx: 3 });
    expect(outliers.record("e1", POOL, POOL_SIZE, "server-error", 10)).toBe("ejected");
  });
});
