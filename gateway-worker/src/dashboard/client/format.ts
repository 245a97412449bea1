/** How the dashboard writes figures: a dash for none, rates and latencies to a sensible precision. */
import type { GoldenMetrics } from "../data-shape.js";

type Figure = number | null | undefined;

export function rate(value: Figure): string {
  if (value === null || value === undefined) return "–";
  return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

export function percent(value: Figure): string {
  return value === null || value === undefined ? "–" : `${(value * 100).toFixed(1)}%`;
}

/** The error share of a success rate. */
export function errors(successRate: Figure): string {
  return successRate === null || successRate === undefined ? "–" : `${((1 - successRate) * 100).toFixed(1)}%`;
}

export function ms(value: Figure): string {
  return value === null || value === undefined ? "–" : `${value < 10 ? value.toFixed(1) : Math.round(value)} ms`;
}

/** An ISO time in the viewer's locale (as given when it does not parse). */
export function time(iso: string): string {
  const date = new Date(iso);
  return isNaN(date.getTime()) ? iso : date.toLocaleString();
}

export type Health = "idle" | "good" | "warn" | "bad";

/** Green / amber / red by success rate (Linkerd's: 4xx count as successes), grey without traffic. */
export function health(golden: GoldenMetrics | undefined): Health {
  if (!golden || golden.requests === 0 || golden.successRate === null) return "idle";
  return golden.successRate >= 0.99 ? "good" : golden.successRate >= 0.95 ? "warn" : "bad";
}
