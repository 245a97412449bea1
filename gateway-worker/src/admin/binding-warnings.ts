/**
 * Endpoints whose service binding the gateway does not have. Such a config applies (a fleet may
 * be mid-deploy, and the binding may come with the next gateway deploy), but every request sent
 * there would be answered 503, so apply and dry-run say so next to the result, with the field and
 * line, and `weft validate --gateway` refuses it offline. The gateway is the one to ask: it knows
 * its own env. The control Worker lists the accepted set's endpoint bindings, lines included.
 */
import type { ConfigIssue } from "@weft/sdk";
import type { EndpointBinding } from "../../../control-durable/src/types.js";

export function missingBindingWarnings(bindings: readonly EndpointBinding[], hasBinding: (name: string) => boolean): ConfigIssue[] {
  return bindings
    .filter((endpoint) => !hasBinding(endpoint.binding))
    .map((endpoint) => ({
      document: endpoint.document,
      kind: "Service",
      name: endpoint.service,
      path: endpoint.path,
      message: `the gateway has no service binding named ${endpoint.binding}: requests to ${endpoint.service}/${endpoint.subset} will be answered 503 until it does (add it to the gateway's wrangler config, e.g. with weft bindings -f mesh.yaml, and deploy the gateway)`,
      ...(endpoint.line === undefined ? {} : { line: endpoint.line }),
    }));
}
