import { describe, expect, it } from "vitest";
import { newCredentialId } from "./credentials.js";

describe("credential ids", () => {
  it("never start with '-', so `weft credentials revoke <id>` is never read as an option", () => {
    const ids = Array.from({ length: 2_000 }, () => newCredentialId());
    expect(ids.filter((id) => !/^[A-Za-z0-9][A-Za-z0-9_-]{7,63}$/.test(id))).toEqual([]);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
