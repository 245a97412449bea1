/**
 * Parsing and validation of a whole document set: text (YAML or JSON) → raw documents →
 * per-document schema checks → whole-set checks (references, duplicates, weights).
 * Every problem becomes a `ConfigIssue` naming the document, the field path and the reason;
 * the set is accepted only when there are none.
 */
import { Composer, isMap, isScalar, isSeq, LineCounter, Parser, type CST, type Document } from "yaml";
import * as z from "zod";
import type { ConfigIssue } from "../errors.js";
import { isRecord } from "../is-record.js";
import { CONFIG_DEFAULTS } from "./defaults.js";
import { configSetOf, type ValidConfigSet } from "./set.js";
import { isRolloutControlled } from "./rollout-rules.js";
import {
  DOCUMENT_KINDS,
  DOCUMENT_SCHEMAS,
  MeshDocument,
  RouteDocument,
  type ConfigDoc,
  type DocumentKind,
  type MeshDoc,
} from "./schema.js";

/** Most documents one set may hold. */
export const MAX_DOCUMENTS = 2_000;

/**
 * Deepest nesting of mappings and sequences a document may have (a top-level mapping is level 1).
 * weft's own config needs about 10; the limit keeps the recursive steps (YAML composition, toJS,
 * schema checks) far from the stack's end, whatever the body holds.
 */
export const MAX_NESTING_DEPTH = 64;

const TOO_DEEP_MESSAGE = `nesting deeper than ${MAX_NESTING_DEPTH} levels: a document may nest mappings and sequences at most ${MAX_NESTING_DEPTH} deep`;

type PathPart = string | number;
/** Finds the 1-based source line of a field, when the input was YAML. */
export type LineLocator = (documentIndex: number, path: readonly PathPart[]) => number | undefined;

export interface ParsedInput {
  documents: unknown[];
  locate?: LineLocator;
}

export type Result<T> = { ok: true; value: T } | { ok: false; issues: ConfigIssue[] };

/**
 * Work that yields after each slice of it (a few ms): run at once by the functions that return a
 * result, or with a pause between slices by their `…InSlices` twins, so both give the same result.
 */
type Steps<T> = Generator<void, T, void>;

function drain<T>(steps: Steps<T>): T {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

async function drainInSlices<T>(steps: Steps<T>, pause: () => Promise<void>): Promise<T> {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    await pause();
  }
}

/** A validated set: typed documents with defaults applied, grouped by kind, in submission order. */
export type { ValidConfigSet } from "./set.js";

export function formatPath(path: readonly PathPart[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? part : `.${part}`;
  }
  return out;
}

/** Parses one or many `---` separated YAML documents. Empty documents are skipped. */
export function parseYamlDocuments(text: string): Result<ParsedInput> {
  return drain(yamlSteps(text));
}

/**
 * `parseYamlDocuments` in slices, awaiting `pause` between them: the text is read
 * `YAML_CHARS_PER_SLICE` at a time (ending at a line's end), each document composed and turned
 * into values in a step of its own. Same steps, same result, same issues and lines.
 *
 * @example
 * const parsed = await parseYamlDocumentsInSlices(text, () => new Promise((r) => setTimeout(r, 0)));
 */
export function parseYamlDocumentsInSlices(text: string, pause: () => Promise<void>): Promise<Result<ParsedInput>> {
  return drainInSlices(yamlSteps(text), pause);
}

/** Characters of YAML read between two pauses: ~5 ms of the parser's work. */
export const YAML_CHARS_PER_SLICE = 8 * 1024;

