/**
 * `npm run bench`: the route-lookup, regex-rule (RegExp vs re2js), authentication and telemetry
 * micro-benchmarks, the gateway's cold start over a pass-through Worker, then the load benchmark.
 * Then the CPU profile of the full gateway and the pass-through (bench/profile.ts) and the apply stall
 * (bench/apply-stall.ts).
 * Arguments are passed to the load benchmark (`npm run bench -- --duration 20s --connections 32`),
 * which runs 3 interleaved rounds unless `--rounds` says otherwise; the profile takes the same
 * duration, connections, threads and warm-up. Arguments starting with `--stall-` go to the apply
 * stall without that prefix (`--stall-before 1s` → `--before 1s`).
 */
import { formatRouteLookup, runRouteLookupBench } from "./route-lookup.js";
import { formatRegexBench, runRegexBench } from "./regex.js";
import { loadMain } from "./load.js";
import { profileMain } from "./profile.js";
import { applyStallMain } from "./apply-stall.js";
import { formatAuth, runAuthBench } from "./auth.js";
import { formatTelemetry, runTelemetryBench } from "./telemetry.js";
import { formatApplyBench, runApplyBench } from "./apply.js";
import { DEFAULT_STARTUP_OPTIONS, formatStartup, runStartupBench } from "./startup.js";

console.log(formatRouteLookup(runRouteLookupBench()));
console.log("");
console.log(formatRegexBench(runRegexBench()));
console.log("");
console.log(formatAuth(await runAuthBench()));
console.log("");
console.log(formatTelemetry(runTelemetryBench()));
console.log("");
console.log(formatApplyBench(runApplyBench()));
console.log("");
console.log(formatStartup(await runStartupBench({ ...DEFAULT_STARTUP_OPTIONS, rounds: 3 })));
console.log("");
const args = process.argv.slice(2);
const stallArgs: string[] = [];
const loadArgs: string[] = [];
for (let i = 0; i < args.length; i++) {
  const arg = args[i] ?? "";
  if (!arg.startsWith("--stall-")) loadArgs.push(arg);
  else if (arg.includes("=")) stallArgs.push(`--${arg.slice("--stall-".length)}`);
  else stallArgs.push(`--${arg.slice("--stall-".length)}`, ...(i + 1 < args.length ? [args[++i] ?? ""] : []));
}
// Three rounds by default: the full pipeline / pass-through ratio is read as a median over rounds.
if (!loadArgs.some((arg) => arg === "--rounds" || arg.startsWith("--rounds="))) loadArgs.push("--rounds", "3");
const codes = [await loadMain(loadArgs)];
console.log("");
codes.push(await profileMain(loadArgs));
console.log("");
codes.push(await applyStallMain(stallArgs));
// exitCode, not exit(): output piped to a file must drain first.
process.exitCode = codes.find((code) => code !== 0) ?? 0;
