/**
 * A validated config set, by kind. Built by validation from raw documents and by the gateway from
 * their normalized form, so both get the same set; no zod here (the gateway bundles this).
 */
import type { AuthorizationPolicyDoc, ConfigDoc, MeshDoc, RolloutDoc, RouteDoc, ServiceDoc } from "./schema.js";

export interface ValidConfigSet {
  mesh: MeshDoc;
  services: ServiceDoc[];
  routes: RouteDoc[];
  policies: AuthorizationPolicyDoc[];
  rollouts: RolloutDoc[];
  /** Every document in submission order. */
  documents: ConfigDoc[];
}

/** The set of `docs` (in order), with `mesh` as its Mesh document. */
export function configSetOf(mesh: MeshDoc, docs: ConfigDoc[]): ValidConfigSet {
  return {
    mesh,
    services: docs.filter((d): d is ServiceDoc => d.kind === "Service"),
    routes: docs.filter((d): d is RouteDoc => d.kind === "Route"),
    policies: docs.filter((d): d is AuthorizationPolicyDoc => d.kind === "AuthorizationPolicy"),
    rollouts: docs.filter((d): d is RolloutDoc => d.kind === "Rollout"),
    documents: docs,
  };
}
