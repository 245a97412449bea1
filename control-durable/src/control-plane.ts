/**
 * The control plane Durable Object: a thin RPC surface over the config store, the registry and
 * the audit log. One instance (named "control") holds the mesh's truth; gateways pull versioned
 * snapshots from it in the background and never call it on the request path.
 */
import { DurableObject } from "cloudflare:workers";
import { CONFIG_DEFAULTS, defaultMesh, validateDocuments, type MeshDoc } from "@weft/sdk/config";
import { AuditLog } from "./audit.js";
import { ConfigStore } from "./config-store.js";
import { diffDocumentSets, isEmptyDiff, summarizeDiff } from "./diff.js";
import type { RotationPolicy } from "./key-lifecycle.js";
import { KeyStore, type KeyView, type PublicJwk } from "./keys.js";
import { CredentialStore, type CredentialView } from "./credentials.js";
import { GATEWAY_AUDIENCE, signHopToken, signSvid, spiffeId, type IssuedToken } from "./tokens.js";
import { migrate } from "./migrations.js";
import { buildRegistry } from "./registry.js";
import type { ApplyOutcome, AuditEntry, RegistryView, VersionRecord } from "./types.js";
import type { SnapshotAnswer, SnapshotPayload } from "../../wire/src/snapshot.js";

/** Name of the single control-plane instance. */
export const CONTROL_PLANE_NAME = "control";

export interface ApplyOptions {
  /** Who made the change, as the admin surface authenticated it. */
  actor: string;
  /** Validate and diff only; store nothing. */
  dryRun?: boolean;
}

const MAX_LIST = 500;
/** Clock skew tolerated on token times (RFC 8725 practice; docs/architecture.md#token-rules). */
export const CLOCK_SKEW_MS = 60_000;

/** Rotation timing from the Mesh document: a new key is published well before it signs. */
export function rotationPolicy(mesh: MeshDoc): RotationPolicy {
  const rotationMs = mesh.spec.identity.keyRotation;
  return { rotationMs, prepareLeadMs: Math.min(60 * 60_000, Math.floor(rotationMs / 4)), retireGraceMs: CONFIG_DEFAULTS.maxTokenTTLms + CLOCK_SKEW_MS };
}

