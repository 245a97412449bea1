import { describe, expect, it } from "vitest";
import { CONFIG_DEFAULTS } from "./defaults.js";
import { validateDocuments } from "./validate.js";

const service = (trafficPolicy: Record<string, unknown> = {}, name = "a") => ({
  apiVersion: "weft/v1",
  kind: "Service",
  metadata: { name },
  spec: { subsets: [{ name: "v1", endpoints: [{ binding: "A_V1" }] }], trafficPolicy },
});

const route = (rule: Record<string, unknown>) => ({
  apiVersion: "weft/v1",
  kind: "Route",
  metadata: { name: "r" },
  spec: { hosts: ["a.mesh"], http: [{ destinations: [{ service: "a" }], ...rule }] },
});

function accepted(docs: unknown[]) {
  const result = validateDocuments(docs);
  if (!result.ok) throw new Error(`expected the set to be accepted: ${JSON.stringify(result.issues)}`);
  return result.value;
}

function refused(docs: unknown[]) {
  const result = validateDocuments(docs);
  if (result.ok) throw new Error("expected the set to be refused");
  return result.issues;
}

describe("traffic policy defaults", () => {
  it("turns retries on with 3 attempts, the default retryOn and the Linkerd budget", () => {
    const policy = accepted([service()]).services[0]!.spec.trafficPolicy;
    expect(policy.retries).toEqual({
      attempts: 3,
      retryOn: ["connect-failure", "reset", "502", "503", "504"],
      retryNonIdempotent: false,
      backoff: { base: 25, max: 250 },
      budget: { ratio: 0.2, minPerSecond: 10, window: 10_000 },
    });
    expect(policy.circuitBreaker.maxConcurrentRequests).toBe(CONFIG_DEFAULTS.maxConcurrentRequests);
    expect(policy.loadBalancer).toEqual({ policy: "ROUND_ROBIN", localityAware: true });
    expect(policy.outlierDetection).toBeUndefined();
    expect(policy.rateLimit).toBeUndefined();
  });

  it("fills outlier detection from {} with Envoy's defaults", () => {
    const policy = accepted([service({ outlierDetection: {} })]).services[0]!.spec.trafficPolicy;
    expect(policy.outlierDetection).toEqual({ consecutive5xx: 5, baseEjectionTime: 30_000, maxEjectionTime: 300_000, maxEjectionPercent: 50 });
  });

  it("reads status codes written as numbers or strings", () => {
    const policy = accepted([service({ retries: { retryOn: [503, "409", "gateway-error"] } })]).services[0]!.spec.trafficPolicy;
    expect(policy.retries.retryOn).toEqual(["503", "409", "gateway-error"]);
  });

  it("accepts every setting of the issue's example together", () => {
    const set = accepted([
      service({
        loadBalancer: { policy: "CONSISTENT_HASH", hashOn: { header: "X-User" }, failover: ["EU", "NA"] },
        timeout: "5s",
        retries: { attempts: 3, perTryTimeout: "1s", retryOn: ["connect-failure", "502", "503", "504"], budget: { ratio: 0.2, minPerSecond: 10 }, hedge: { delay: "50ms" } },
        outlierDetection: { consecutive5xx: 5, baseEjectionTime: "30s", maxEjectionPercent: 50 },
        circuitBreaker: { maxConcurrentRequests: 1000 },
        rateLimit: { requestsPerSecond: 100, burst: 200, per: "source", scope: "global" },
      }),
      service({}, "b"),
      route({
        timeout: "3s",
        retries: { attempts: 2 },
        mirror: { service: "b", subset: "v1", percent: 5 },
        fault: { abort: { percent: 1, status: 503 }, delay: { percent: 1, fixed: "100ms" }, headers: { "X-Chaos": { exact: "on" } } },
      }),
    ]);
    expect(set.services[0]!.spec.trafficPolicy.loadBalancer.hashOn).toEqual({ header: "x-user" });
    const rule = set.routes[0]!.spec.http[0]!;
    expect(rule.retries?.attempts).toBe(2);
    // A route's retries replace the service's: the rest comes from the defaults, not from the service.
    expect(rule.retries?.perTryTimeout).toBeUndefined();
    expect(rule.fault?.delay?.fixed).toBe(100);
    expect(rule.mirror?.percent).toBe(5);
  });
});

