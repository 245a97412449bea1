/**
 * `npm run bench`: the route-lookup micro-benchmark, then the load benchmark.
 * Arguments are passed to the load benchmark (`npm run bench -- --duration 20s --connections 32`).
 */
import { formatRouteLookup, runRouteLookupBench } from "./route-lookup.js";
import { loadMain } from "./load.js";
import { formatAuth, runAuthBench } from "./auth.js";

console.log(formatRouteLookup(runRouteLookupBench()));
console.log("");
console.log(formatAuth(await runAuthBench()));
console.log("");
// exitCode, not exit(): output piped to a file must drain first.
process.exitCode = await loadMain(process.argv.slice(2));
