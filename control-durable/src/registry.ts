/** The registry: which services exist, their subsets and endpoints, and the routes that reach them. */
import type { ValidConfigSet } from "@weft/sdk/config";
import type { RegistryService, RegistryView } from "./types.js";

export function buildRegistry(set: ValidConfigSet, version: number): RegistryView {
  // Routes by destination service, built in one pass: a scan per service is quadratic at 10,000 rules.
  const routesOf = new Map<string, { route: string; hosts: string[] }[]>();
  for (const route of set.routes) {
    const destinations = new Set(route.spec.http.flatMap((rule) => rule.destinations.map((d) => d.service)));
    for (const service of destinations) {
      const list = routesOf.get(service) ?? [];
      list.push({ route: route.metadata.name, hosts: route.spec.hosts });
      routesOf.set(service, list);
    }
  }
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
    routes: routesOf.get(service.metadata.name) ?? [],
  }));
  return { version, services };
}