function* yamlSteps(text: string): Steps<Result<ParsedInput>> {
  const lineCounter = new LineCounter();
  const yamlDocs: Document.Parsed[] = [];
  // Composing and converting documents costs less per character than reading the text: a slice
  // is at most YAML_CHARS_PER_SLICE of documents, or one bigger document.
  let chars = 0;
  const sliceFull = (doc: Document.Parsed): boolean => {
    chars += (doc.range[2] ?? 0) - (doc.range[0] ?? 0);
    if (chars < YAML_CHARS_PER_SLICE) return false;
    chars = 0;
    return true;
  };
  try {
    // The CST parser keeps its own stack; composing and toJS recurse once per level, so the
    // nesting is measured on the CST before they run. The parser reads the text in pieces that
    // end at a line's end, as a stream: the same tokens as the whole text at once.
    const parser = new Parser(lineCounter.addNewLine);
    const tokens: CST.Token[] = [];
    for (let at = 0; ; yield) {
      const newline = text.indexOf("\n", at + YAML_CHARS_PER_SLICE);
      const end = newline === -1 ? text.length : newline + 1;
      // The last piece is read as the end of the stream, as the whole text would be.
      tokens.push(...parser.parse(text.slice(at, end), end < text.length));
      if ((at = end) >= text.length) break;
    }
    const deep = tooDeepInCst(tokens);
    if (deep.length > 0) {
      return { ok: false, issues: deep.map(({ document, offset }) => ({ document, path: "", message: TOO_DEEP_MESSAGE, line: lineCounter.linePos(offset).line })) };
    }
    yield;
    for (const doc of new Composer({ uniqueKeys: true, prettyErrors: false }).compose(tokens)) {
      yamlDocs.push(doc);
      if (sliceFull(doc)) yield;
    }
  } catch (error) {
    return { ok: false, issues: [{ document: 1, path: "", message: `not valid YAML: ${(error as Error).message}` }] };
  }
  const kept = yamlDocs.filter((doc) => doc.errors.length > 0 || doc.contents !== null);
  const issues: ConfigIssue[] = [];
  const documents: unknown[] = [];
  for (const [index, doc] of kept.entries()) {
    for (const error of doc.errors) {
      const line = error.linePos?.[0]?.line ?? lineCounter.linePos(error.pos[0] ?? 0).line;
      issues.push({ document: index + 1, path: "", message: `not valid YAML: ${firstLine(error.message)}`, line });
    }
    if (doc.errors.length === 0) {
      try {
        documents.push(doc.toJS({ maxAliasCount: 50 }));
      } catch (error) {
        issues.push({ document: index + 1, path: "", message: `not valid YAML: ${(error as Error).message}` });
      }
      if (sliceFull(doc)) yield;
    }
  }
  // Aliases can nest a deep node inside another: measure the documents as they came out too.
  if (issues.length === 0) issues.push(...nestingIssues(documents));
  // The YAML parser reports one cause many times over (once per unclosed bracket, say).
  if (issues.length > 0) return { ok: false, issues: distinctIssues(issues) };
  if (documents.length > MAX_DOCUMENTS) {
    return { ok: false, issues: [{ document: MAX_DOCUMENTS + 1, path: "", message: `a set holds at most ${MAX_DOCUMENTS} documents` }] };
  }
  const locate: LineLocator = (documentIndex, path) => {
    const doc = kept[documentIndex];
    if (!doc) return undefined;
    // Walk down as far as the path exists, so an unknown key still points at its parent.
    for (let depth = path.length; depth >= 0; depth--) {
      const node = doc.getIn(path.slice(0, depth), true) as unknown;
      const range = nodeRange(node);
      if (range) return lineCounter.linePos(range[0] ?? 0).line;
    }
    return undefined;
  };
  return { ok: true, value: { documents, locate } };
}

function nodeRange(node: unknown): readonly number[] | undefined {
  if (isScalar(node) || isMap(node) || isSeq(node)) return node.range ?? undefined;
  return undefined;
}

function firstLine(text: string): string {
  return text.split("\n")[0] ?? text;
}

/** Documents (1-based, counting those with content) whose CST nests too deep, with the offset of the first level too many. */
function tooDeepInCst(tokens: readonly CST.Token[]): { document: number; offset: number }[] {
  const found: { document: number; offset: number }[] = [];
  let document = 0;
  for (const token of tokens) {
    if (token.type !== "document" || !token.value) continue;
    document++;
    let first: number | undefined;
    // Iterative on purpose: the point is to survive input nested 400,000 deep.
    const stack: [CST.Token, number][] = [[token.value, 0]];
    for (let next = stack.pop(); next; next = stack.pop()) {
      const [node, depth] = next;
      if (node.type !== "block-map" && node.type !== "block-seq" && node.type !== "flow-collection") continue;
      if (depth + 1 > MAX_NESTING_DEPTH) {
        if (first === undefined || node.offset < first) first = node.offset;
        continue;
      }
      for (const item of node.items) {
        if (item.key) stack.push([item.key, depth + 1]);
        if (item.value) stack.push([item.value, depth + 1]);
      }
    }
    if (first !== undefined) found.push({ document, offset: first });
  }
  return found;
}

/** How deep `value` nests objects and arrays, counted without recursion and only up to the limit plus one. */
function exceedsNestingLimit(value: unknown): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  for (let next = stack.pop(); next; next = stack.pop()) {
    const [node, depth] = next;
    if (typeof node !== "object" || node === null) continue;
    if (depth + 1 > MAX_NESTING_DEPTH) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node)) stack.push([child, depth + 1]);
  }
  return false;
}

