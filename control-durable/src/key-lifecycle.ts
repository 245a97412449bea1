/**
 * Signing-key rotation as a pure plan (SPIRE's phases, docs/architecture.md#signing-keys): a key is published before it
 * signs (prepared), signs while active, stays published after it stops signing (retired) until
 * every token it signed has expired plus clock skew, then is removed. The Durable Object executes
 * the plan from its alarm; planning again at the same instant yields no actions, so an alarm that
 * fires twice does nothing twice.
 *
 * A key signs only once every verifier can have fetched it: on schedule it has been published for
 * a quarter of the rotation period; an on-demand rotation hands it signing at once when it has been
 * published for the publish lead (or since the mesh's first key), and otherwise when it has.
 */
export type KeyState = "prepared" | "active" | "retired";

export interface KeyRecord {
  readonly kid: string;
  readonly state: KeyState;
  readonly createdAt: number;
  readonly activatedAt: number | null;
  readonly retiredAt: number | null;
  /** When a retired key leaves the JWKS. */
  readonly removeAfter: number | null;
  /** When an operator's rotation hands this prepared key signing (null: on schedule only). */
  readonly activateAt: number | null;
}

export interface RotationPolicy {
  /** How long a key signs before the next one takes over. */
  readonly rotationMs: number;
  /** How long a new key is published before it signs (gateways fetch it meanwhile). */
  readonly prepareLeadMs: number;
  /** Longest token lifetime plus clock skew: how long a retired key stays published. */
  readonly retireGraceMs: number;
  /** How long a key is published before an on-demand rotation may hand it signing (every verifier can have it by then). */
  readonly publishLeadMs: number;
}

export type KeyAction =
  | { readonly type: "generate"; readonly state: "prepared" | "active"; readonly activateAt?: number }
  | { readonly type: "schedule"; readonly kid: string; readonly at: number }
  | { readonly type: "activate"; readonly kid: string }
  | { readonly type: "retire"; readonly kid: string; readonly removeAfter: number }
  | { readonly type: "remove"; readonly kid: string };

export interface KeyPlan {
  readonly actions: readonly KeyAction[];
  /** When to plan again (the next transition that time alone will bring). */
  readonly nextAt: number;
}

export function planKeys(keys: readonly KeyRecord[], now: number, policy: RotationPolicy, rotateNow = false): KeyPlan {
  const actions: KeyAction[] = [];
  const upcoming: number[] = [];

  for (const key of keys) {
    if (key.state !== "retired" || key.removeAfter === null) continue;
    if (key.removeAfter <= now) actions.push({ type: "remove", kid: key.kid });
    else upcoming.push(key.removeAfter);
  }

  const active = keys.find((key) => key.state === "active");
  const prepared = keys.filter((key) => key.state === "prepared").sort((a, b) => a.createdAt - b.createdAt)[0];
  const retire = (kid: string) => {
    actions.push({ type: "retire", kid, removeAfter: now + policy.retireGraceMs });
    upcoming.push(now + policy.retireGraceMs);
  };

  // A published, not-yet-signing key is always kept ready, so a rotation (scheduled or on demand)
  // hands signing to a key every verifier has had time to fetch.
  const keepOneReady = () => actions.push({ type: "generate", state: "prepared" });

  if (!active) {
    // Nothing signs: take the prepared key at once, or make one (a fresh mesh has issued no tokens).
    if (prepared) actions.push({ type: "activate", kid: prepared.kid });
    else actions.push({ type: "generate", state: "active" });
    keepOneReady();
    upcoming.push(now + policy.rotationMs);
    return { actions, nextAt: Math.min(...upcoming) };
  }

  const due = (active.activatedAt ?? active.createdAt) + policy.rotationMs;
  if (!prepared) {
    if (rotateNow) {
      // No key was ready (a mesh from before prepared keys): publish one, to sign once verifiers can have it.
      const at = now + policy.publishLeadMs;
      actions.push({ type: "generate", state: "prepared", activateAt: at });
      upcoming.push(at);
    } else {
      keepOneReady();
      upcoming.push(Math.max(due, now + policy.prepareLeadMs));
    }
  } else {
    const scheduled = Math.max(due, prepared.createdAt + policy.prepareLeadMs);
    // Keys made together with the signing one were in every key set any verifier ever fetched.
    const publishedEnough = prepared.createdAt <= active.createdAt ? prepared.createdAt : prepared.createdAt + policy.publishLeadMs;
    const requested = rotateNow ? Math.min(Math.max(now, publishedEnough), prepared.activateAt ?? Number.POSITIVE_INFINITY) : prepared.activateAt;
    const ready = requested === null ? scheduled : Math.min(scheduled, requested);
    if (now >= ready) {
      actions.push({ type: "activate", kid: prepared.kid });
      retire(active.kid);
      keepOneReady();
      upcoming.push(now + policy.rotationMs);
    } else {
      if (requested !== null && requested !== prepared.activateAt) actions.push({ type: "schedule", kid: prepared.kid, at: requested });
      upcoming.push(ready);
    }
  }
  return { actions, nextAt: Math.min(...upcoming) };
}

/** Applies a plan to records in memory: what the store does, for tests and simulations. */
export function applyPlan(keys: readonly KeyRecord[], plan: KeyPlan, now: number, newKid: () => string): KeyRecord[] {
  let next = [...keys];
  for (const action of plan.actions) {
    switch (action.type) {
      case "generate":
        next.push({ kid: newKid(), state: action.state, createdAt: now, activatedAt: action.state === "active" ? now : null, retiredAt: null, removeAfter: null, activateAt: action.activateAt ?? null });
        break;
      case "schedule":
        next = next.map((key) => (key.kid === action.kid ? { ...key, activateAt: action.at } : key));
        break;
      case "activate":
        next = next.map((key) => (key.kid === action.kid ? { ...key, state: "active", activatedAt: now, activateAt: null } : key));
        break;
      case "retire":
        next = next.map((key) => (key.kid === action.kid ? { ...key, state: "retired", retiredAt: now, removeAfter: action.removeAfter } : key));
        break;
      case "remove":
        next = next.filter((key) => key.kid !== action.kid);
        break;
    }
  }
  return next;
}
