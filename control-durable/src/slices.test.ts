import { describe, expect, it } from "vitest";
import { JSON_CHARS_PER_SLICE, jsonItemsInSlices, jsonRoundTripInSlices, type Pause } from "./slices.js";

/** The text JSON.stringify writes for the whole array, from its items' texts. */
async function jsonInSlices(values: readonly unknown[], pause: Pause): Promise<string> {
  return `[${(await jsonItemsInSlices(values, pause)).join(",")}]`;
}

describe("JSON in slices", () => {
  // What RPC input may hold that JSON drops or changes, and a hole.
  const awkward: unknown[] = [{ a: 1, b: undefined, c: [undefined, () => 1, -0, Number.POSITIVE_INFINITY, Number.NaN] }, undefined, new Date(0), "text", null, -0];
  awkward[8] = { after: "a hole" };

  it("writes the text JSON.stringify writes for the whole array, and reads back what JSON.parse reads", async () => {
    const pause = () => Promise.resolve();
    expect(await jsonInSlices(awkward, pause)).toBe(JSON.stringify(awkward));
    const { text, values } = await jsonRoundTripInSlices(awkward, pause);
    expect(text).toBe(JSON.stringify(awkward));
    expect(values).toEqual(JSON.parse(JSON.stringify(awkward)));
    expect(Object.is(values[5], 0)).toBe(true);
    expect(await jsonInSlices([], pause)).toBe("[]");
  });

  it("pauses once per slice's worth of text", async () => {
    const big = Array.from({ length: 40 }, (_, i) => ({ i, filler: "x".repeat(Math.ceil(JSON_CHARS_PER_SLICE / 10)) }));
    let pauses = 0;
    const text = await jsonInSlices(big, async () => {
      pauses++;
    });
    expect(text).toBe(JSON.stringify(big));
    expect(pauses).toBeGreaterThanOrEqual(Math.floor(text.length / JSON_CHARS_PER_SLICE) - 1);
    expect(pauses).toBeLessThanOrEqual(Math.ceil(text.length / JSON_CHARS_PER_SLICE) + 1);
  });
});
