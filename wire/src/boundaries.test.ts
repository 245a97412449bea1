/**
 * Package boundaries: the gateway may import the control plane (its entry exports the Durable
 * Object classes), the control plane never imports the gateway, and the wire types both speak
 * import neither. So the two can be built, read and changed apart, with no import cycle.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(".ts") && !file.endsWith(".test.ts"))
    .map((file) => join(dir, file));
}

/** Every module specifier a file imports or re-exports. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), "utf8");
  return [...text.matchAll(/^\s*(?:import|export)\b[^;]*?from\s+"([^"]+)"/gms)].map((match) => match[1] as string);
}

function offenders(dir: string, forbidden: RegExp): string[] {
  return sources(dir).flatMap((file) => importsOf(file).filter((specifier) => forbidden.test(specifier)).map((specifier) => `${relative(ROOT, join(ROOT, file))} imports ${specifier}`));
}

describe("package boundaries", () => {
  it("the control plane never imports the gateway", () => {
    expect(sources("control-durable/src").length).toBeGreaterThan(5);
    expect(offenders("control-durable/src", /gateway-worker/)).toEqual([]);
  });

  it("the wire types import neither the gateway nor the control plane", () => {
    expect(sources("wire/src").length).toBeGreaterThan(2);
    expect(offenders("wire/src", /gateway-worker|control-durable/)).toEqual([]);
  });
});
