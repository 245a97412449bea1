/**
 * Gateways compile what the control plane validated: installing or pulling a snapshot compiles its
 * normalized form and runs no validation of the document set. The gateway Worker carries no
 * validator at all, so a snapshot without the normalized form it reads (a control Worker of
 * another release) is refused, and the version in use keeps serving.
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
const { ConfigCache } = await import("./config-cache.js");
const { compileSnapshot } = await import("./routing/compile.js");
const { manyRoutes } = await import("./routing/test-support.js");
const { shipped } = await import("./config-test-support.js");

describe("gateways compile the normalized snapshot", () => {
  it("installs and pulls a normalized snapshot without validating the set, and routes like a fresh validation", async () => {
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
    const fresh = validateDocuments(documents);
    if (!fresh.ok) throw new Error(JSON.stringify(fresh.issues));
    expect(installed.ruleCount).toBeGreaterThan(200);
    expect(compileSnapshot(fresh.value, 3).ruleCount).toBe(installed.ruleCount);
    expect(installed.mesh).toEqual(fresh.value.mesh);
  });

  it("refuses a snapshot whose normalized form is of another format or missing, validating nothing and keeping the version it serves", async () => {
    const payload = shipped(1, manyRoutes(5));
    const normalized = payload.normalized;
    if (!normalized) throw new Error("shipped without a normalized form");
    const cache = new ConfigCache({ getSnapshot: async () => ({ changed: true, snapshot: { ...payload, version: 4, normalized: { ...normalized, format: "weft/v0" } } }) }, { refreshIntervalMs: 0, now: () => 0 });
    validations.count = 0;
    cache.install(payload);
    expect(() => cache.install({ ...payload, version: 2, normalized: { ...normalized, format: "weft/v0" } })).toThrow(/version 2 cannot be compiled: it comes with normalized format "weft\/v0".*deploy the control Worker and the gateway from the same weft release/);
    expect(() => cache.install({ version: 3, createdAt: "", documents: payload.documents })).toThrow(/version 3 cannot be compiled: it comes with no normalized form/);
    expect(() => cache.install({ ...payload, version: 3, normalized: { ...normalized, documents: normalized.documents.slice(1) } })).toThrow(/cannot be compiled/);
    // A pull of such a version keeps the one in use, and says why.
    expect((await cache.refresh()).version).toBe(1);
    expect(cache.status()).toMatchObject({ version: 1, stale: true, lastError: expect.stringContaining("version 4 cannot be compiled") });
    expect(validations.count).toBe(0);
  });
});

describe("installing an applied version from its JSON text", () => {
  const text = (payload: ReturnType<typeof shipped>) => ({
    version: payload.version,
    createdAt: payload.createdAt,
    documentCount: payload.documents.length,
    ...(payload.normalized ? { normalized: { ...payload.normalized, documents: payload.normalized.documents.map((document) => JSON.stringify(document)) } } : {}),
  });
  const noPull = { getSnapshot: async () => Promise.reject(new Error("not pulled")) };

  it("compiles the text as install compiles the payload, in slices, installing it whole at the end and validating nothing", async () => {
    const payload = shipped(3, manyRoutes(1_000));
    const cache = new ConfigCache(noPull, { refreshIntervalMs: 60_000, now: () => 0 });
    const steps: string[] = [];
    validations.count = 0;
    const installed = await cache.installText(text(payload), async () => {
      steps.push(`pause (serving ${cache.current()?.version ?? "nothing"})`);
    });
    steps.push(`installed ${cache.current()?.version}`);
    // Its two big Routes read one at a time, then 2,000 rules compiled and indexed a thousand at a time.
    expect(steps).toEqual([...Array.from({ length: 6 }, () => "pause (serving nothing)"), "installed 3"]);
    expect(validations.count).toBe(0);
    expect(installed.ruleCount).toBe(new ConfigCache(noPull, { refreshIntervalMs: 60_000, now: () => 0 }).install(payload).ruleCount);
    expect(installed.mesh).toEqual(payload.normalized?.mesh);
  });

  it("refuses text without the normalized form it reads, as install does", async () => {
    const payload = shipped(2, manyRoutes(5));
    const cache = new ConfigCache(noPull, { refreshIntervalMs: 60_000, now: () => 0 });
    cache.install(shipped(1, manyRoutes(5)));
    const pause = () => Promise.resolve();
    const { normalized: _normalized, ...withoutNormalized } = text(payload);
    await expect(cache.installText(withoutNormalized, pause)).rejects.toThrow(/version 2 cannot be compiled: it comes with no normalized form/);
    await expect(cache.installText({ ...text(payload), documentCount: payload.documents.length + 1 }, pause)).rejects.toThrow(/version 2 cannot be compiled/);
    expect(cache.current()?.version).toBe(1);
  });

  it("keeps a newer version that a pull installed during its pause", async () => {
    const applied = shipped(5, manyRoutes(5));
    const newer = shipped(6, manyRoutes(6));
    const cache = new ConfigCache({ getSnapshot: async () => ({ changed: true, snapshot: newer }) }, { refreshIntervalMs: 0, now: () => 0 });
    cache.install(shipped(4, manyRoutes(4)));
    const installed = await cache.installText(text(applied), async () => {
      await cache.refresh();
    });
    expect(installed.version).toBe(6);
    expect(cache.current()?.version).toBe(6);
  });
});
