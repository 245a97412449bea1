/**
 * Gateways compile what the control plane validated: installing or pulling a snapshot that
 * carries the normalized form runs no validation of the document set; without it (an older
 * control plane, another normalized format) the gateway validates the raw documents as before.
 */
import { describe, expect, it, vi } from "vitest";

const validations = vi.hoisted(() => ({ count: 0 }));
vi.mock("@weft/sdk/config", async (importOriginal) => {
  const original = await importOriginal<typeof import("@weft/sdk/config")>();
  return {
    ...original,
    validateDocuments: (...args: Parameters<typeof original.validateDocuments>) => {
      validations.count++;
      return original.validateDocuments(...args);
    },
  };
});

const { validateDocuments } = await import("@weft/sdk/config");
const { NORMALIZED_FORMAT } = await import("../../wire/src/snapshot.js");
const { ConfigCache } = await import("./config-cache.js");
const { manyRoutes } = await import("./routing/test-support.js");
type SnapshotPayload = import("../../wire/src/snapshot.js").SnapshotPayload;

/** A payload as the control plane ships it: raw documents plus their normalized form. */
function shipped(version: number, documents: unknown[]): SnapshotPayload {
  const result = validateDocuments(documents);
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  // Through JSON, as the colo cache stores it.
  return JSON.parse(JSON.stringify({ version, createdAt: "", documents, normalized: { format: NORMALIZED_FORMAT, documents: result.value.documents } })) as SnapshotPayload;
}

describe("gateways compile the normalized snapshot", () => {
  it("installs and pulls a normalized snapshot without validating the set, and routes like a validated one", async () => {
    const documents = manyRoutes(200);
    const first = shipped(1, documents);
    const second = shipped(2, documents);
    const cache = new ConfigCache({ getSnapshot: async (known) => (known === 2 ? { changed: false, version: 2 } : { changed: true, snapshot: second }) }, { refreshIntervalMs: 0, now: () => 0 });
    validations.count = 0;
    const installed = cache.install(first);
    const pulled = await cache.refresh();
    await cache.refresh();
    expect(validations.count).toBe(0);
    expect(pulled.version).toBe(2);

    // The same rules as compiling a fresh validation of the raw documents.
    const validated = new ConfigCache({ getSnapshot: async () => ({ changed: true, snapshot: { version: 3, createdAt: "", documents } }) }, { refreshIntervalMs: 0, now: () => 0 });
    const fromRaw = await validated.refresh();
    expect(validations.count).toBe(1);
    expect(installed.ruleCount).toBeGreaterThan(200);
    expect(fromRaw.ruleCount).toBe(installed.ruleCount);
  });

  it("validates the raw documents when the normalized form is of another format or missing", () => {
    const payload = shipped(1, manyRoutes(5));
    const cache = new ConfigCache({ getSnapshot: () => Promise.reject(new Error("unused")) }, { refreshIntervalMs: 60_000, now: () => 0 });
    validations.count = 0;
    cache.install({ ...payload, normalized: { format: "weft/v0", documents: payload.normalized?.documents ?? [] } });
    cache.install({ version: 2, createdAt: "", documents: payload.documents });
    expect(validations.count).toBe(2);
    expect(() => cache.install({ version: 3, createdAt: "", documents: [{ kind: "Nope" }] })).toThrow(/does not validate/);
  });
});
