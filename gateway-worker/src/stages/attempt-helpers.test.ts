import { describe, expect, it } from "vitest";
import { cookieValue } from "./balance.js";
import { outlierResult } from "./retry.js";

describe("how an attempt counts for outlier detection", () => {
  it.each([
    [{ kind: "response", status: 200 } as const, "success"],
    [{ kind: "response", status: 404 } as const, "success"],
    [{ kind: "response", status: 429 } as const, "success"],
    [{ kind: "response", status: 500 } as const, "server-error"],
    [{ kind: "response", status: 501 } as const, "server-error"],
    [{ kind: "response", status: 502 } as const, "gateway-error"],
    [{ kind: "response", status: 503 } as const, "gateway-error"],
    [{ kind: "response", status: 504 } as const, "gateway-error"],
    [{ kind: "connect-failure" } as const, "gateway-error"],
    [{ kind: "reset" } as const, "gateway-error"],
    [{ kind: "per-try-timeout" } as const, "gateway-error"],
  ])("%o counts as %s", (outcome, expected) => {
    expect(outlierResult(outcome)).toBe(expected);
  });
});

describe("reading the consistent-hash cookie", () => {
  it.each([
    ["session=abc", "session", "abc"],
    ["theme=dark; session=abc123", "session", "abc123"],
    ["theme=dark;session=x=y", "session", "x=y"],
    ["mysession=1; session=2", "session", "2"],
    ["theme=dark", "session", undefined],
    [null, "session", undefined],
  ])("%s → %s = %s", (header, name, expected) => {
    expect(cookieValue(header, name)).toBe(expected);
  });
});
