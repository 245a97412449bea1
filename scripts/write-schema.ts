/**
 * `npm run schema`: writes schema/weft.schema.json, the JSON Schema editors use to complete and
 * check weft YAML (e.g. the YAML language server, with
 * `# yaml-language-server: $schema=../schema/weft.schema.json` at the top of a file).
 *
 * It is generated from the zod schemas in sdk/src/config/schema.ts, which stay the only
 * definition of the config model; scripts/write-schema.test.ts fails when the committed file and
 * the schemas drift apart.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { z } from "zod";
import { ConfigDocument, DOCUMENT_KINDS } from "../sdk/src/config/schema.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** Where the schema is committed. */
export const SCHEMA_PATH = join(ROOT, "schema", "weft.schema.json");

/**
 * zod writes `startsWith` checks as a `format` of its own ("starts_with") next to an equivalent
 * `pattern`. JSON Schema has no such format, and some editors flag unknown formats, so they go;
 * the pattern still says the same thing.
 */
const ZOD_ONLY_FORMATS = new Set(["starts_with", "ends_with", "includes"]);

/** The JSON Schema of one weft document, any kind, as an object. */
export function buildSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(ConfigDocument, {
    // Users write the input side: durations as strings ("5s"), defaults left out. The output side
    // (milliseconds, defaults filled in) is what the gateway compiles, not what an editor shows.
    io: "input",
    override: ({ jsonSchema }) => {
      if (typeof jsonSchema.format === "string" && ZOD_ONLY_FORMATS.has(jsonSchema.format)) delete jsonSchema.format;
    },
  });
  const { $schema, ...rest } = generated;
  return {
    $schema,
    title: "weft configuration document",
    description: `One weft document (apiVersion weft/v1), of kind ${DOCUMENT_KINDS.join(", ")}. A YAML file may hold several, separated by ---. Generated from sdk/src/config/schema.ts by \`npm run schema\`; do not edit.`,
    ...rest,
  };
}

/** The file's exact text: what `npm run schema` writes and the test compares against. */
export function renderSchema(): string {
  return `${JSON.stringify(buildSchema(), null, 2)}\n`;
}

/** Writes the schema file; returns its path. */
export function writeSchema(path: string = SCHEMA_PATH): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, renderSchema());
  return path;
}

// Run only as a script, so the test can import the functions above without writing anything.
const invokedPath = process.argv[1];
if (invokedPath !== undefined && import.meta.url === pathToFileURL(resolve(invokedPath)).href) {
  const written = writeSchema();
  console.log(`wrote ${relative(process.cwd(), written) || written}`);
}
