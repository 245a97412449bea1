/** Shapes the control plane returns over RPC and the admin API passes on as JSON. */
import type { ConfigIssue } from "@weft/sdk";

export interface DocumentRef {
  kind: string;
  name: string;
}

export interface DocumentChange extends DocumentRef {
  /** Field paths whose values differ, e.g. `spec.http[1].destinations[0].weight`. */
  fields: string[];
}

export interface ConfigDiff {
  added: DocumentRef[];
  removed: DocumentRef[];
  changed: DocumentChange[];
  unchanged: number;
}

export interface VersionRecord {
  version: number;
  createdAt: string;
  actor: string;
  /** How the version came to be: an apply, or a rollback to an older version's content. */
  source: "apply" | "rollback";
  rollbackOf: number | null;
  summary: string;
}

export const AUDIT_ACTIONS = ["apply", "rollback", "rotate-keys", "create-credential", "revoke-credential", "mint-token", "rollout-pause", "rollout-resume", "rollout-promote", "rollout-abort"] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: AuditAction;
  /** Config version in force when the change was made. */
  version: number;
  summary: string;
}

/**
 * What an apply takes: the admin API passes the body's text and format on unparsed (the control
 * Worker parses it); other RPC callers may pass documents as they are.
 */
export type ConfigInput = { format: "yaml" | "json"; text: string } | unknown[];

/** An endpoint's service binding in an accepted set, and where it is written. */
export interface EndpointBinding {
  /** 1-based, as in issues. */
  document: number;
  service: string;
  subset: string;
  /** e.g. `spec.subsets[1].endpoints[0].binding` */
  path: string;
  binding: string;
  /** Its line in the uploaded YAML. */
  line?: number;
}

export type ApplyOutcome =
  | {
      ok: true;
      dryRun: boolean;
      /** False when the submitted set equals the current one: no version is created. */
      changed: boolean;
      version: number;
      previousVersion: number;
      summary: string;
      diff: ConfigDiff;
    }
  | { ok: false; reason: "invalid_config"; issues: ConfigIssue[] }
  | { ok: false; reason: "not_found"; message: string };

export interface RegistryEndpoint {
  id: string;
  binding?: string;
  url?: string;
  locality?: string;
  weight: number;
}

export interface RegistryService {
  name: string;
  namespace: string;
  subsets: { name: string; endpoints: RegistryEndpoint[] }[];
  /** Hosts and routes that send traffic to this service. */
  routes: { route: string; hosts: string[] }[];
  loadBalancer: string;
}

export interface RegistryView {
  version: number;
  services: RegistryService[];
}
