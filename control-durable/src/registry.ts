/** The registry: which services exist, their subsets and endpoints, and the routes that reach them. */
import type { ValidConfigSet } from "@weft/sdk/config";
import type { RegistryService, RegistryView } from "./types.js";

export function buildRegistry(set: ValidConfigSet, version: number): RegistryView {
  const services: RegistryService[] = set.services.map((service) => ({
    name: service.metadata.name,
    namespace: service.metadata.namespace,
    loadBalancer: service.spec.trafficPolicy.loadBalancer.policy,
    subsets: service.spec.subsets.map((subset) => ({
      name: subset.name,
      endpoints: subset.endpoints.map((endpoint, index) => ({
        id: `${service.metadata.name}/${subset.name}/${index}`,
        ...(endpoint.binding !== undefined ? { binding: endpoint.binding } : {}),
        ...(endpoint.url !== undefined ? { url: endpoint.url } : {}),
        ...(endpoint.locality !== undefined ? { locality: endpoint.locality } : {}),
        weight: endpoint.weight,
      })),
    })),
    routes: set.routes
      .filter((route) => route.spec.http.some((rule) => rule.destinations.some((d) => d.service === service.metadata.name)))
      .map((route) => ({ route: route.metadata.name, hosts: route.spec.hosts })),
  }));
  return { version, services };
}
