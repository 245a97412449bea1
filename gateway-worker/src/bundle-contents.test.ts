/**
 * What the gateway Worker's bundle holds. Every cold gateway isolate parses all of it before it
 * answers, so the data plane carries no YAML parser, no validation library and no control-plane
 * code: those live in the control Worker (docs/architecture.md#why-two-workers). This reads the
 * bundler's own account of which modules put code into the bundle (a module that is imported but
 * tree-shaken away puts none), so an import that drags one of them back in fails here, naming the
 * modules that brought it.
 */
import { build, type Metafile } from "esbuild";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CONTROL_ENTRY, ROOT, WORKER_BUILD_OPTIONS } from "../../scripts/example-workers.js";

/**
 * Control-plane modules the gateway may share: pure decisions with no dependency of their own
 * (the dashboard's version diff, and the lease bucket a global limit falls back to locally).
 */
const SHARED_CONTROL_MODULES = ["control-durable/src/diff.ts", "control-durable/src/lease-bucket.ts", "control-durable/src/types.ts"];

/** The bundle's import graph, and the modules that contribute code to it. */
async function bundleInputs(entry: string): Promise<{ meta: Metafile; inputs: string[] }> {
  const result = await build({ ...WORKER_BUILD_OPTIONS, entryPoints: [join(ROOT, entry)], absWorkingDir: ROOT, bundle: true, write: false, minify: true, metafile: true, outfile: "out.js", logLevel: "silent" });
  const output = Object.values(result.metafile.outputs).find((candidate) => candidate.entryPoint !== undefined);
  if (!output) throw new Error(`esbuild reported no output for ${entry}`);
  return { meta: result.metafile, inputs: Object.entries(output.inputs).filter(([, contribution]) => contribution.bytesInOutput > 0).map(([input]) => input) };
}

/** Who imports `input`, as one chain back towards the entry: the first place to look when this test fails. */
function importChain(meta: Metafile, input: string): string {
  const chain = [input];
  for (let current = input; chain.length < 20; ) {
    const importer = Object.entries(meta.inputs).find(([, info]) => info.imports.some((edge) => edge.path === current))?.[0];
    if (importer === undefined || chain.includes(importer)) break;
    chain.push(importer);
    current = importer;
  }
  return chain.join(" ← ");
}

describe("the gateway Worker's bundle", () => {
  it("holds no zod, no yaml and no control-plane code, only the pure modules it shares on purpose", { timeout: 60_000 }, async () => {
    const { meta, inputs } = await bundleInputs("gateway-worker/src/index.ts");
    expect(inputs.some((input) => input.startsWith("gateway-worker/src/"))).toBe(true);
    const forbidden = inputs.filter((input) => /node_modules\/(zod|yaml)\//.test(input) || input.startsWith("sdk/src/config/schema") || input.startsWith("sdk/src/config/validate") || (input.startsWith("control-durable/") && !SHARED_CONTROL_MODULES.includes(input)));
    expect(forbidden.map((input) => importChain(meta, input))).toEqual([]);
    // re2js stays: route regexes run on RE2 in the data plane.
    expect(inputs.some((input) => input.includes("node_modules/re2js/"))).toBe(true);
  });

  it("is the control Worker's bundle that holds the schemas, the YAML parser and the Durable Objects", { timeout: 60_000 }, async () => {
    const { inputs } = await bundleInputs(CONTROL_ENTRY);
    for (const expected of [/node_modules\/zod\//, /node_modules\/yaml\//, /^sdk\/src\/config\/schema\.ts$/, /^control-durable\/src\/control-plane\.ts$/, /^control-durable\/src\/rate-limiter\.ts$/, /^control-durable\/src\/telemetry\.ts$/]) {
      expect(inputs.some((input) => expected.test(input)), String(expected)).toBe(true);
    }
    expect(inputs.filter((input) => input.startsWith("gateway-worker/"))).toEqual([]);
  });
});
