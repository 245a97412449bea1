/**
 * `npm run docs:config`: writes docs/config-reference.md, every field of every weft document kind
 * with its type, whether it is required or its default, and its description.
 *
 * It walks the JSON Schema generated from the zod schemas in sdk/src/config/schema.ts, exactly as
 * `npm run schema` (scripts/write-schema.ts) produces it, plus one marker for durations (in the
 * JSON Schema they are plain strings). scripts/write-config-reference.test.ts fails when the
 * committed file and the schemas drift apart.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { z } from "zod";
import { ConfigDocument, DOCUMENT_KINDS, Duration } from "../sdk/src/config/schema.js";
import { isRecord } from "../sdk/src/is-record.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** Where the reference is committed. */
export const REFERENCE_PATH = join(ROOT, "docs", "config-reference.md");

/** Marks the JSON Schema of a duration string (`250ms`, `5s`), which is otherwise just "string". */
export const DURATION_MARK = "x-weft-duration";

/** The same as scripts/write-schema.ts drops (zod-only formats that duplicate a pattern). */
const ZOD_ONLY_FORMATS = new Set(["starts_with", "ends_with", "includes"]);

type Schema = Record<string, unknown>;

/** A JSON Schema node is any JSON object. */
const isSchema: (value: unknown) => value is Schema = isRecord;

/**
 * The JSON Schema of one weft document, generated with the options scripts/write-schema.ts uses
 * (the input side: durations as strings, defaulted fields optional), with durations marked by
 * {@link DURATION_MARK}. Without the marks it is the schema `npm run schema` writes (tested).
 */
export function buildAnnotatedSchema(): Schema {
  // Every duration field is the Duration pipe (optional, defaulted, refined or re-described); its
  // input side is this one string schema, which zod's generator merges into each of them.
  const durationInput: unknown = Duration.in;
  const generated: Schema = z.toJSONSchema(ConfigDocument, {
    io: "input",
    override: ({ zodSchema, jsonSchema }) => {
      if (typeof jsonSchema.format === "string" && ZOD_ONLY_FORMATS.has(jsonSchema.format)) delete jsonSchema.format;
      if (zodSchema === durationInput) (jsonSchema as Schema)[DURATION_MARK] = true;
    },
  });
  return generated;
}

/** The document schemas, by kind, in the order of DOCUMENT_KINDS. */
function documentSchemas(schema: Schema): [kind: string, document: Schema][] {
  const oneOf = Array.isArray(schema.oneOf) ? schema.oneOf.filter(isSchema) : [];
  return DOCUMENT_KINDS.map((kind) => {
    const found = oneOf.find((doc) => isSchema(doc.properties) && isSchema(doc.properties.kind) && doc.properties.kind.const === kind);
    if (found === undefined) throw new Error(`no ${kind} document in the schema`);
    return [kind, found];
  });
}

// ------------------------------------------------------------------------------------- markdown

