/**
 * The control Worker as control-durable/src/worker.ts builds it, with one addition for tests that
 * cannot wait hours: the control plane's key schedule runs on a clock the test sets. Tokens keep
 * the wall clock (ControlPlane.keyScheduleNow says why), so every verifier still accepts them while
 * the schedule is hours ahead. scripts/key-rotation.e2e.test.ts bundles this as the mesh's control
 * Worker in Miniflare.
 */
import { ControlPlane as WallClockControlPlane } from "../../control-durable/src/control-plane.js";
import controlWorker from "../../control-durable/src/worker.js";
import type { KeyView } from "../../control-durable/src/keys.js";

export { RateLimiter } from "../../control-durable/src/rate-limiter.js";
export { TelemetryShard } from "../../control-durable/src/telemetry.js";

/** Where the schedule's clock stands, kept in the object's storage so a restarted object keeps it. */
const SCHEDULE_CLOCK_KEY = "test:key-schedule-clock";

/** The schedule's clock: held at an instant, or running with the wall clock at an offset. */
interface ScheduleClock {
  offsetMs: number;
  heldAt: number | null;
}

export interface KeyScheduleState {
  /** The schedule's clock (epoch ms). */
  now: number;
  /** When the object's alarm is set (schedule time), or null. */
  alarmAt: number | null;
  keys: KeyView[];
  /** The kids the control plane publishes (what gateways and functions fetch). */
  published: string[];
}

export class ControlPlane extends WallClockControlPlane {
  /** The wall clock until the test moves the schedule. */
  protected override keyScheduleNow(): number {
    const clock = this.ctx.storage.kv.get<ScheduleClock>(SCHEDULE_CLOCK_KEY);
    if (!clock) return Date.now();
    return clock.heldAt ?? Date.now() + clock.offsetMs;
  }

  /**
   * Moves the schedule's clock to `to` (never backwards), held there or running on from there, and
   * does at that instant what the alarm does when it fires: rotate, retire or remove whatever is due.
   * The object's real alarm is set in schedule time, so it never fires on its own while the
   * schedule runs ahead of the wall clock: the test fires it.
   */
  async moveKeyScheduleClock(to: number, hold: boolean): Promise<KeyScheduleState> {
    const current = this.keyScheduleNow();
    if (to < current) throw new RangeError(`the key schedule's clock stands at ${current}; it does not go back to ${to}`);
    const movedAt = Date.now();
    // Held while the alarm's work runs, so it happens exactly at `to` (the wall clock moves meanwhile).
    this.ctx.storage.kv.put<ScheduleClock>(SCHEDULE_CLOCK_KEY, { offsetMs: 0, heldAt: to });
    await this.alarm();
    if (!hold) this.ctx.storage.kv.put<ScheduleClock>(SCHEDULE_CLOCK_KEY, { offsetMs: to - movedAt, heldAt: null });
    return this.keyScheduleState();
  }

  /** What the alarm does when it fires, at the schedule's clock as it stands (a due alarm, fired by the test). */
  async runKeyScheduleAlarm(): Promise<KeyScheduleState> {
    await this.alarm();
    return this.keyScheduleState();
  }

  async keyScheduleState(): Promise<KeyScheduleState> {
    const keys = await this.listKeys();
    const published = (await this.jwks()).keys.map((key) => key.kid);
    return { now: this.keyScheduleNow(), alarmAt: await this.ctx.storage.getAlarm(), keys, published };
  }
}

export default controlWorker;
