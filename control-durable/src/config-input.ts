/**
 * An apply's input as the admin API passes it on: the body's text and its format. Parsing it (YAML
 * or JSON) happens here, in the control Worker, beside the one validation, so the gateway Worker
 * carries no YAML parser and no validator (docs/architecture.md#why-two-workers). The source map of
 * a YAML body stays here too: issues and endpoint bindings leave with their line numbers.
 */
import { parseJsonDocuments, parseYamlDocumentsInSlices, type LineLocator, type ParsedInput, type Result, type ValidConfigSet } from "@weft/sdk/config";
import type { Pause } from "./slices.js";
import type { ConfigInput, EndpointBinding } from "./types.js";

/**
 * The documents of an apply's input: a body's text parsed by its format, or documents given as
 * they are (an RPC caller that parsed them itself). YAML is read in slices with `pause` between
 * them (10,000 rules take the parser ~0.7 s); JSON is one `JSON.parse` (~10 ms for 1 MiB).
 */
export async function readConfigInput(input: ConfigInput, pause: Pause): Promise<Result<ParsedInput>> {
  if (Array.isArray(input)) return { ok: true, value: { documents: input } };
  if (input === null || typeof input !== "object" || typeof input.text !== "string" || (input.format !== "yaml" && input.format !== "json")) {
    return { ok: false, issues: [{ document: 1, path: "", message: 'the input must be the documents, or {"format": "yaml" | "json", "text"}' }] };
  }
  const parsed = input.format === "json" ? parseJsonDocuments(input.text) : await parseYamlDocumentsInSlices(input.text, pause);
  // An empty upload would wipe the mesh; that must be said explicitly with {"documents": []}.
  if (parsed.ok && parsed.value.documents.length === 0 && input.format === "yaml") {
    return { ok: false, issues: [{ document: 1, path: "", message: 'the body holds no documents; to remove every document send {"documents": []} as JSON' }] };
  }
  return parsed;
}

/**
 * Every endpoint of the accepted set that names a service binding, with where it is written. The
 * gateway that took the apply checks them against its own env (only it knows its bindings).
 */
export function endpointBindings(set: ValidConfigSet, locate?: LineLocator): EndpointBinding[] {
  const found: EndpointBinding[] = [];
  set.documents.forEach((document, index) => {
    if (document.kind !== "Service") return;
    document.spec.subsets.forEach((subset, s) => {
      subset.endpoints.forEach((endpoint, e) => {
        if (endpoint.binding === undefined) return;
        const line = locate?.(index, ["spec", "subsets", s, "endpoints", e, "binding"]);
        found.push({
          document: index + 1,
          service: document.metadata.name,
          subset: subset.name,
          path: `spec.subsets[${s}].endpoints[${e}].binding`,
          binding: endpoint.binding,
          ...(line === undefined ? {} : { line }),
        });
      });
    });
  });
  return found;
}