/** One issue per document nested deeper than MAX_NESTING_DEPTH. */
function nestingIssues(documents: readonly unknown[]): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  documents.forEach((document, index) => {
    if (exceedsNestingLimit(document)) issues.push({ document: index + 1, path: "", message: TOO_DEEP_MESSAGE });
  });
  return issues;
}

/** Drops repeats of an identical issue (same document, field, line and message), keeping the order. */
function distinctIssues(issues: readonly ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    const key = JSON.stringify([issue.document, issue.kind, issue.name, issue.path, issue.line, issue.message]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Reads a JSON body: either `{"documents":[...]}` or a bare array of documents. */
export function parseJsonDocuments(text: string): Result<ParsedInput> {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    return { ok: false, issues: [{ document: 1, path: "", message: `not valid JSON: ${(error as Error).message}` }] };
  }
  const documents = Array.isArray(body) ? body : isRecord(body) && Array.isArray(body.documents) ? body.documents : undefined;
  if (!documents) {
    return { ok: false, issues: [{ document: 1, path: "", message: 'expected {"documents":[...]} or an array of documents' }] };
  }
  if (documents.length > MAX_DOCUMENTS) {
    return { ok: false, issues: [{ document: MAX_DOCUMENTS + 1, path: "", message: `a set holds at most ${MAX_DOCUMENTS} documents` }] };
  }
  const deep = nestingIssues(documents);
  if (deep.length > 0) return { ok: false, issues: deep };
  return { ok: true, value: { documents } };
}

type ZodIssues = z.ZodError["issues"];

function zodIssues(found: ZodIssues, base: Omit<ConfigIssue, "path" | "message">): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const issue of found) {
    const path = issue.path.filter((p): p is PathPart => typeof p === "string" || typeof p === "number");
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) issues.push({ ...base, path: formatPath([...path, key]), message: `unknown field "${key}"` });
      continue;
    }
    issues.push({ ...base, path: formatPath(path), message: issue.message });
  }
  return issues;
}

/** Validates raw documents one by one, then as a set. */
export function validateDocuments(raw: readonly unknown[], locate?: LineLocator): Result<ValidConfigSet> {
  return drain(validationSteps(raw, locate));
}

/**
 * Rules validated between two pauses of `validateDocumentsInSlices`: ~10 µs each in V8, so a
 * slice is a few milliseconds. A document outside a big Route counts as `RULES_PER_SLICE / 20`.
 */
export const RULES_PER_SLICE = 400;

/**
 * `validateDocuments` in slices of about `RULES_PER_SLICE` rules, awaiting `pause` between them so
 * that whoever shares the thread (other callers of a Durable Object, other isolates) runs in
 * between: a 10,000-rule set takes ~150 ms to validate. Same steps, same result, same issues.
 *
 * @example
 * const result = await validateDocumentsInSlices(documents, undefined, () => new Promise((r) => setTimeout(r, 0)));
 */
export function validateDocumentsInSlices(raw: readonly unknown[], locate: LineLocator | undefined, pause: () => Promise<void>): Promise<Result<ValidConfigSet>> {
  return drainInSlices(validationSteps(raw, locate), pause);
}

