/**
 * A fast, well-mixed 32-bit string hash for consistent hashing: FNV-1a over the UTF-8 bytes,
 * then murmur3's fmix32 finalizer. FNV-1a alone is cheap and streams, but its last bytes barely
 * reach the high bits (keys differing only in a trailing digit would hash close together);
 * fmix32 gives every input bit a ~50% chance to flip every output bit.
 *
 * Streaming matters on the hot path: `fnv1a32(b, fnv1a32(a))` equals `fnv1a32(a + b)`, so a
 * balancer hashes `key + "\0" + endpointId` for every endpoint without building those strings.
 */

/** FNV-1a 32-bit offset basis: the state before any byte. */
export const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * Continues an FNV-1a state over the UTF-8 encoding of `text` (unfinalized: feed it back in to
 * stream, pass it to `fmix32` to use it). Lone surrogates count as U+FFFD, as TextEncoder does,
 * so the result equals FNV-1a of `new TextEncoder().encode(text)`.
 */
export function fnv1a32(text: string, state: number = FNV_OFFSET_BASIS): number {
  let h = state | 0;
  const length = text.length;
  // Tight loop for ASCII (ids, header values, cookies); the UTF-8 path takes over at the first
  // other character.
  let i = 0;
  for (; i < length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0x80) return fnv1a32Utf8(text, i, h);
    h = Math.imul(h ^ unit, FNV_PRIME);
  }
  return h >>> 0;
}

/** FNV-1a over the UTF-8 encoding of `text` from index `from`, encoded inline (no buffer). */
function fnv1a32Utf8(text: string, from: number, state: number): number {
  let h = state;
  const length = text.length;
  for (let i = from; i < length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) {
      h = Math.imul(h ^ unit, FNV_PRIME);
      continue;
    }
    let codePoint = unit;
    if (unit >= 0xd800 && unit < 0xe000) {
      const low = i + 1 < length ? text.charCodeAt(i + 1) : 0;
      if (unit < 0xdc00 && low >= 0xdc00 && low < 0xe000) {
        codePoint = 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00);
        i++;
      } else {
        codePoint = 0xfffd;
      }
    }
    if (codePoint < 0x800) {
      h = Math.imul(h ^ (0xc0 | (codePoint >> 6)), FNV_PRIME);
    } else {
      if (codePoint < 0x10000) {
        h = Math.imul(h ^ (0xe0 | (codePoint >> 12)), FNV_PRIME);
      } else {
        h = Math.imul(h ^ (0xf0 | (codePoint >> 18)), FNV_PRIME);
        h = Math.imul(h ^ (0x80 | ((codePoint >> 12) & 0x3f)), FNV_PRIME);
      }
      h = Math.imul(h ^ (0x80 | ((codePoint >> 6) & 0x3f)), FNV_PRIME);
    }
    h = Math.imul(h ^ (0x80 | (codePoint & 0x3f)), FNV_PRIME);
  }
  return h >>> 0;
}

/** murmur3's 32-bit finalizer: a bijection on 32-bit integers with full avalanche. */
export function fmix32(value: number): number {
  let h = value | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hash of a whole string, as an unsigned 32-bit integer. */
export function hash32(text: string): number {
  return fmix32(fnv1a32(text));
}
