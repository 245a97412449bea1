/**
 * Long work in the control plane is done in slices: between two, the object awaits a macrotask, so
 * its other callers (snapshot pulls, token mints, JWKS reads) are served in between, and in local
 * workerd, where every isolate shares one thread, so are the gateways' requests. A Durable Object's
 * input gate stays open while it awaits a timer; that is where the other calls run. Applies and
 * rollbacks, which must not interleave, are queued by the control plane itself.
 */

/** Waits until others have had their turn. */
export type Pause = () => Promise<void>;

/** A macrotask: the timer queue comes after whatever events are already waiting. */
export const nextTurn: Pause = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** Characters of JSON written (and read back) between two pauses: a few milliseconds of work. */
export const JSON_CHARS_PER_SLICE = 192 * 1024;

/**
 * Each item's `JSON.stringify`, an item at a time: joined with commas in brackets, the text
 * `JSON.stringify(values)` writes. What JSON cannot hold becomes `null` as in an array, and the
 * values here are structured clones (an RPC's arguments, a validation's output), whose only
 * `toJSON` is Date's, which ignores the key it is called with.
 */
export async function jsonItemsInSlices(values: readonly unknown[], pause: Pause): Promise<string[]> {
  return (await encode(values, pause, false)).parts;
}

/**
 * `JSON.stringify(values)` and `JSON.parse` of that text, an item at a time: the values exactly as
 * the stored text will read back (JSON drops `undefined`, turns `-0` into 0 and `1e400` into null).
 */
export async function jsonRoundTripInSlices(values: readonly unknown[], pause: Pause): Promise<{ text: string; values: unknown[] }> {
  const { parts, values: read } = await encode(values, pause, true);
  return { text: `[${parts.join(",")}]`, values: read };
}

async function encode(values: readonly unknown[], pause: Pause, readBack: boolean): Promise<{ parts: string[]; values: unknown[] }> {
  const parts: string[] = [];
  const read: unknown[] = [];
  let chars = 0;
  for (let i = 0; i < values.length; i++) {
    const part = JSON.stringify(values[i]) ?? "null";
    parts.push(part);
    if (readBack) read.push(JSON.parse(part));
    if ((chars += readBack ? 2 * part.length : part.length) >= JSON_CHARS_PER_SLICE) {
      chars = 0;
      await pause();
    }
  }
  return { parts, values: read };
}
