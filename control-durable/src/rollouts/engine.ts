/**
 * The rollout engine's core (docs/rollouts.md): what happens when a config version is stored, when
 * an alarm fires and when an operator sends a command. Decisions are the pure functions beside it
 * (decide-step.ts, commands.ts); this module runs them against its ports (the rollout records, the
 * telemetry of the two subsets, and the config writer) so the Durable Object around it only wires
 * storage, RPC and its alarm. Every write is idempotent: a decision is taken from the stored state,
 * a version with the same weights is no change, and the state is stored after the version it
 * describes, so an alarm delivered twice, or a restart between the two, repeats nothing.
 */
import type { RolloutSpecConfig } from "@weft/sdk/config";
import { applyRolloutCommand, type CommandResult, type RolloutCommand } from "./commands.js";
import { decideRolloutStep, initialRolloutState, type CheckResult, type IntervalMetrics, type RolloutAction, type RolloutDecision, type RolloutState } from "./decide-step.js";
import { rolloutPlan } from "./plan.js";

/** Checks kept per rollout for `weft rollout status`. */
export const KEPT_CHECKS = 20;

export interface RolloutRecord {
  readonly name: string;
  readonly spec: RolloutSpecConfig;
  readonly state: RolloutState;
  /** Newest last. */
  readonly checks: readonly CheckResult[];
}

export interface RolloutStore {
  list(): RolloutRecord[];
  get(name: string): RolloutRecord | undefined;
  put(record: RolloutRecord): void;
  delete(name: string): void;
}

export interface RolloutPorts {
  readonly store: RolloutStore;
  /** The canary's and stable's golden metrics over the `windowMs` before `now` (since the last check). */
  metrics(spec: RolloutSpecConfig, windowMs: number, now: number): Promise<IntervalMetrics>;
  /** Stores a config version with the target's routes at `routing`, as `actor`. */
  writeWeight(spec: RolloutSpecConfig, routing: CanaryRouting, actor: string, summary: string): Promise<void>;
}

/** What a rollout sets on its target's routes: the canary's weight, and the share of requests copied to it. */
export interface CanaryRouting {
  readonly canaryWeight: number;
  readonly mirrorPercent?: number;
}

/** The actor a rollout writes config versions as; applies by it never pause a rollout. */
export function rolloutActor(name: string): string {
  return `rollout:${name}`;
}

export class RolloutEngine {
  constructor(
    private readonly ports: RolloutPorts,
    private readonly now: () => number,
  ) {}

  /**
   * After a config version is stored: new Rollout documents start, removed ones are forgotten, a
   * changed spec starts over, and a rollout whose target an operator's apply changed is paused
   * (rather than fought over) with the reason.
   */
  reconcile(rollouts: readonly { name: string; spec: RolloutSpecConfig }[], touchedTargets: ReadonlySet<string>, actor: string): void {
    const { store } = this.ports;
    const now = this.now();
    const wanted = new Set(rollouts.map((rollout) => rollout.name));
    for (const record of store.list()) if (!wanted.has(record.name)) store.delete(record.name);
    for (const { name, spec } of rollouts) {
      const record = store.get(name);
      if (!record || JSON.stringify(record.spec) !== JSON.stringify(spec)) {
        store.put({ name, spec, state: initialRolloutState(now), checks: [] });
        continue;
      }
      if (actor === rolloutActor(name) || !touchedTargets.has(spec.target)) continue;
      const paused = applyRolloutCommand(record.state, { kind: "pause", reason: `paused: ${actor} applied a config that changes ${spec.target}` }, rolloutPlan(spec), now);
      if (paused.ok) store.put({ ...record, state: paused.decision.state });
    }
  }

  /**
   * The weights rollouts hold over an apply: each rollout that has taken its first step and whose
   * document the apply keeps as it is owns the split between its stable and canary subsets (a
   * finished one too: Succeeded holds 100, Failed 0). An apply by the rollout itself sets them.
   */
  weightsOwned(rollouts: readonly { name: string; spec: RolloutSpecConfig }[], actor: string): { spec: RolloutSpecConfig; routing: CanaryRouting }[] {
    return rollouts.flatMap(({ name, spec }) => {
      const record = this.ports.store.get(name);
      if (!record || actor === rolloutActor(name) || record.state.step < 0 || JSON.stringify(record.spec) !== JSON.stringify(spec)) return [];
      return [{ spec, routing: routingOf(record.state) }];
    });
  }

