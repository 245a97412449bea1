/**
 * The control plane Durable Object: a thin RPC surface over the config store, the registry and
 * the audit log. One instance (named "control") holds the mesh's truth; gateways pull versioned
 * snapshots from it in the background and never call it on the request path.
 */
import { DurableObject } from "cloudflare:workers";
import { CLOCK_SKEW_SECONDS } from "@weft/sdk";
import { CONFIG_DEFAULTS, defaultMesh, type MeshDoc, type ValidConfigSet } from "@weft/sdk/config";
import { endpointBindings, readConfigInput } from "./config-input.js";
import { AuditLog } from "./audit.js";
import { ConfigStore } from "./config-store.js";
import { jsonRoundTripInSlices, nextTurn } from "./slices.js";
import { diffDocumentSets, isEmptyDiff, summarizeDiff } from "./diff.js";
import type { RotationPolicy } from "./key-lifecycle.js";
import { KeyStore, type KeyView, type PublicJwk } from "./keys.js";
import { KEY_PUBLISH_LEAD_MS } from "../../wire/src/keys.js";
import { CredentialStore, type CredentialView } from "./credentials.js";
import { GATEWAY_AUDIENCE, signHopToken, signSvid, spiffeId, type IssuedToken } from "./tokens.js";
import { migrate } from "./migrations.js";
import { buildRegistry } from "./registry.js";
import type { ApplyOutcome, AuditEntry, ConfigInput, EndpointBinding, RegistryView, VersionRecord } from "./types.js";
import type { SnapshotAnswer, SnapshotPayload, SnapshotText } from "../../wire/src/snapshot.js";
import type { RolloutCommandName, RolloutView } from "../../wire/src/rollouts.js";
import { rolloutView } from "./rollouts/view.js";
import { RolloutEngine, type CanaryRouting, type RolloutRecord } from "./rollouts/engine.js";
import { SqlRolloutStore } from "./rollouts/sql-store.js";
import { intervalMetricsOf, servicesChanged, telemetryWindowMs, type StoredDocument, type SubsetTelemetry } from "./rollouts/inputs.js";
import { documentsAtWeight } from "./rollouts/weights.js";
import type { IntervalMetrics } from "./rollouts/decide-step.js";
import type { CommandResult, RolloutCommand } from "./rollouts/commands.js";

/** The telemetry objects, as the rollout engine reads them (one per destination service). */
interface TelemetryReader {
  query(request: { windowMs: number; now: number; service: string }): Promise<SubsetTelemetry>;
}

/** What the control plane's object reads from its Worker's env. */
interface ControlEnv {
  /** The telemetry objects (absent: rollouts see no traffic, so they never advance). */
  TELEMETRY?: { idFromName(name: string): DurableObjectId; get(id: DurableObjectId): TelemetryReader };
}


/**
 * An apply's outcome. An accepted set's endpoint bindings ride along (with their YAML lines), so
 * the admin API can check them against its gateway's env without parsing or validating anything.
 */
export type ApplyConfigOutcome = Exclude<ApplyOutcome, { ok: true }> | (Extract<ApplyOutcome, { ok: true }> & { bindings: EndpointBinding[] });

export { CONTROL_PLANE_NAME } from "../../wire/src/names.js";

export interface ApplyOptions {
  /** Who made the change, as the admin surface authenticated it. */
  actor: string;
  /** Validate and diff only; store nothing. */
  dryRun?: boolean;
  /** The version's summary in history, instead of one made from the diff (rollouts say their step). */
  summary?: string;
}

const MAX_LIST = 500;
/** Clock skew tolerated on token times (RFC 8725 practice; docs/architecture.md#token-rules). */
export const CLOCK_SKEW_MS = CLOCK_SKEW_SECONDS * 1000;

/**
 * Rotation timing from the Mesh document: a new key is published well before it signs on schedule,
 * and at least long enough for every verifier to have it before an on-demand rotation hands it signing.
 */
export function rotationPolicy(mesh: MeshDoc): RotationPolicy {
  const rotationMs = mesh.spec.identity.keyRotation;
  return {
    rotationMs,
    prepareLeadMs: Math.min(60 * 60_000, Math.floor(rotationMs / 4)),
    retireGraceMs: CONFIG_DEFAULTS.maxTokenTTLms + CLOCK_SKEW_MS,
    publishLeadMs: KEY_PUBLISH_LEAD_MS,
  };
}

