/**
 * Endpoints whose service binding the gateway does not have. Such a config applies (a fleet may
 * be mid-deploy, and the binding may come with the next gateway deploy), but every request sent
 * there would be answered 503, so apply and dry-run say so next to the result, with the field and
 * line, and `weft validate --gateway` refuses it offline. The gateway is the one to ask: it knows
 * its own env.
 */
import type { ConfigIssue } from "@weft/sdk";
import type { LineLocator, ValidConfigSet } from "@weft/sdk/config";

export function missingBindingWarnings(set: ValidConfigSet, hasBinding: (name: string) => boolean, locate?: LineLocator): ConfigIssue[] {
  const warnings: ConfigIssue[] = [];
  set.documents.forEach((document, index) => {
    if (document.kind !== "Service") return;
    document.spec.subsets.forEach((subset, s) => {
      subset.endpoints.forEach((endpoint, e) => {
        if (endpoint.binding === undefined || hasBinding(endpoint.binding)) return;
        const path = ["spec", "subsets", s, "endpoints", e, "binding"] as const;
        const line = locate?.(index, path);
        warnings.push({
          document: index + 1,
          kind: "Service",
          name: document.metadata.name,
          path: `spec.subsets[${s}].endpoints[${e}].binding`,
          message: `the gateway has no service binding named ${endpoint.binding}: requests to ${document.metadata.name}/${subset.name} will be answered 503 until it does (add it to the gateway's wrangler config, e.g. with weft bindings -f mesh.yaml, and deploy the gateway)`,
          ...(line === undefined ? {} : { line }),
        });
      });
    });
  });
  return warnings;
}
