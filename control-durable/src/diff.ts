/**
 * Document-set diff keyed by kind and name: what an apply would add, remove and change, down to
 * the changed field paths. Pure; used for dry-runs, history summaries and audit entries.
 */
import { isRecord } from "@weft/sdk";
import type { ConfigDiff, DocumentChange, DocumentRef } from "./types.js";

export function documentKey(doc: unknown): DocumentRef {
  const record = (doc ?? {}) as { kind?: unknown; metadata?: { name?: unknown } };
  return { kind: String(record.kind ?? "?"), name: String(record.metadata?.name ?? "?") };
}

export function diffDocumentSets(before: readonly unknown[], after: readonly unknown[]): ConfigDiff {
  const index = (docs: readonly unknown[]) => new Map(docs.map((doc) => [keyOf(doc), doc] as const));
  const old = index(before);
  const next = index(after);
  const diff: ConfigDiff = { added: [], removed: [], changed: [], unchanged: 0 };
  for (const [key, doc] of next) {
    const previous = old.get(key);
    if (previous === undefined) {
      diff.added.push(documentKey(doc));
      continue;
    }
    const fields: string[] = [];
    collectChanges(previous, doc, "", fields);
    if (fields.length > 0) diff.changed.push({ ...documentKey(doc), fields } satisfies DocumentChange);
    else diff.unchanged++;
  }
  for (const [key, doc] of old) if (!next.has(key)) diff.removed.push(documentKey(doc));
  return diff;
}

export function isEmptyDiff(diff: ConfigDiff): boolean {
  return diff.added.length === 0 && diff.removed.length === 0 && diff.changed.length === 0;
}

/** One line for history and audit: "added Route/a; changed Service/orders (2 fields); removed ...". */
export function summarizeDiff(diff: ConfigDiff): string {
  const parts: string[] = [];
  const refs = (list: DocumentRef[]) => list.map((d) => `${d.kind}/${d.name}`).join(", ");
  if (diff.added.length) parts.push(`added ${refs(diff.added)}`);
  if (diff.changed.length) parts.push(`changed ${diff.changed.map((c) => `${c.kind}/${c.name} (${c.fields.length} field${c.fields.length === 1 ? "" : "s"})`).join(", ")}`);
  if (diff.removed.length) parts.push(`removed ${refs(diff.removed)}`);
  const text = parts.length ? parts.join("; ") : "no changes";
  return text.length > 500 ? `${text.slice(0, 497)}...` : text;
}

function keyOf(doc: unknown): string {
  const { kind, name } = documentKey(doc);
  return `${kind}/${name}`;
}

const MAX_FIELDS = 50;

function collectChanges(a: unknown, b: unknown, path: string, out: string[]): void {
  if (out.length >= MAX_FIELDS) return;
  if (Object.is(a, b)) return;
  if (Array.isArray(a) && Array.isArray(b)) {
    const length = Math.max(a.length, b.length);
    for (let i = 0; i < length; i++) collectChanges(a[i], b[i], `${path}[${i}]`, out);
    return;
  }
  if (isRecord(a) && isRecord(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const key of [...keys].sort()) collectChanges(a[key], b[key], path ? `${path}.${key}` : key, out);
    return;
  }
  out.push(path || "(document)");
}