describe("traffic policy validation", () => {
  it.each([
    ["CONSISTENT_HASH without hashOn", [service({ loadBalancer: { policy: "CONSISTENT_HASH" } })], "spec.trafficPolicy.loadBalancer.hashOn", /CONSISTENT_HASH needs hashOn/],
    ["hashOn with another policy", [service({ loadBalancer: { policy: "RANDOM", hashOn: { cookie: "s" } } })], "spec.trafficPolicy.loadBalancer.hashOn", /only to CONSISTENT_HASH/],
    ["an unknown balancer", [service({ loadBalancer: { policy: "FASTEST" } })], "spec.trafficPolicy.loadBalancer.policy", /ROUND_ROBIN/],
    ["0 attempts", [service({ retries: { attempts: 0 } })], "spec.trafficPolicy.retries.attempts", /at least 1/],
    ["11 attempts", [service({ retries: { attempts: 11 } })], "spec.trafficPolicy.retries.attempts", /at most 10/],
    ["an unknown retryOn", [service({ retries: { retryOn: ["sometimes"] } })], "spec.trafficPolicy.retries.retryOn[0]", /retryOn entries/],
    ["a budget ratio over 1", [service({ retries: { budget: { ratio: 2 } } })], "spec.trafficPolicy.retries.budget.ratio", /fraction/],
    ["backoff base over max", [service({ retries: { backoff: { base: "1s", max: "100ms" } } })], "spec.trafficPolicy.retries.backoff", /base must not be longer/],
    ["a bad perTryTimeout", [service({ retries: { perTryTimeout: "quickly" } })], "spec.trafficPolicy.retries.perTryTimeout", /not a duration/],
    ["maxEjectionTime under baseEjectionTime", [service({ outlierDetection: { baseEjectionTime: "60s", maxEjectionTime: "30s" } })], "spec.trafficPolicy.outlierDetection.maxEjectionTime", /shorter/],
    ["a zero rate", [service({ rateLimit: { requestsPerSecond: 0 } })], "spec.trafficPolicy.rateLimit.requestsPerSecond", /more than 0/],
    ["an unknown rate-limit key", [service({ rateLimit: { requestsPerSecond: 5, per: "colo" } })], "spec.trafficPolicy.rateLimit.per", /destination/],
    ["a zero concurrency limit", [service({ circuitBreaker: { maxConcurrentRequests: 0 } })], "spec.trafficPolicy.circuitBreaker.maxConcurrentRequests", /1/],
    ["a mirror to an unknown service", [service(), route({ mirror: { service: "ghost" } })], "spec.http[0].mirror.service", /unknown service "ghost"/],
    ["a mirror to an unknown subset", [service(), route({ mirror: { service: "a", subset: "v9" } })], "spec.http[0].mirror.subset", /no subset "v9"/],
    ["a mirror percent over 100", [service(), route({ mirror: { service: "a", percent: 150 } })], "spec.http[0].mirror.percent", /at most 100/],
    ["a fault with neither abort nor delay", [service(), route({ fault: {} })], "spec.http[0].fault", /abort, a delay or both/],
    ["a fault abort with a 200", [service(), route({ fault: { abort: { percent: 5, status: 200 } } })], "spec.http[0].fault.abort.status", /400\.\.599/],
    ["a fault delay over a minute", [service(), route({ fault: { delay: { percent: 5, fixed: "2m" } } })], "spec.http[0].fault.delay.fixed", /at most 60s/],
    ["a budget in a route's retries", [service(), route({ retries: { budget: { ratio: 0.5 } } })], "spec.http[0].retries.budget", /belongs to the destination/],
  ])("refuses %s, naming the field", (_what, docs, path, message) => {
    const issues = refused(docs);
    const issue = issues.find((i) => i.path === path);
    expect(issue, JSON.stringify(issues)).toBeDefined();
    expect(issue?.message).toMatch(message);
  });
});
