/**
 * The gateway project's wrangler config (`wrangler.jsonc` or `wrangler.json`), as `weft validate`
 * and `weft bindings` read and edit it: its `services` array of service bindings, with the line of
 * each entry. Edits go through jsonc-parser so the user's comments and layout stay as they were.
 */
import { join } from "node:path";
import { applyEdits, createScanner, findNodeAtLocation, format, getNodeValue, modify, parseTree, printParseErrorCode, type Edit, type FormattingOptions, type Node, type ParseError } from "jsonc-parser";
import { CliFailure, readFileOrFail, type CliIO } from "./program.js";

/** The names `weft` looks for in the current folder, in order (wrangler's own JSON config names). */
export const GATEWAY_CONFIG_NAMES = ["wrangler.jsonc", "wrangler.json"] as const;

/** One entry of the gateway's `services` array. */
export interface GatewayBinding {
  binding: string;
  /** The Worker it reaches (wrangler's `service`); undefined when the entry lacks one. */
  service: string | undefined;
  /** Its index in the `services` array. */
  index: number;
  line: number;
}

export interface GatewayConfig {
  /** The file as the user named it (or as found in the current folder). */
  file: string;
  text: string;
  /** Whether the config has a `services` array at all. */
  hasServices: boolean;
  services: GatewayBinding[];
}

/** Refuses what weft cannot read or edit: TOML, or anything that is not JSON. */
export function checkGatewayConfigName(file: string): void {
  if (/\.toml$/i.test(file)) {
    throw new CliFailure(
      `${file}: weft reads and edits the gateway's config as JSON with comments, not TOML: use wrangler.jsonc (wrangler reads it just like wrangler.toml; convert the file once, then point --gateway/-c at it)`,
    );
  }
  if (!/\.jsonc?$/i.test(file)) throw new CliFailure(`${file}: expected the gateway's wrangler.jsonc (or wrangler.json)`);
}

/** `wrangler.jsonc` (or `wrangler.json`) in the current folder, when there is one. */
export async function findGatewayConfig(io: CliIO): Promise<{ file: string; path: string } | undefined> {
  for (const name of GATEWAY_CONFIG_NAMES) {
    const path = join(io.cwd(), name);
    if (await io.exists(path)) return { file: name, path };
  }
  return undefined;
}

/** Reads and parses a gateway config; `path` is where to read it, `file` how to name it. */
export async function readGatewayConfig(io: CliIO, file: string, path: string = file): Promise<GatewayConfig> {
  checkGatewayConfigName(file);
  const text = await readFileOrFail(io, path, file);
  return parseGatewayConfig(file, text);
}

/** Parses JSONC text (comments and trailing commas allowed, as wrangler allows them). */
export function parseGatewayConfig(file: string, text: string): GatewayConfig {
  const lineOf = lineLocator(text);
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, { allowTrailingComma: true, disallowComments: false });
  const [error] = errors;
  if (error) throw new CliFailure(`${file}:${lineOf(error.offset)}: not valid JSONC (${printParseErrorCode(error.error)})`);
  if (!root || root.type !== "object") throw new CliFailure(`${file}: expected a JSON object (a wrangler config)`);
  const array = findNodeAtLocation(root, ["services"]);
  if (array === undefined) return { file, text, hasServices: false, services: [] };
  if (array.type !== "array") throw new CliFailure(`${file}:${lineOf(array.offset)}: services must be an array of service bindings`);
  const services = (array.children ?? []).map((entry, index): GatewayBinding => {
    const binding = entry.type === "object" ? stringAt(entry, "binding") : undefined;
    if (binding === undefined) throw new CliFailure(`${file}:${lineOf(entry.offset)}: services[${index}] needs a "binding" name`);
    return { binding, service: stringAt(entry, "service"), index, line: lineOf(entry.offset) };
  });
  return { file, text, hasServices: true, services };
}

function stringAt(node: Node, key: string): string | undefined {
  const found = findNodeAtLocation(node, [key]);
  const value: unknown = found === undefined ? undefined : getNodeValue(found);
  return typeof value === "string" ? value : undefined;
}

/** 1-based line of a character offset. */
function lineLocator(text: string): (offset: number) => number {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === "\n") starts.push(i + 1);
  return (offset) => {
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if ((starts[mid] ?? 0) <= offset) low = mid;
      else high = mid - 1;
    }
    return low + 1;
  };
}

// ---- editing ----------------------------------------------------------------------------------

/** A service binding entry as wrangler spells it. */
export interface ServiceBindingEntry {
  binding: string;
  service: string;
}

