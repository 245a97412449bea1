/**
 * How fast a new signing key reaches every verifier, which both Workers must agree on: the gateway
 * serves functions its copy of the JWKS, and the control plane lets a new key sign only once every
 * verifier can have it (docs/architecture.md#signing-keys).
 */
import { JWKS_REFETCH_COOLDOWN_SECONDS } from "@weft/sdk";

/** How long a gateway isolate serves functions its copy of the JWKS before asking the control plane again. */
export const JWKS_COPY_TTL_MS = 30_000;

/**
 * How long a key is published before an on-demand rotation may hand it signing. A verifier whose
 * key set predates the key learns it on the key's first token by refetching, which it may do at
 * most once per JWKS_REFETCH_COOLDOWN_SECONDS; functions refetch through the gateway's copy, up to
 * JWKS_COPY_TTL_MS old. A verifier that fetched just before the key existed can therefore refetch
 * only a cooldown later, and gets a copy with the key only a copy lifetime after the key was made.
 * The gateway's own cache reads the control plane directly and needs no more than the cooldown.
 */
export const KEY_PUBLISH_LEAD_MS = JWKS_COPY_TTL_MS + JWKS_REFETCH_COOLDOWN_SECONDS * 1000;
