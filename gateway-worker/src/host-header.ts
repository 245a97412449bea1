/**
 * The Host header, checked before anything routes on it. Runtimes in front of the gateway usually
 * refuse a Host their URL parser cannot read (workerd under `wrangler dev` answers 500 before any
 * Worker runs); whatever reaches the gateway with `@`, `/`, `%`, spaces or an absolute URL in Host
 * is a smuggling or cache-poisoning attempt, never a name a Route serves, and is refused (400).
 */

/** A DNS name (a trailing dot allowed), an IPv4 address or a bracketed IPv6 address, then an optional port. */
const HOST_AND_PORT = /^(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;

/** Whether a Host header value is a plain host[:port]; no header at all is fine (the URL's host is used). */
export function isAcceptableHostHeader(value: string | null): boolean {
  return value === null || (value.length <= 260 && HOST_AND_PORT.test(value));
}