export class ControlPlane extends DurableObject {
  private readonly store: ConfigStore;
  private readonly audit: AuditLog;
  private readonly keys: KeyStore;
  private readonly credentials: CredentialStore;
  private readonly rollouts: RolloutEngine;
  private readonly telemetry: ControlEnv["TELEMETRY"];
  /** The end of the last queued apply or rollback: they pause between slices, so they queue here. */
  private writes: Promise<unknown> = Promise.resolve();

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env as never);
    this.store = new ConfigStore(ctx.storage.sql);
    this.audit = new AuditLog(ctx.storage.sql);
    this.keys = new KeyStore(ctx.storage.sql, (work) => ctx.storage.transactionSync(work));
    this.credentials = new CredentialStore(ctx.storage.sql);
    this.telemetry = (env as ControlEnv | undefined)?.TELEMETRY;
    this.rollouts = new RolloutEngine(
      {
        store: new SqlRolloutStore(ctx.storage.sql),
        metrics: (spec, windowMs, now) => this.subsetMetrics(spec.target, spec.stable, spec.canary, windowMs, now),
        writeWeight: (spec, routing, actor, summary) => this.writeRolloutWeight(spec, routing, actor, summary),
      },
      Date.now,
    );
    void ctx.blockConcurrencyWhile(async () => migrate(ctx.storage.sql));
  }

  /** Conditional pull: answers `changed: false` when the gateway already holds the current version. */
  getSnapshot(knownVersion: number | null = null): SnapshotAnswer {
    const version = this.store.currentVersion();
    if (knownVersion === version) return { changed: false, version };
    // Normalized form included: gateways compile it without validating the set again.
    return { changed: true, snapshot: this.store.currentConfig().payload };
  }

  /** The current set, or a given version of it, as applied (raw documents). */
  getConfig(version?: number): SnapshotPayload | null {
    if (version !== undefined) return this.store.get(version) ?? null;
    const { normalized: _normalized, ...raw } = this.store.currentConfig().payload;
    return raw;
  }

  /**
   * The current version's normalized documents as JSON text, for a gateway installing what it
   * just applied: strings to receive and parse a slice at a time, not an object graph to
   * deserialize in one turn.
   */
  snapshotText(): Promise<SnapshotText> {
    return this.store.snapshotText(nextTurn);
  }

  /**
   * Parses `input` (the admin API passes a body's text and format on as they came), validates it
   * as a whole set and, unless dry-run, stores it as a new version. This is the apply's one
   * validation: the control plane is the source of truth and its RPC may be reached by callers
   * other than the admin API, so it trusts no one else's check; what it validated becomes the
   * version's cached config, and gateways compile its normalized form. Issues carry the line
   * they point at when the input was YAML.
   *
   * In slices (docs/architecture.md#config-distribution-and-refresh): a 10,000-rule set takes
   * ~150 ms to validate, and the object's other callers are served between its slices. Applies
   * and rollbacks run one at a time, each against the version the one before it left.
   */
  applyConfig(input: ConfigInput, options: ApplyOptions): Promise<ApplyConfigOutcome> {
    return this.queued(() => this.apply(input, options));
  }

  private async apply(input: ConfigInput, options: ApplyOptions): Promise<ApplyConfigOutcome> {
    const parsed = await readConfigInput(input, nextTurn);
    if (!parsed.ok) return { ok: false, reason: "invalid_config", issues: parsed.issues };
    await nextTurn();
    const { documents, locate } = parsed.value;
    // Validate exactly what is stored (JSON): RPC input may hold values JSON drops or changes.
    let text: string;
    let stored: unknown[];
    try {
      if (!Array.isArray(documents)) throw new TypeError("not an array");
      ({ text, values: stored } = await jsonRoundTripInSlices(documents, nextTurn));
    } catch {
      return { ok: false, reason: "invalid_config", issues: [{ document: 1, path: "", message: "the documents must be an array of JSON values" }] };
    }
    let validation = await this.store.validateInSlices(stored, "apply", locate, nextTurn);
    if (!validation.ok) return { ok: false, reason: "invalid_config", issues: validation.issues };
    // Running rollouts keep the weights they set (docs/rollouts.md#who-owns-the-weights): applying
    // the same file again, as GitOps tools do, changes nothing and pauses nothing.
    const owned = this.withRolloutWeights(stored as StoredDocument[], validation.value, options.actor);
    if (owned) {
      ({ text, values: stored } = await jsonRoundTripInSlices(owned, nextTurn));
      validation = await this.store.validateInSlices(stored, "apply", locate, nextTurn);
      if (!validation.ok) return { ok: false, reason: "invalid_config", issues: validation.issues };
    }
    const current = (await this.store.currentConfigInSlices(nextTurn)).payload;
    const diff = diffDocumentSets(current.documents, stored);
    const summary = summarizeDiff(diff);
    const accepted = validation.value;
    const bindings = endpointBindings(accepted, locate);
    if (options.dryRun || isEmptyDiff(diff)) {
      return { ok: true, dryRun: options.dryRun === true, changed: !isEmptyDiff(diff), version: current.version, previousVersion: current.version, summary, diff, bindings };
    }
    await nextTurn();
    const version = this.commit(text, stored, accepted, { actor: options.actor, source: "apply", rollbackOf: null, summary: options.summary ?? summary });
    await this.afterCommit(current.documents, stored, accepted, options.actor);
    return { ok: true, dryRun: false, changed: true, version, previousVersion: current.version, summary: options.summary ?? summary, diff, bindings };
  }

  /** Makes a new version whose content is that of `version`; queued with applies. */
  rollback(version: number, actor: string): Promise<ApplyOutcome> {
    return this.queued(() => this.rollbackNow(version, actor));
  }

  private async rollbackNow(version: number, actor: string): Promise<ApplyOutcome> {
    const target = this.store.get(version);
    if (!target || version === 0) return { ok: false, reason: "not_found", message: `no config version ${version}` };
    // Re-validate: an old version must still satisfy today's schema before it serves traffic again.
    // Counted apart from applies; its result becomes the new version's cached config.
    const validation = await this.store.validateInSlices(target.documents, "rollback", undefined, nextTurn);
    if (!validation.ok) return { ok: false, reason: "invalid_config", issues: validation.issues };
    const current = (await this.store.currentConfigInSlices(nextTurn)).payload;
    const diff = diffDocumentSets(current.documents, target.documents);
    const summary = `rollback to version ${version}: ${summarizeDiff(diff)}`;
    await nextTurn();
    const created = this.commit(JSON.stringify(target.documents), target.documents, validation.value, { actor, source: "rollback", rollbackOf: version, summary });
    await this.afterCommit(current.documents, target.documents, validation.value, actor);
    return { ok: true, dryRun: false, changed: true, version: created, previousVersion: current.version, summary, diff };
  }

  /** Runs `work` after every apply and rollback queued before it, whatever their outcome. */
  private queued<T>(work: () => Promise<T>): Promise<T> {
    const run = this.writes.then(work, work);
    this.writes = run.catch(() => undefined);
    return run;
  }

  history(limit = 100): VersionRecord[] {
    return this.store.history(clampLimit(limit));
  }

  auditLog(limit = 100): AuditEntry[] {
    return this.audit.list(clampLimit(limit));
  }

  services(): RegistryView {
    const { payload, set } = this.store.currentConfig();
    return set ? buildRegistry(set, payload.version) : { version: payload.version, services: [] };
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

  /**
   * Rotates now: the prepared key signs from now on and the old one retires; or, when the prepared
   * key was published too recently for every verifier to have it, from when it has been (its
   * `activateAt`, on the alarm).
   */
  async rotateKeys(actor: string): Promise<KeyView[]> {
    await this.advanceKeys(true);
    const keys = this.keys.list();
    const active = keys.find((key) => key.state === "active");
    const pending = keys.find((key) => key.state === "prepared" && key.activateAt !== null);
    const summary = pending ? `rotation scheduled: key ${pending.kid} signs from ${pending.activateAt}` : `rotated signing keys; active key ${active?.kid ?? "none"}`;
    this.audit.record({ at: new Date().toISOString(), actor, action: "rotate-keys", version: this.store.currentVersion(), summary });
    return keys;
  }

  /**
   * Rotation and rollouts on schedule, on the object's one alarm (set to whichever is due first).
   * Alarms are at-least-once: advancing keys twice at one instant changes nothing, and a rollout
   * decides only when its next check is due.
   */
  override async alarm(): Promise<void> {
    await this.advanceKeys();
    await this.rollouts.tick();
    await this.scheduleRollouts();
  }

  /** Every rollout of the current config: plan, phase, weights, recent checks (docs/rollouts.md). */
  rolloutStatus(): RolloutView[] {
    return this.rollouts.list().map(rolloutView);
  }

  /** `weft rollout pause|resume|promote|abort <name>`: carried out, or refused with the reason. */
  async rolloutCommand(name: string, command: RolloutCommandName, actor: string): Promise<CommandResult> {
    const result = await this.rollouts.command(name, operatorCommand(command, actor));
    if (result.ok) {
      this.audit.record({ at: new Date().toISOString(), actor, action: `rollout-${command}`, version: this.store.currentVersion(), summary: `${command} rollout ${name}` });
      await this.scheduleRollouts();
    }
    return result;
  }

  /** After a version is stored: rollouts start, stop, start over or pause, and the alarm follows them. */
  private async afterCommit(before: readonly unknown[], after: readonly unknown[], set: ValidConfigSet, actor: string): Promise<void> {
    const touched = servicesChanged(before as StoredDocument[], after as StoredDocument[]);
    this.rollouts.reconcile(set.rollouts.map((doc) => ({ name: doc.metadata.name, spec: doc.spec })), touched, actor);
    await this.scheduleRollouts();
  }

  /** Brings the alarm forward to the next rollout check when that comes before what is scheduled. */
  private async scheduleRollouts(): Promise<void> {
    const due = this.rollouts.nextDueAt();
    if (due === undefined) return;
    const scheduled = await this.ctx.storage.getAlarm();
    if (scheduled === null || scheduled > due) await this.ctx.storage.setAlarm(due);
  }

  /** The canary's and stable's golden metrics from the target's telemetry object. */
  private async subsetMetrics(target: string, stable: string, canary: string, windowMs: number, now: number): Promise<IntervalMetrics> {
    const telemetry = this.telemetry;
    if (!telemetry) return intervalMetricsOf({ bySubset: [] }, stable, canary);
    const view = await telemetry.get(telemetry.idFromName(target)).query({ windowMs: telemetryWindowMs(now, windowMs), now, service: target });
    return intervalMetricsOf(view, stable, canary);
  }

  /**
   * The documents with each owning rollout's weights on its target's routes, or undefined when that
   * changes nothing. A rollout owns them from its first step while its document stays as it is.
   */
  private withRolloutWeights(documents: StoredDocument[], set: ValidConfigSet, actor: string): StoredDocument[] | undefined {
    if (set.rollouts.length === 0) return undefined;
    let next = documents;
    for (const { spec, routing } of this.rollouts.weightsOwned(set.rollouts.map((doc) => ({ name: doc.metadata.name, spec: doc.spec })), actor)) {
      next = documentsAtWeight(next, spec, routing);
    }
    return next !== documents && JSON.stringify(next) !== JSON.stringify(documents) ? next : undefined;
  }

  /** Applies the current documents with the target's routes at the canary's weight (and copies), as the rollout. */
  private async writeRolloutWeight(spec: RolloutRecord["spec"], routing: CanaryRouting, actor: string, summary: string): Promise<void> {
    const documents = this.store.currentConfig().payload.documents as StoredDocument[];
    const outcome = await this.applyConfig(documentsAtWeight(documents, spec, routing), { actor, summary });
    if (!outcome.ok) throw new Error(`rollout could not store its weights: ${outcome.reason}${"issues" in outcome ? ` ${JSON.stringify(outcome.issues)}` : ""}`);
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
    const { set, namespaces } = this.store.currentConfig();
    const namespace = namespaces.get(service);
    return set && namespace !== undefined ? { mesh: set.mesh, namespace } : undefined;
  }

  /**
   * The key schedule's clock: when keys are created, activated, retired and removed, and when the
   * next transition is due. Tokens are signed with the wall clock whatever this says (verifiers
   * check iat and exp against theirs). A test subclass moves it to show a scheduled rotation and a
   * retirement without waiting hours (docs/reliability.md#key-rotation-under-traffic).
   */
  protected keyScheduleNow(): number {
    return Date.now();
  }

  private async advanceKeys(rotateNow = false): Promise<void> {
    const plan = await this.keys.advance(this.keyScheduleNow(), rotationPolicy(this.currentMesh()), rotateNow);
    const scheduled = await this.ctx.storage.getAlarm();
    if (scheduled === null || scheduled > plan.nextAt || plan.actions.length > 0) await this.ctx.storage.setAlarm(plan.nextAt);
  }

  private currentMesh(): MeshDoc {
    return this.store.currentConfig().set?.mesh ?? defaultMesh();
  }

  /**
   * One transaction: the version and its audit entry are stored together or not at all. Only
   * once it committed does `set` become the cached config of the new version.
   */
  private commit(text: string, documents: unknown[], set: ValidConfigSet, record: Omit<VersionRecord, "version" | "createdAt">): number {
    const createdAt = new Date().toISOString();
    const version = this.ctx.storage.transactionSync(() => {
      const created = this.store.append({ ...record, createdAt }, text);
      this.audit.record({ at: createdAt, actor: record.actor, action: record.source, version: created, summary: record.summary });
      return created;
    });
    this.store.remember(version, createdAt, documents, set);
    return version;
  }

  /** Whole-set validations since this object started, by reason (apply, rollback, first read of a version). */
  validationCounts(): Record<"apply" | "rollback" | "load", number> {
    return { ...this.store.validations };
  }
}

/** An operator's command as the engine takes it: a pause or an abort says who gave it. */
function operatorCommand(command: RolloutCommandName, actor: string): RolloutCommand {
  if (command === "pause") return { kind: "pause", reason: `paused by ${actor}` };
  if (command === "abort") return { kind: "abort", reason: `aborted by ${actor}` };
  return { kind: command };
}

function clampLimit(limit: number): number {
  return Number.isInteger(limit) && limit > 0 ? Math.min(limit, MAX_LIST) : 100;
}
