/**
 * `npm run bench`: the route-lookup, regex-rule (RegExp vs re2js), authentication and telemetry
 * micro-benchmarks, the gateway's cold start over a pass-through Worker, then the load benchmark.
 * Arguments are passed to the load benchmark (`npm run bench -- --duration 20s --connections 32`).
 */
import { formatRouteLookup, runRouteLookupBench } from "./route-lookup.js";
import { formatRegexBench, runRegexBench } from "./regex.js";
import { loadMain } from "./load.js";
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
// exitCode, not exit(): output piped to a file must drain first.
process.exitCode = await loadMain(process.argv.slice(2));