/** The validation, yielding after each slice's worth of work. */
function* validationSteps(raw: readonly unknown[], locate?: LineLocator): Steps<Result<ValidConfigSet>> {
  const issues: ConfigIssue[] = [];
  const documents: { index: number; doc: ConfigDoc }[] = [];
  let work = 0;

  for (let index = 0; index < raw.length; index++) {
    const candidate = raw[index];
    const base: Omit<ConfigIssue, "path" | "message"> = { document: index + 1 };
    if ((work += DOCUMENT_WORK) >= RULES_PER_SLICE) {
      work = 0;
      yield;
    }
    // Documents can arrive here without passing a parser above (over RPC, from storage).
    if (exceedsNestingLimit(candidate)) {
      issues.push({ ...base, path: "", message: TOO_DEEP_MESSAGE });
      continue;
    }
    if (!isRecord(candidate)) {
      issues.push({ ...base, path: "", message: "a document must be a mapping with apiVersion, kind, metadata and spec" });
      continue;
    }
    const kind = candidate.kind;
    const metadata = candidate.metadata;
    if (typeof kind === "string") base.kind = kind;
    if (isRecord(metadata) && typeof metadata.name === "string") base.name = metadata.name;
    if (typeof kind !== "string" || !DOCUMENT_KINDS.includes(kind as DocumentKind)) {
      issues.push({
        ...base,
        path: "kind",
        message: typeof kind === "string" ? `unknown kind "${kind}"; expected one of ${DOCUMENT_KINDS.join(", ")}` : `kind is required; one of ${DOCUMENT_KINDS.join(", ")}`,
      });
      continue;
    }
    const rules = kind === "Route" ? sliceableRules(candidate) : undefined;
    const parsed = rules ? yield* parseRouteInSlices(candidate, rules, () => (work = 0)) : parseWhole(kind as DocumentKind, candidate);
    if (!parsed.ok) {
      issues.push(...zodIssues(parsed.issues, base));
      continue;
    }
    documents.push({ index, doc: parsed.doc });
  }
  yield;

  issues.push(...checkSet(documents));
  if (issues.length > 0) {
    if (locate) {
      for (const issue of issues) {
        const line = locate(issue.document - 1, parsePath(issue.path));
        if (line !== undefined && issue.line === undefined) issue.line = line;
      }
    }
    return { ok: false, issues };
  }

  const docs = documents.map((d) => d.doc);
  return { ok: true, value: configSetOf(docs.find((d): d is MeshDoc => d.kind === "Mesh") ?? defaultMesh(), docs) };
}

/** A document that is not a big Route's, in rules' worth of validation work. */
const DOCUMENT_WORK = RULES_PER_SLICE / 20;

type Parsed = { ok: true; doc: ConfigDoc } | { ok: false; issues: ZodIssues };

function parseWhole(kind: DocumentKind, candidate: unknown): Parsed {
  const parsed = DOCUMENT_SCHEMAS[kind].safeParse(candidate);
  return parsed.success ? { ok: true, doc: parsed.data as ConfigDoc } : { ok: false, issues: parsed.error.issues };
}

/** The rule list's schema as `RouteDocument` checks `spec.http` (the same instances). */
const httpRules = () => RouteDocument.shape.spec.shape.http;
let shell: z.ZodType | undefined;
/** A Route with `spec.http` taken as it is, so its other fields are checked apart from its rules. Built on first use. */
const routeShell = () => (shell ??= RouteDocument.extend({ spec: RouteDocument.shape.spec.extend({ http: z.unknown() }) }));

/**
 * The rules of a Route worth validating apart (more than a slice's worth), when the rule list's
 * own checks pass whatever its rules hold (its length is within the bounds); otherwise undefined,
 * and the document is validated whole.
 */
function sliceableRules(candidate: Record<string, unknown>): unknown[] | undefined {
  const spec = candidate.spec;
  const http = isRecord(spec) ? spec.http : undefined;
  if (!Array.isArray(http) || http.length <= RULES_PER_SLICE) return undefined;
  // The list's own checks, read off the schema: only its length bounds are known to depend on nothing else.
  const checks = (httpRules()._zod.def.checks ?? []) as unknown as { _zod: { def: { check: string; minimum?: number; maximum?: number } } }[];
  for (const { _zod } of checks) {
    const { check, minimum, maximum } = _zod.def;
    if (check === "min_length" && minimum !== undefined && http.length >= minimum) continue;
    if (check === "max_length" && maximum !== undefined && http.length <= maximum) continue;
    return undefined;
  }
  return http;
}

/**
 * A big Route validated as its fields other than the rules, then its rules a slice at a time.
 * zod checks an object's fields one after the other and a list's items one after the other,
 * prefixing each issue with where it was found, so when only one of the two parts has issues
 * they are exactly the whole document's, in its order; when both have, the document is checked
 * again whole (one long step, for a refused set only), so the issues' order is zod's own.
 */
function* parseRouteInSlices(candidate: Record<string, unknown>, rules: readonly unknown[], sliced: () => void): Steps<Parsed> {
  const others = routeShell().safeParse(candidate);
  const rule = httpRules().element;
  const parsedRules: unknown[] = new Array(rules.length);
  const ruleIssues: ZodIssues = [];
  for (let start = 0; start < rules.length; start += RULES_PER_SLICE) {
    yield;
    sliced();
    const end = Math.min(rules.length, start + RULES_PER_SLICE);
    for (let r = start; r < end; r++) {
      const parsed = rule.safeParse(rules[r]);
      if (parsed.success) parsedRules[r] = parsed.data;
      else for (const issue of parsed.error.issues) ruleIssues.push({ ...issue, path: ["spec", "http", r, ...issue.path] });
    }
  }
  if (others.success && ruleIssues.length === 0) {
    const data = others.data as { spec: Record<string, unknown> };
    // The rules go where the whole document's parse puts them: `http` keeps its place among the keys.
    return { ok: true, doc: { ...data, spec: { ...data.spec, http: parsedRules } } as unknown as ConfigDoc };
  }
  if (ruleIssues.length === 0 && !others.success) return { ok: false, issues: others.error.issues };
  if (others.success) return { ok: false, issues: ruleIssues };
  yield;
  sliced();
  return parseWhole("Route", candidate);
}