  /** One alarm: each rollout that is due decides and acts. Answers when the next one is due. */
  async tick(): Promise<number | undefined> {
    for (const record of this.ports.store.list()) {
      const now = this.now();
      const due = dueAt(record);
      if (due === undefined || due > now) continue;
      const plan = rolloutPlan(record.spec);
      const needsMetrics = record.state.phase === "Progressing" && record.state.pauseUntil === undefined;
      // Since the last check: an alarm that comes late judges all the traffic since then.
      const metrics = needsMetrics ? await this.ports.metrics(record.spec, now - record.state.lastCheckAt, now) : undefined;
      await this.carryOut(record, decideRolloutStep(record.state, metrics, plan, now));
    }
    return this.nextDueAt();
  }

  async command(name: string, command: RolloutCommand): Promise<CommandResult> {
    const record = this.ports.store.get(name);
    if (!record) return { ok: false, reason: `no rollout named "${name}"` };
    const result = applyRolloutCommand(record.state, command, rolloutPlan(record.spec), this.now());
    if (result.ok) await this.carryOut(record, result.decision);
    return result;
  }

  /** Every rollout record, by name. */
  list(): RolloutRecord[] {
    return this.ports.store.list();
  }

  /** The earliest time a rollout needs an alarm, if any does. */
  nextDueAt(): number | undefined {
    let next: number | undefined;
    for (const record of this.ports.store.list()) {
      const due = dueAt(record);
      if (due !== undefined && (next === undefined || due < next)) next = due;
    }
    return next;
  }

  /** Writes the version the action asks for, then the state that describes it. */
  private async carryOut(record: RolloutRecord, decision: RolloutDecision): Promise<void> {
    const routing = routingOfAction(decision.action);
    if (routing !== undefined) await this.ports.writeWeight(record.spec, routing, rolloutActor(record.name), summaryOf(record, decision));
    const checks = decision.check ? [...record.checks, decision.check].slice(-KEPT_CHECKS) : record.checks;
    this.ports.store.put({ ...record, state: decision.state, checks });
  }
}

/** When a rollout next needs deciding: now for a new one, at the end of a timed pause, an interval after its last check. */
export function dueAt(record: RolloutRecord): number | undefined {
  const { state } = record;
  if (state.phase === "Initialized") return state.lastCheckAt;
  if (state.phase !== "Progressing") return undefined;
  return state.pauseUntil ?? state.lastCheckAt + rolloutPlan(record.spec).analysis.intervalMs;
}

function routingOfAction(action: RolloutAction): CanaryRouting | undefined {
  switch (action.kind) {
    case "none":
      return undefined;
    case "set-weight":
      return action.mirrorPercent !== undefined ? { canaryWeight: action.weight, mirrorPercent: action.mirrorPercent } : { canaryWeight: action.weight };
    case "roll-back":
      return { canaryWeight: 0 };
    case "promote":
      return { canaryWeight: 100 };
  }
}

function routingOf(state: RolloutState): CanaryRouting {
  return state.mirrorPercent !== undefined ? { canaryWeight: state.canaryWeight, mirrorPercent: state.mirrorPercent } : { canaryWeight: state.canaryWeight };
}

function summaryOf(record: RolloutRecord, decision: RolloutDecision): string {
  const { spec } = record;
  const { canaryWeight, mirrorPercent } = decision.state;
  const what = `${spec.target}: ${spec.stable} ${100 - canaryWeight}%, ${spec.canary} ${canaryWeight}%${mirrorPercent !== undefined ? `, copies of ${mirrorPercent}% to ${spec.canary}` : ""}`;
  switch (decision.action.kind) {
    case "roll-back":
      return `rollout ${record.name} rolled back (${decision.state.reason ?? "aborted"}); ${what}`;
    case "promote":
      return `rollout ${record.name} promoted ${spec.canary}; ${what}`;
    default:
      return `rollout ${record.name} step ${decision.state.step + 1}; ${what}`;
  }
}