/** Escapes text for a table cell: code spans kept literal, the rest safe from emphasis and HTML tags. */
function cell(text: string): string {
  return text
    .replace(/\s*\n\s*/g, " ")
    .split(/(`[^`]*`)/)
    .map((part, i) => (i % 2 === 1 ? part : part.replace(/\\/g, "\\\\").replace(/\*/g, "\\*").replace(/</g, "&lt;")))
    .join("")
    .replace(/\|/g, "\\|");
}

/** A value as inline code: strings bare (`10m`), everything else as JSON (`[]`, `{}`, `0.2`). */
function code(value: unknown): string {
  const text = typeof value === "string" ? value : Array.isArray(value) ? `[${value.map((v) => JSON.stringify(v)).join(", ")}]` : JSON.stringify(value);
  return `\`${text}\``;
}

// ------------------------------------------------------------------------------- schema reading

/** The object forms of a node: itself when it has properties, or each branch of a union of objects. */
function objectForms(node: Schema): Schema[] | undefined {
  if (isSchema(node.properties)) return [node];
  const branches = node.anyOf ?? node.oneOf;
  if (Array.isArray(branches) && branches.length > 0 && branches.every((b) => isSchema(b) && isSchema(b.properties))) return branches as Schema[];
  return undefined;
}

function propertiesOf(form: Schema): [name: string, child: Schema][] {
  return isSchema(form.properties) ? Object.entries(form.properties).filter((entry): entry is [string, Schema] => isSchema(entry[1])) : [];
}

/** `{ exact }`, `{ header }`: how a form of a union of objects is written. */
function formName(form: Schema): string {
  return `\`{ ${propertiesOf(form)
    .map(([name]) => name)
    .join(", ")} }\``;
}

function numberBounds(node: Schema): string {
  const min = typeof node.minimum === "number" ? node.minimum : undefined;
  const max = typeof node.maximum === "number" ? node.maximum : undefined;
  const exclusiveMin = typeof node.exclusiveMinimum === "number" ? node.exclusiveMinimum : undefined;
  const exclusiveMax = typeof node.exclusiveMaximum === "number" ? node.exclusiveMaximum : undefined;
  if (min !== undefined && max !== undefined) return ` ${min}..${max}`;
  const bounds = [
    min !== undefined ? `≥ ${min}` : undefined,
    exclusiveMin !== undefined ? `> ${exclusiveMin}` : undefined,
    max !== undefined ? `≤ ${max}` : undefined,
    exclusiveMax !== undefined ? `< ${exclusiveMax}` : undefined,
  ].filter((b): b is string => b !== undefined);
  return bounds.length === 0 ? "" : ` ${bounds.join(", ")}`;
}

/** The type column: string, integer 1..100, duration, enum …, array of …, map of string to …, one of …. */
export function describeType(node: Schema): string {
  if (node[DURATION_MARK] === true) return "duration";
  if ("const" in node) return `constant ${code(node.const)}`;
  if (Array.isArray(node.enum)) return `enum: ${node.enum.map((value) => code(value)).join(", ")}`;
  if (isSchema(node.not) && Object.keys(node.not).length === 0) return "not allowed";
  const branches = node.anyOf ?? node.oneOf;
  if (Array.isArray(branches)) {
    const forms = objectForms(node);
    if (forms !== undefined) return `one of ${forms.map(formName).join(", ")}`;
    return `one of ${branches.filter(isSchema).map(describeType).join(", ")}`;
  }
  const nested = (child: Schema): string => {
    const text = describeType(child);
    return text.startsWith("one of ") ? `(${text})` : text;
  };
  switch (node.type) {
    case "array":
      return isSchema(node.items) ? `array of ${nested(node.items)}` : "array";
    case "object":
      if (!isSchema(node.properties) && isSchema(node.additionalProperties)) return `map of string to ${nested(node.additionalProperties)}`;
      return "object";
    case "string":
      return node.format === "uri" ? "string (URL)" : "string";
    case "integer":
    case "number":
      return `${node.type}${numberBounds(node)}`;
    case "boolean":
      return "boolean";
    default:
      if (Array.isArray(node.type)) return node.type.join(" or ");
      return "any";
  }
}

/**
 * A default the schema cannot carry (zod leaves it out of the input-side JSON Schema, e.g. when it
 * is applied later, as a whole-request timeout is), from the description's "Default <value>."
 * sentence. "Default: none / off / …" explains absence rather than naming a value, and is left out.
 */
export function describedDefault(description: string): string | undefined {
  return /(?:^|[.;] )Default ([^:].*?)\.(?:\s|$)/.exec(description)?.[1];
}

function requirement(name: string, child: Schema, form: Schema): string {
  if (Array.isArray(form.required) && form.required.includes(name)) return "required";
  if (isSchema(child.not) && Object.keys(child.not).length === 0) return "must be left out";
  if ("default" in child) return `default ${code(child.default)}`;
  const described = typeof child.description === "string" ? describedDefault(child.description) : undefined;
  return described === undefined ? "optional" : `optional, default ${described}`;
}

/** The field's description, plus those of its list items or map values when they add something. */
function fieldDescription(child: Schema): string {
  const own = typeof child.description === "string" ? child.description : "";
  const extra: string[] = [];
  if (child.type === "array" && isSchema(child.items) && typeof child.items.description === "string" && child.items.description !== own) {
    extra.push(`Each item: ${child.items.description}`);
  }
  if (isSchema(child.additionalProperties) && typeof child.additionalProperties.description === "string" && child.additionalProperties.description !== own) {
    extra.push(`Each value: ${child.additionalProperties.description}`);
  }
  return [own, ...extra].filter((part) => part !== "").join(" ");
}

// ------------------------------------------------------------------------------------- tables

export interface ReferenceRow {
  /** From the document root: `spec.trafficPolicy.retries.attempts`, `spec.http[].match[].headers.<name>.exact`. */
  path: string;
  type: string;
  requirement: string;
  description: string;
}

/** One object level of a document: its fields, one row each. */
export interface ReferenceTable {
  /** "" for the document itself. */
  path: string;
  /** What the level is for (the description of the field that holds it). */
  description: string;
  /** For a union of objects: the forms, one of which is written. */
  forms?: string[];
  rows: ReferenceRow[];
}

const childPath = (path: string, name: string) => (path === "" ? name : `${path}.${name}`);

/** The tables of one document kind, each object level followed by the levels inside it. */
export function referenceTables(document: Schema): ReferenceTable[] {
  const tables: ReferenceTable[] = [];

  const level = (node: Schema, path: string, description: string): void => {
    const forms = objectForms(node);
    if (forms === undefined) return;
    const table: ReferenceTable = { path, description, rows: [] };
    if (forms.length > 1) table.forms = forms.map(formName);
    tables.push(table);
    const children: [path: string, child: Schema][] = [];
    for (const form of forms) {
      for (const [name, child] of propertiesOf(form)) {
        const fieldPath = childPath(path, name);
        table.rows.push({ path: fieldPath, type: describeType(child), requirement: requirement(name, child, form), description: fieldDescription(child) });
        children.push([fieldPath, child]);
      }
    }
    for (const [fieldPath, child] of children) descend(child, fieldPath, typeof child.description === "string" ? child.description : "");
  };

  /** Finds the object levels inside a field: itself, its list items, its map values, its union branches. */
  const descend = (node: Schema, path: string, description: string): void => {
    if (objectForms(node) !== undefined) return level(node, path, description);
    if (node.type === "array" && isSchema(node.items)) return descend(node.items, `${path}[]`, description);
    if (isSchema(node.additionalProperties)) return descend(node.additionalProperties, `${path}.<name>`, description);
    const branches = node.anyOf ?? node.oneOf;
    if (Array.isArray(branches)) for (const branch of branches.filter(isSchema)) descend(branch, path, description);
  };

  // The document's own description heads its section; its table needs no second copy.
  level(document, "", "");
  return tables;
}

function renderTable(table: ReferenceTable): string[] {
  const heading = table.path === "" ? "### Document" : `### \`${table.path}\``;
  const lines = [heading, ""];
  if (table.description !== "") lines.push(cell(table.description), "");
  if (table.forms !== undefined) lines.push(`Exactly one of these forms: ${table.forms.join(", ")}.`, "");
  lines.push("| field | type | required / default | description |", "| --- | --- | --- | --- |");
  for (const row of table.rows) lines.push(`| ${cell(`\`${row.path}\``)} | ${cell(row.type)} | ${cell(row.requirement)} | ${cell(row.description)} |`);
  lines.push("");
  return lines;
}

/** The file's exact text: what `npm run docs:config` writes and the test compares against. */
export function renderConfigReference(): string {
  const documents = documentSchemas(buildAnnotatedSchema());
  const durationHelp = Duration.description ?? "Duration: a number followed by ms, s, m or h.";
  const lines = [
    "# Configuration reference",
    "",
    "<!-- Generated from the zod schemas in sdk/src/config/schema.ts by `npm run docs:config` (scripts/write-config-reference.ts). Do not edit: change the schemas' descriptions and run it again. -->",
    "",
    `Every field of the weft configuration documents (\`apiVersion: weft/v1\`), one section per kind: ${documents.map(([kind]) => `[${kind}](#${kind.toLowerCase()})`).join(" · ")}. ` +
      "`examples/mesh.yaml` is a complete example; `schema/weft.schema.json` (`npm run schema`) is the same model for editors.",
    "",
    "How to read the tables:",
    "",
    "- **field** is the path from the document's root; `[]` stands for each item of a list and `<name>` for a key you choose (a header name, a label).",
    `- **type**: \`duration\` is a string: ${cell(durationHelp.replace(/^Duration:\s*/, ""))} A map has string keys. \`one of\` lists the accepted forms.`,
    "- **required / default**: `required`, the value used when the field is left out, or `optional` when leaving it out means what the description says.",
    "",
  ];
  for (const [kind, document] of documents) {
    lines.push(`## ${kind}`, "");
    if (typeof document.description === "string") lines.push(cell(document.description), "");
    for (const table of referenceTables(document)) lines.push(...renderTable(table));
  }
  while (lines.at(-1) === "") lines.pop();
  return `${lines.join("\n")}\n`;
}

/** Writes the reference; returns its path. */
export function writeConfigReference(path: string = REFERENCE_PATH): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, renderConfigReference());
  return path;
}

// Run only as a script, so the test can import the functions above without writing anything.
const invokedPath = process.argv[1];
if (invokedPath !== undefined && import.meta.url === pathToFileURL(resolve(invokedPath)).href) {
  const written = writeConfigReference();
  console.log(`wrote ${relative(process.cwd(), written) || written}`);
}
