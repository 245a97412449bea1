import { describe, expect, it } from "vitest";
import { COMMON_STATUS_CODES, isFailureLabel, MAX_STATUS_LABELS, statusLabel } from "./status-label.js";

describe("status code labels", () => {
  it("keeps common codes as themselves", () => {
    for (const code of [101, 200, 204, 301, 304, 400, 401, 403, 404, 408, 429, 431, 499, 500, 502, 503, 504]) expect(statusLabel(code)).toBe(code);
  });

  it("folds every other status into its class", () => {
    expect(statusLabel(102)).toBe("1xx");
    expect(statusLabel(220)).toBe("2xx");
    expect(statusLabel(299)).toBe("2xx");
    expect(statusLabel(305)).toBe("3xx");
    expect(statusLabel(418)).toBe("4xx");
    expect(statusLabel(451)).toBe("4xx");
    expect(statusLabel(520)).toBe("5xx");
    expect(statusLabel(599)).toBe("5xx");
  });

  it("folds what is not an HTTP status into other", () => {
    for (const value of [0, 99, 600, 999, -200, 200.5, Number.NaN, Number.POSITIVE_INFINITY, "abc", "", "2xxx"]) expect(statusLabel(value)).toBe("other");
  });

  it("is idempotent and reads stored labels back as they were", () => {
    for (let code = 0; code <= 1000; code++) expect(statusLabel(statusLabel(code))).toBe(statusLabel(code));
    expect(statusLabel("5xx")).toBe("5xx");
    expect(statusLabel("other")).toBe("other");
    expect(statusLabel("404")).toBe(404);
    expect(statusLabel("418")).toBe("4xx");
  });

  it("gives a bounded number of labels over every possible value", () => {
    const labels = new Set<unknown>();
    for (let code = -10; code <= 2000; code++) labels.add(statusLabel(code));
    expect(labels.size).toBe(MAX_STATUS_LABELS);
    expect(MAX_STATUS_LABELS).toBe(COMMON_STATUS_CODES.size + 6);
  });

  it("counts 5xx, folded or not, as failures", () => {
    for (const label of [500, 503, "5xx", "other"] as const) expect(isFailureLabel(label)).toBe(true);
    for (const label of [200, 404, 499, "2xx", "4xx", "1xx", "3xx"] as const) expect(isFailureLabel(label)).toBe(false);
  });
});