export class ControlPlane extends DurableObject {
  private readonly store: ConfigStore;
  private readonly audit: AuditLog;
  private readonly keys: KeyStore;
  private readonly credentials: CredentialStore;

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env as never);
    this.store = new ConfigStore(ctx.storage.sql);
    this.audit = new AuditLog(ctx.storage.sql);
    this.keys = new KeyStore(ctx.storage.sql, (work) => ctx.storage.transactionSync(work));
    this.credentials = new CredentialStore(ctx.storage.sql);
    void ctx.blockConcurrencyWhile(async () => migrate(ctx.storage.sql));
  }

  /** Conditional pull: answers `changed: false` when the gateway already holds the current version. */
  getSnapshot(knownVersion: number | null = null): SnapshotAnswer {
    const version = this.store.currentVersion();
    if (knownVersion === version) return { changed: false, version };
    return { changed: true, snapshot: this.store.current() };
  }

  /** The current set, or a given version of it. */
  getConfig(version?: number): SnapshotPayload | null {
    return version === undefined ? this.store.current() : (this.store.get(version) ?? null);
  }

  /** Validates `documents` as a whole set and, unless dry-run, stores it as a new version. */
  applyConfig(documents: unknown[], options: ApplyOptions): ApplyOutcome {
    const validation = validateDocuments(documents);
    if (!validation.ok) return { ok: false, reason: "invalid_config", issues: validation.issues };
    const current = this.store.current();
    const diff = diffDocumentSets(current.documents, documents);
    const summary = summarizeDiff(diff);
    if (options.dryRun || isEmptyDiff(diff)) {
      return { ok: true, dryRun: options.dryRun === true, changed: !isEmptyDiff(diff), version: current.version, previousVersion: current.version, summary, diff };
    }
    const version = this.commit(documents, { actor: options.actor, source: "apply", rollbackOf: null, summary });
    return { ok: true, dryRun: false, changed: true, version, previousVersion: current.version, summary, diff };
  }

  /** Makes a new version whose content is that of `version`. */
  rollback(version: number, actor: string): ApplyOutcome {
    const target = this.store.get(version);
    if (!target || version === 0) return { ok: false, reason: "not_found", message: `no config version ${version}` };
    // Re-validate: an old version must still satisfy today's schema before it serves traffic again.
    const validation = validateDocuments(target.documents);
    if (!validation.ok) return { ok: false, reason: "invalid_config", issues: validation.issues };
    const current = this.store.current();
    const diff = diffDocumentSets(current.documents, target.documents);
    const summary = `rollback to version ${version}: ${summarizeDiff(diff)}`;
    const created = this.commit(target.documents, { actor, source: "rollback", rollbackOf: version, summary });
    return { ok: true, dryRun: false, changed: true, version: created, previousVersion: current.version, summary, diff };
  }

  history(limit = 100): VersionRecord[] {
    return this.store.history(clampLimit(limit));
  }

  auditLog(limit = 100): AuditEntry[] {
    return this.audit.list(clampLimit(limit));
  }

  services(): RegistryView {
    const current = this.store.current();
    const validation = validateDocuments(current.documents);
    if (!validation.ok) return { version: current.version, services: [] };
    return buildRegistry(validation.value, current.version);
  }

  /** Public signing keys (prepared, active, retired). Creates the first key on a fresh mesh. */
  async jwks(): Promise<{ keys: PublicJwk[] }> {
    await this.advanceKeys();
    return this.keys.jwks();
  }

  /** Key states for operators; never key material. */
  async listKeys(): Promise<KeyView[]> {
    await this.advanceKeys();
    return this.keys.list();
  }

  /** Rotates now: the prepared key (or a new one) signs from now on; the old one retires. */
  async rotateKeys(actor: string): Promise<KeyView[]> {
    await this.advanceKeys(true);
    const active = this.keys.list().find((key) => key.state === "active");
    this.audit.record({ at: new Date().toISOString(), actor, action: "rotate-keys", version: this.store.currentVersion(), summary: `rotated signing keys; active key ${active?.kid ?? "none"}` });
    return this.keys.list();
  }

  /** Rotation on schedule. Alarms are at-least-once: advancing twice at one instant changes nothing. */
  override async alarm(): Promise<void> {
    await this.advanceKeys();
  }

  /** A bootstrap credential for `service`, shown once; only its hash is kept. */
  async createCredential(service: string, actor: string): Promise<{ ok: true; id: string; service: string; credential: string } | { ok: false; message: string }> {
    if (!this.findService(service)) return { ok: false, message: `no service named "${service}" in config version ${this.store.currentVersion()}` };
    const { view, credential } = await this.credentials.create(service, actor, Date.now());
    this.audit.record({ at: view.createdAt, actor, action: "create-credential", version: this.store.currentVersion(), summary: `created credential ${view.id} for ${service}` });
    return { ok: true, id: view.id, service, credential };
  }

  revokeCredential(id: string, actor: string): CredentialView | null {
    const view = this.credentials.revoke(id, Date.now());
    if (!view) return null;
    this.audit.record({ at: new Date().toISOString(), actor, action: "revoke-credential", version: this.store.currentVersion(), summary: `revoked credential ${id} of ${view.service}` });
    return view;
  }

  listCredentials(): CredentialView[] {
    return this.credentials.list();
  }

  /** `POST /.weft/token`: a valid, unrevoked credential of a configured service → its SVID. */
  async exchangeCredential(credential: string): Promise<({ ok: true } & IssuedToken) | { ok: false; reason: string }> {
    const check = await this.credentials.check(credential);
    if (!check.ok) return { ok: false, reason: check.reason };
    const issued = await this.issue(check.service, this.currentMesh().spec.identity.tokenTTL);
    return issued ? { ok: true, ...issued } : { ok: false, reason: "service no longer configured" };
  }

  /** An SVID minted for debugging and tests (admin only), audited. */
  async mintToken(service: string, ttlSeconds: number | undefined, actor: string): Promise<({ ok: true } & IssuedToken) | { ok: false; message: string }> {
    const ttlMs = ttlSeconds === undefined ? this.currentMesh().spec.identity.tokenTTL : ttlSeconds * 1000;
    if ((ttlSeconds !== undefined && !Number.isInteger(ttlSeconds)) || ttlMs < 1000 || ttlMs > CONFIG_DEFAULTS.maxTokenTTLms) return { ok: false, message: "ttlSeconds must be a whole number from 1 to 900" };
    const issued = await this.issue(service, ttlMs);
    if (!issued) return { ok: false, message: `no service named "${service}" in config version ${this.store.currentVersion()}` };
    this.audit.record({ at: new Date().toISOString(), actor, action: "mint-token", version: this.store.currentVersion(), summary: `minted a ${ttlMs / 1000}s token for ${service}` });
    return { ok: true, ...issued };
  }

  /**
   * A hop token for `caller` (a SPIFFE ID the gateway verified) calling `destination`. Gateways
   * cache these per caller→destination pair and renew them in the background.
   */
  async mintHopToken(caller: string, destination: string): Promise<IssuedToken | null> {
    const found = this.findService(destination);
    if (!found || !caller.startsWith(`spiffe://${found.mesh.spec.trustDomain}/`)) return null;
    await this.advanceKeys();
    const signer = await this.keys.activeSigner();
    if (!signer) throw new Error("no active signing key");
    return signHopToken({ signer, mesh: found.mesh, caller, destination: spiffeId(found.mesh, found.namespace, destination), now: Date.now() });
  }

  private async issue(service: string, ttlMs: number): Promise<IssuedToken | undefined> {
    const found = this.findService(service);
    if (!found) return undefined;
    await this.advanceKeys();
    const signer = await this.keys.activeSigner();
    if (!signer) throw new Error("no active signing key");
    return signSvid({ signer, mesh: found.mesh, namespace: found.namespace, service, audience: GATEWAY_AUDIENCE, ttlMs, now: Date.now() });
  }

  private findService(service: string): { mesh: MeshDoc; namespace: string } | undefined {
    const validation = validateDocuments(this.store.current().documents);
    if (!validation.ok) return undefined;
    const doc = validation.value.services.find((candidate) => candidate.metadata.name === service);
    return doc ? { mesh: validation.value.mesh, namespace: doc.metadata.namespace } : undefined;
  }

  private async advanceKeys(rotateNow = false): Promise<void> {
    const plan = await this.keys.advance(Date.now(), rotationPolicy(this.currentMesh()), rotateNow);
    const scheduled = await this.ctx.storage.getAlarm();
    if (scheduled === null || scheduled > plan.nextAt || plan.actions.length > 0) await this.ctx.storage.setAlarm(plan.nextAt);
  }

  private currentMesh(): MeshDoc {
    const validation = validateDocuments(this.store.current().documents);
    return validation.ok ? validation.value.mesh : defaultMesh();
  }

  /** One transaction: the version and its audit entry are stored together or not at all. */
  private commit(documents: readonly unknown[], record: Omit<VersionRecord, "version" | "createdAt">): number {
    const createdAt = new Date().toISOString();
    return this.ctx.storage.transactionSync(() => {
      const version = this.store.append({ ...record, createdAt }, documents);
      this.audit.record({ at: createdAt, actor: record.actor, action: record.source, version, summary: record.summary });
      return version;
    });
  }
}

function clampLimit(limit: number): number {
  return Number.isInteger(limit) && limit > 0 ? Math.min(limit, MAX_LIST) : 100;
}
