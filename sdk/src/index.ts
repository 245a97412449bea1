/**
 * @weft/sdk — what weft functions import.
 *
 * @example
 * import { createMeshClient, MeshError } from "@weft/sdk";
 * const mesh = createMeshClient(env.WEFT);
 * const res = await mesh.fetch("orders", "/orders/42");
 */
export { createMeshClient, meshClient, meshUrl, MESH_HOST_SUFFIX, type IsolateMeshClientOptions, type MeshBinding, type MeshClient, type MeshClientOptions } from "./client.js";
export { propagationHeaders, PROPAGATED_HEADERS } from "./propagation.js";
/**
 * Deadline propagation: the time budget the mesh gave a request (`x-weft-deadline-ms`), in this
 * function's clock; `propagationHeaders(request)` sends what is left on to peer calls.
 * @example
 * const left = remainingBudgetMs(c.req.raw); // undefined when the mesh gave no budget
 */
export { DEADLINE_HEADER, inboundDeadline, parseDeadlineHeader, remainingBudgetMs } from "./deadline.js";
export { ServiceToken, type ServiceTokenOptions } from "./service-token.js";
/**
 * Automatic propagation: inside `runWithInbound` (which `weftIdentity` and `withWeftContext` set
 * up), mesh calls inherit the inbound request's trace context, request id and remaining budget.
 * Needs AsyncLocalStorage (workerd: the `nodejs_compat` compatibility flag); without it, calls
 * simply go without, as before.
 * @example
 * export default { fetch: withWeftContext(router.fetch) };
 */
export { currentInbound, inboundPropagationAvailable, runWithInbound, withWeftContext, type InboundContext } from "./context.js";
/** The Hono middleware `weftIdentity` lives in `@weft/sdk/hono`, so only Hono apps need Hono. */
export { verifyInbound, withWeftIdentity, IDENTITY_HEADER, type InboundCaller, type InboundOptions } from "./inbound.js";
/**
 * Names and identities as the mesh reads them: the service-name rule, SPIFFE IDs and the clock
 * skew token checks tolerate.
 * @example
 * formatSpiffeId({ trustDomain: "shop.weft", namespace: "default", service: "orders" });
 */
export {
  CLOCK_SKEW_SECONDS,
  JWKS_REFETCH_COOLDOWN_SECONDS,
  HTTP_TOKEN,
  WORKER_NAME,
  formatSpiffeId,
  identityInTrustDomain,
  isServiceName,
  NAME_MAX_LENGTH,
  NAME_PATTERN,
  parseSpiffeId,
  type MeshIdentity,
  type SpiffeIdentity,
} from "./identity.js";
export { isRecord } from "./is-record.js";
export {
  MeshError,
  MESH_ERROR_STATUS,
  MESH_ERROR_HEADER,
  isMeshErrorCode,
  meshErrorFromResponse,
  type MeshErrorCode,
  type MeshErrorBody,
  type ConfigIssue,
} from "./errors.js";
