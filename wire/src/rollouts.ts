/** The commands an operator sends a rollout (admin API `POST /.weft/api/v1/rollouts/<name>/<command>`, `ControlPlane.rolloutCommand`). */
export const ROLLOUT_COMMANDS = ["pause", "resume", "promote", "abort"] as const;
export type RolloutCommandName = (typeof ROLLOUT_COMMANDS)[number];
