/** Service bindings are looked up by the names config gives, so their presence is checked at run time. */
export interface Fetcherish {
  fetch(request: Request): Promise<Response>;
}

export function isFetcher(value: unknown): value is Fetcherish {
  return typeof value === "object" && value !== null && typeof (value as { fetch?: unknown }).fetch === "function";
}

/** The binding named `name` on the gateway's env, when it is one. */
export function bindingNamed(env: object, name: string): Fetcherish | undefined {
  const value = (env as Record<string, unknown>)[name];
  return isFetcher(value) ? value : undefined;
}
