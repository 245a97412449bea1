/** The commands an operator sends a rollout (admin API `POST /.weft/api/v1/rollouts/<name>/<command>`, `ControlPlane.rolloutCommand`). */
export const ROLLOUT_COMMANDS = ["pause", "resume", "promote", "abort"] as const;
export type RolloutCommandName = (typeof ROLLOUT_COMMANDS)[number];

/**
 * A rollout as operators see it (admin API `GET /.weft/api/v1/rollouts`, `weft rollout status`, the
 * dashboard): times as ISO strings, rates in percent, the plan in the document's own words.
 */
export interface RolloutView {
  readonly name: string;
  readonly target: string;
  readonly stable: string;
  readonly canary: string;
  readonly strategy: "Canary" | "BlueGreen";
  readonly state: {
    readonly phase: "Initialized" | "Progressing" | "Paused" | "Promoting" | "Succeeded" | "Failed";
    /** Index in `steps` of the step in effect: -1 before the first, `steps.length` once promoted. */
    readonly step: number;
    readonly canaryWeight: number;
    /** Percent of the target's requests copied to the canary now; absent: none. */
    readonly mirrorPercent?: number;
    readonly failedChecks: number;
    readonly reason?: string;
    readonly lastCheckAt: string;
    readonly pauseUntil?: string;
  };
  /**
   * The plan: `setWeight N`, `pause 1m`, `pause` (until resumed), `mirror N%` (a check on copies at
   * weight 0), or BlueGreen's `check` / `check on mirror N%` before its switch.
   */
  readonly steps: readonly string[];
  /** When the control plane next decides, if the rollout moves by itself. */
  readonly nextCheckAt: string | null;
  readonly analysis: {
    readonly interval: string;
    readonly threshold: number;
    readonly minRequests: number;
    readonly successRateMin: number;
    readonly successRateMinRelativeToStable?: number;
    readonly latencyP99Max: string;
  };
  /** Newest last. */
  readonly checks: readonly {
    readonly at: string;
    readonly outcome: "passed" | "failed" | "inconclusive";
    readonly canaryRequests: number;
    /** Percent; null without requests. */
    readonly successRate: number | null;
    readonly stableSuccessRate: number | null;
    readonly p99Ms: number | null;
    readonly findings: readonly string[];
  }[];
}
