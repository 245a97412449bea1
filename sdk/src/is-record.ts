/**
 * Whether a parsed JSON value is an object (not null, not an array), so its fields can be read.
 * @example
 * const body: unknown = await response.json();
 * if (isRecord(body) && typeof body.version === "number") console.log(body.version);
 */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