/** The Mesh document in force when a set has none. */
export function defaultMesh(): MeshDoc {
  return MeshDocument.parse({ apiVersion: "weft/v1", kind: "Mesh", metadata: { name: "mesh" }, spec: { trustDomain: CONFIG_DEFAULTS.trustDomain } });
}

function parsePath(path: string): PathPart[] {
  const parts: PathPart[] = [];
  for (const token of path.match(/[^.[\]]+|\[\d+\]/g) ?? []) {
    parts.push(token.startsWith("[") ? Number(token.slice(1, -1)) : token);
  }
  return parts;
}

/** Checks that need the whole set: duplicates, references, weights, rewrites. */
function checkSet(documents: readonly { index: number; doc: ConfigDoc }[]): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const at = (index: number, doc: ConfigDoc, path: string, message: string): ConfigIssue => ({
    document: index + 1,
    kind: doc.kind,
    name: doc.metadata.name,
    path,
    message,
  });

  const seen = new Map<string, number>();
  let meshCount = 0;
  for (const { index, doc } of documents) {
    const key = `${doc.kind}/${doc.metadata.name}`;
    const first = seen.get(key);
    if (first !== undefined) issues.push(at(index, doc, "metadata.name", `duplicate ${doc.kind} "${doc.metadata.name}" (also document ${first + 1})`));
    else seen.set(key, index);
    if (doc.kind === "Mesh" && ++meshCount > 1) issues.push(at(index, doc, "", "a set holds at most one Mesh document"));
  }

  const services = new Map<string, Set<string>>();
  for (const { index, doc } of documents) {
    if (doc.kind !== "Service") continue;
    const subsets = new Set<string>();
    doc.spec.subsets.forEach((subset, s) => {
      if (subsets.has(subset.name)) issues.push(at(index, doc, `spec.subsets[${s}].name`, `duplicate subset "${subset.name}"`));
      subsets.add(subset.name);
    });
    services.set(doc.metadata.name, subsets);
  }

  const checkDestination = (index: number, doc: ConfigDoc, path: string, service: string, subset: string | undefined) => {
    const subsets = services.get(service);
    if (!subsets) {
      issues.push(at(index, doc, `${path}.service`, `unknown service "${service}"`));
    } else if (subset !== undefined && !subsets.has(subset)) {
      issues.push(at(index, doc, `${path}.subset`, `service "${service}" has no subset "${subset}" (it has ${[...subsets].join(", ")})`));
    }
  };

  const rolloutOf = new Map<string, { name: string; index: number }>();
  for (const { index, doc } of documents) {
    if (doc.kind === "Route") {
      doc.spec.hosts.forEach((host, h) => {
        const meshService = host.endsWith(".mesh") ? host.slice(0, -".mesh".length) : undefined;
        if (meshService !== undefined && !host.startsWith("*") && !services.has(meshService)) {
          issues.push(at(index, doc, `spec.hosts[${h}]`, `mesh host "${host}" names unknown service "${meshService}"`));
        }
      });
      doc.spec.http.forEach((rule, r) => {
        const rulePath = `spec.http[${r}]`;
        rule.destinations.forEach((destination, d) => checkDestination(index, doc, `${rulePath}.destinations[${d}]`, destination.service, destination.subset));
        if (rule.destinations.length > 1 && rule.destinations.some((d) => d.weight === undefined)) {
          issues.push(at(index, doc, `${rulePath}.destinations`, "every destination needs a weight when a rule has more than one"));
        } else {
          const total = rule.destinations.reduce((sum, d) => sum + (d.weight ?? 100), 0);
          if (total !== 100) issues.push(at(index, doc, `${rulePath}.destinations`, `weights add up to ${total}; they must add up to 100`));
        }
        if (rule.mirror) checkDestination(index, doc, `${rulePath}.mirror`, rule.mirror.service, rule.mirror.subset);
        if (rule.retries && rule.retries.backoff.base > rule.retries.backoff.max) {
          issues.push(at(index, doc, `${rulePath}.retries.backoff`, "backoff.base must not be longer than backoff.max"));
        }
        if (rule.rewrite) {
          const rewritable = rule.match?.every((m) => m.path !== undefined && !("regex" in m.path)) ?? false;
          if (!rewritable) issues.push(at(index, doc, `${rulePath}.rewrite`, "rewrite.prefix needs a path prefix or exact match in every match entry"));
        }
      });
    } else if (doc.kind === "Service") {
      const policy = doc.spec.trafficPolicy;
      const balancer = policy.loadBalancer;
      if (balancer.policy === "CONSISTENT_HASH" && !balancer.hashOn) {
        issues.push(at(index, doc, "spec.trafficPolicy.loadBalancer.hashOn", "CONSISTENT_HASH needs hashOn: { header }, { cookie } or { caller: true }"));
      }
      if (balancer.policy !== "CONSISTENT_HASH" && balancer.hashOn) {
        issues.push(at(index, doc, "spec.trafficPolicy.loadBalancer.hashOn", `hashOn applies only to CONSISTENT_HASH (policy is ${balancer.policy})`));
      }
      if (policy.retries.backoff.base > policy.retries.backoff.max) {
        issues.push(at(index, doc, "spec.trafficPolicy.retries.backoff", "backoff.base must not be longer than backoff.max"));
      }
      const outlier = policy.outlierDetection;
      if (outlier && outlier.baseEjectionTime > outlier.maxEjectionTime) {
        issues.push(at(index, doc, "spec.trafficPolicy.outlierDetection.maxEjectionTime", "maxEjectionTime must not be shorter than baseEjectionTime"));
      }
    } else if (doc.kind === "AuthorizationPolicy") {
      if (!services.has(doc.spec.target)) issues.push(at(index, doc, "spec.target", `unknown service "${doc.spec.target}"`));
    } else if (doc.kind === "Rollout") {
      const { target, stable, canary } = doc.spec;
      const subsets = services.get(target);
      if (!subsets) {
        issues.push(at(index, doc, "spec.target", `unknown service "${target}"`));
      } else {
        for (const [field, subset] of [["stable", stable], ["canary", canary]] as const) {
          if (!subsets.has(subset)) issues.push(at(index, doc, `spec.${field}`, `service "${target}" has no subset "${subset}" (it has ${[...subsets].join(", ")})`));
        }
      }
      const other = rolloutOf.get(target);
      if (other !== undefined) issues.push(at(index, doc, "spec.target", `service "${target}" already has rollout "${other.name}" (document ${other.index + 1}); one rollout per service`));
      else rolloutOf.set(target, { name: doc.metadata.name, index });
      if (doc.spec.analysis.mirror) for (const message of mirrorConflicts(documents, doc)) issues.push(at(index, doc, "spec.analysis.mirror", message));
    }
  }
  return issues;
}

