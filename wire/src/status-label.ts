/**
 * The `code` label of the request series. The status of an answer is chosen by whoever answers
 * (any upstream, or a client steering one, as httpbin's /status/<n> does), so as a label it must not
 * mint a series per distinct value: common codes keep their number, every other one is folded
 * into its class ("2xx" … "5xx"), and a value outside 100–599 into "other".
 *
 * Bound: at most COMMON_STATUS_CODES.size + 6 (= 38) code labels, so a (source, destination,
 * subset, route) combination has at most 38 series, in the isolate's buffer, the telemetry
 * objects and /.weft/metrics alike, whatever statuses clients provoke.
 */

/** A class a rare status is folded into; "other" for a value that is not an HTTP status. */
export type StatusClass = "1xx" | "2xx" | "3xx" | "4xx" | "5xx" | "other";

/** The `code` label: a common HTTP status as its number, any other status as its class. */
export type StatusLabel = number | StatusClass;

/** Statuses common enough to keep as themselves (what proxies, APIs and the mesh itself answer). */
export const COMMON_STATUS_CODES: ReadonlySet<number> = new Set([
  101, 200, 201, 202, 204, 206, 301, 302, 303, 304, 307, 308, 400, 401, 403, 404, 405, 408, 409, 410, 412, 413, 415, 422, 429, 431, 499, 500, 501, 502, 503, 504,
]);

const CLASSES: readonly StatusClass[] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/** Most distinct labels `statusLabel` gives. */
export const MAX_STATUS_LABELS = COMMON_STATUS_CODES.size + CLASSES.length + 1;

function isStatusClass(value: unknown): value is StatusClass {
  return value === "other" || (CLASSES as readonly unknown[]).includes(value);
}

/**
 * The label for a status. Idempotent, and also accepts what was stored before (a number, or a
 * class read back from storage), so labels of any origin fold the same way.
 */
export function statusLabel(status: number | string): StatusLabel {
  if (isStatusClass(status)) return status;
  const code = typeof status === "number" ? status : /^\d+$/.test(status) ? Number(status) : Number.NaN;
  if (COMMON_STATUS_CODES.has(code)) return code;
  if (Number.isInteger(code) && code >= 100 && code <= 599) return CLASSES[Math.floor(code / 100) - 1] as StatusClass;
  return "other";
}

/**
 * Whether answers with this label count as failures in success rates (Linkerd: success is not
 * 5xx). "5xx" is a failure like any 5xx; so is "other", which no well-formed HTTP answer carries.
 */
export function isFailureLabel(label: StatusLabel): boolean {
  if (typeof label === "number") return label >= 500;
  return label === "5xx" || label === "other";
}
