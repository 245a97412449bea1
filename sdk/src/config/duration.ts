const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const;
/**
 * The whole syntax of a duration: up to 9 digits, up to 3 decimals, one unit. The config schema
 * checks with it too, so its JSON Schema carries it as `pattern` for editors.
 */
export const DURATION_PATTERN = /^(\d{1,9}(?:\.\d{1,3})?)(ms|s|m|h)$/;

/** Parses `250ms`, `5s`, `1.5m`, `24h` to milliseconds; `undefined` when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  const found = DURATION_PATTERN.exec(text.trim());
  if (!found) return undefined;
  const ms = Number(found[1]) * UNIT_MS[found[2] as keyof typeof UNIT_MS];
  return Number.isFinite(ms) ? Math.round(ms) : undefined;
}

/** Formats milliseconds back into the shortest exact duration string. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [["h", 3_600_000], ["m", 60_000], ["s", 1_000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
