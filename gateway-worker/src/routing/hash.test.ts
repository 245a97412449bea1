import { describe, expect, it } from "vitest";
import { FNV_OFFSET_BASIS, fmix32, fnv1a32, hash32 } from "./hash.js";

/** Textbook FNV-1a over bytes, to check the inline UTF-8 encoding against. */
function fnv1aOfBytes(bytes: Uint8Array): number {
  let h = FNV_OFFSET_BASIS;
  for (const byte of bytes) h = Math.imul(h ^ byte, 0x01000193) >>> 0;
  return h;
}

function bitCount(value: number): number {
  let v = value >>> 0;
  let count = 0;
  while (v !== 0) {
    v &= v - 1;
    count++;
  }
  return count;
}

describe("string hash", () => {
  it.each([
    ["", 0x811c9dc5],
    ["a", 0xe40c292c],
    ["foobar", 0xbf9cf968],
  ])("FNV-1a of %j matches the published test vector", (text, expected) => {
    expect(fnv1a32(text)).toBe(expected);
  });

  it.each(["é", "日本語", "emoji 🚀 here", "lone \ud800 high", "lone \udc00 low", "trailing \ud83d"])(
    "hashes %j as the FNV-1a of its UTF-8 bytes",
    (text) => {
      expect(fnv1a32(text)).toBe(fnv1aOfBytes(new TextEncoder().encode(text)));
    },
  );

  it("streams: hashing a then b continues to the hash of a + b", () => {
    expect(fnv1a32("s/v1/3", fnv1a32("\u0000", fnv1a32("user-42")))).toBe(fnv1a32("user-42\u0000s/v1/3"));
    expect(hash32("user-42\u0000s/v1/3")).toBe(fmix32(fnv1a32("s/v1/3", fnv1a32("user-42\u0000"))));
  });

  it("finalizes with murmur3's fmix32", () => {
    expect(fmix32(0)).toBe(0);
    expect(fmix32(1)).toBe(0x514e28b7);
  });

  it("flips about half of the output bits when the last character changes", () => {
    let flipped = 0;
    const samples = 5000;
    for (let i = 0; i < samples; i++) flipped += bitCount(hash32(`key-${i}\u0000s/v1/0`) ^ hash32(`key-${i}\u0000s/v1/1`));
    expect(flipped / samples).toBeGreaterThan(15);
    expect(flipped / samples).toBeLessThan(17);
  });

  it("spreads sequential keys evenly over the top bits", () => {
    const buckets = new Array<number>(16).fill(0);
    const keys = 160_000;
    for (let i = 0; i < keys; i++) {
      const bucket = hash32(`user-${i}`) >>> 28;
      buckets[bucket] = (buckets[bucket] ?? 0) + 1;
    }
    for (const count of buckets) expect(Math.abs(count / (keys / 16) - 1)).toBeLessThan(0.03);
  });
});