/** Points an existing entry at another Worker: only that string changes. */
export function setBindingService(text: string, index: number, service: string): string {
  return applyEdits(text, modify(text, ["services", index, "service"], service, {}));
}

/**
 * Appends entries to `services` (creating the array when the config has none), in the layout of
 * the entries already there: one line each when the last one is on one line, else one field per
 * line. Indentation and line ends are the file's own.
 */
export function appendBindings(text: string, entries: readonly ServiceBindingEntry[]): string {
  let out = text;
  for (const entry of entries) {
    const root = parseTree(out, [], { allowTrailingComma: true });
    const array = root === undefined ? undefined : findNodeAtLocation(root, ["services"]);
    const last = array?.children?.at(-1);
    const onOneLine = (node: Node | undefined) => node !== undefined && !out.slice(node.offset, node.offset + node.length).includes("\n");
    const layout: Layout = { entryOnOneLine: onOneLine(last), arrayOnOneLine: last !== undefined && onOneLine(array) };
    // modify() computes where the value goes; formatting is applied below to the inserted text only,
    // because its own formatting reflows whole lines (a neighbouring one-line entry included).
    const [edit] = array === undefined ? modify(out, ["services"], [entry], {}) : modify(out, ["services", -1], entry, {});
    if (edit === undefined) continue;
    out = edit.content.startsWith(",")
      ? insertFormatted(out, edit, formattingOf(out), layout)
      : // Nothing to follow (an empty object or array): jsonc-parser's own formatting touches nothing else.
        applyEdits(out, array === undefined ? modify(out, ["services"], [entry], { formattingOptions: formattingOf(out) }) : modify(out, ["services", -1], entry, { formattingOptions: formattingOf(out) }));
  }
  return out;
}

/**
 * Applies an insertion edit whose content starts with its separating comma. When the value it
 * follows has a comment on the same line (`{ ... }, // why`), the new value goes after that
 * comment, so the comment stays with the line it describes; a trailing comma stays trailing.
 */
interface Layout {
  /** The last entry sits on one line: so does the new one. */
  entryOnOneLine: boolean;
  /** The whole array sits on one line: the new entry joins it there. */
  arrayOnOneLine: boolean;
}

function insertFormatted(text: string, edit: Edit, options: FormattingOptions, layout: Layout): string {
  const value = edit.content.slice(1);
  let commaEnd: number | undefined;
  let at = edit.offset;
  const scanner = createScanner(text, false);
  scanner.setPosition(edit.offset);
  for (let token = scanner.scan(); ; token = scanner.scan()) {
    const end = scanner.getTokenOffset() + scanner.getTokenLength();
    if (token === 15 /* Trivia: spaces on the same line */) continue;
    if (token === 5 /* CommaToken: the file already separates (or trails) with a comma */ && commaEnd === undefined) {
      commaEnd = at = end;
      continue;
    }
    if (token === 12 /* LineCommentTrivia */ || token === 13 /* BlockCommentTrivia */) at = end;
    break;
  }
  // After a comment the value starts a line of its own (or a line comment would swallow it).
  const afterComment = at !== (commaEnd ?? edit.offset);
  const lead = afterComment ? (options.eol ?? "\n") : "";
  const edits: Edit[] =
    commaEnd !== undefined
      ? [{ offset: at, length: 0, content: `${lead}${value},` }]
      : afterComment
        ? [{ offset: edit.offset, length: 0, content: "," }, { offset: at, length: 0, content: `${lead}${value}` }]
        : [{ offset: at, length: 0, content: edit.content }];
  const start = at + (commaEnd !== undefined ? 0 : 1) + lead.length;
  const inserted = applyEdits(text, edits);
  // First the line break and indentation in front of the new value (the range begins one
  // character early so that gap is inside it), then the value's own layout.
  const keepLines = { ...options, keepLines: layout.arrayOnOneLine && !afterComment };
  const broken = applyEdits(inserted, format(inserted, { offset: start - 1, length: 2 }, keepLines));
  const valueStart = start + broken.length - inserted.length;
  return applyEdits(broken, format(broken, { offset: valueStart, length: value.length }, { ...options, keepLines: layout.entryOnOneLine }));
}

/** The file's own indentation and line ends, so inserted text matches it. */
export function formattingOf(text: string): FormattingOptions {
  const eol = text.includes("\r\n") ? "\r\n" : "\n";
  const indent = /^([ \t]+)\S/m.exec(text)?.[1] ?? "  ";
  return indent.startsWith("\t") ? { insertSpaces: false, tabSize: 1, eol } : { insertSpaces: true, tabSize: indent.length, eol };
}
