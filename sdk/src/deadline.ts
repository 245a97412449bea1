/**
 * Deadline propagation. The gateway tells each destination how much of the request's time budget
 * is left, as whole milliseconds in `x-weft-deadline-ms`. The value is relative, not a timestamp,
 * so the caller's and the callee's clocks never have to agree: the function turns it into a
 * deadline in its own clock the first time it looks, and sends what is left on its peer calls,
 * where the gateway takes it as an upper bound on that call's timeout.
 */

/**
 * Header carrying a request's remaining time budget in whole milliseconds (gateway ⇄ function).
 * @example
 * await mesh.fetch("catalog", "/products", { headers: { [DEADLINE_HEADER]: "200" } }); // at most 200 ms
 */
export const DEADLINE_HEADER = "x-weft-deadline-ms";

/** Strict: digits only, at most 10 (≈ 115 days), so a stray sign, unit, fraction or list is not a budget. */
const BUDGET = /^[0-9]{1,10}$/;

/**
 * Reads a budget header value: a non-negative whole number of milliseconds, or `undefined` for an
 * absent or malformed value (which is ignored rather than trusted).
 * @example
 * parseDeadlineHeader(request.headers.get(DEADLINE_HEADER)); // 2500, or undefined for "soon" / "-1" / absent
 */
export function parseDeadlineHeader(value: string | null | undefined): number | undefined {
  if (value === null || value === undefined || !BUDGET.test(value)) return undefined;
  return Number(value);
}

/** Per inbound Request: its deadline in this isolate's clock (undefined: no budget was given). */
const deadlines = new WeakMap<Request, { deadline: number | undefined }>();

/**
 * When this function must answer `request` by, in its own clock (epoch ms), or `undefined` when
 * the mesh gave no budget. The first call for a Request records its receipt time, so make it (or
 * use the `weftIdentity` / `withWeftIdentity` middleware) as early as possible; later calls return
 * the same deadline.
 * @example
 * const deadline = inboundDeadline(c.req.raw); // e.g. Date.now() + 2500, or undefined
 */
export function inboundDeadline(request: Request, now: number = Date.now()): number | undefined {
  let entry = deadlines.get(request);
  if (!entry) {
    const budget = parseDeadlineHeader(request.headers.get(DEADLINE_HEADER));
    entry = { deadline: budget === undefined ? undefined : now + budget };
    deadlines.set(request, entry);
  }
  return entry.deadline;
}

/**
 * The time left (whole ms, never negative) to answer `request`, or `undefined` when the mesh gave
 * no budget. In Workers `Date.now()` advances only across I/O, which is when it matters here.
 * @example
 * const left = remainingBudgetMs(c.req.raw);
 * if (left !== undefined && left < 50) return c.json({ partial: true }); // no time for the slow path
 */
export function remainingBudgetMs(request: Request, now: number = Date.now()): number | undefined {
  const deadline = inboundDeadline(request, now);
  if (deadline === undefined) return undefined;
  // Rounded down: claiming a millisecond we don't have would let a callee overrun us.
  return Math.max(0, Math.floor(deadline - now));
}