/**
 * A mirroring rollout sets the mirror of every rule it moves (docs/rollouts.md#mirroring): a rule
 * that already copies its requests elsewhere would lose that, so the set is refused instead.
 */
function mirrorConflicts(documents: readonly { index: number; doc: ConfigDoc }[], rollout: Extract<ConfigDoc, { kind: "Rollout" }>): string[] {
  const { spec } = rollout;
  const conflicts: string[] = [];
  for (const { index, doc } of documents) {
    if (doc.kind !== "Route") continue;
    doc.spec.http.forEach((rule, r) => {
      const mirror = rule.mirror;
      if (!mirror || !isRolloutControlled(rule, spec) || (mirror.service === spec.target && mirror.subset === spec.canary)) return;
      const copiesTo = `${mirror.service}${mirror.subset ? `/${mirror.subset}` : ""}`;
      conflicts.push(`route "${doc.metadata.name}" (document ${index + 1}) rule ${r + 1} already mirrors to ${copiesTo}; the rollout's mirror phase would replace it (remove that mirror, or set analysis.mirror: false)`);
    });
  }
  return conflicts;
}

/** Parses text in the given format and validates it as a whole set. */
export function parseConfigText(text: string, format: "yaml" | "json"): Result<ValidConfigSet> & { raw?: unknown[] } {
  const parsed = format === "json" ? parseJsonDocuments(text) : parseYamlDocuments(text);
  if (!parsed.ok) return parsed;
  const result = validateDocuments(parsed.value.documents, parsed.value.locate);
  return result.ok ? { ...result, raw: parsed.value.documents } : result;
}
