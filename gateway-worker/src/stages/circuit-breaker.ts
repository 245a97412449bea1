/**
 * Concurrency limit per destination service (Envoy's circuit breaker on pending requests): beyond
 * `maxConcurrentRequests` in flight in this isolate, the gateway answers 503 at once instead of
 * queueing work on a destination that is already saturated. Wraps the attempts, so a request
 * holds its slot across its retries.
 */
import { MeshError } from "@weft/sdk";
import type { Stage } from "../stage.js";

export function circuitBreakerStage(): Stage {
  return function limitConcurrency(request, next) {
    const service = request.service;
    if (!service) throw new MeshError("internal", "the circuit breaker ran before a destination was chosen");
    const inFlight = request.isolate.resilience.servicesInFlight;
    const key = service.name;
    if (!inFlight.tryAcquire(key, service.maxConcurrentRequests)) {
      throw new MeshError("circuit_open", `circuit open: ${service.name} already has ${service.maxConcurrentRequests} requests in flight through this gateway`);
    }
    // Held until the answer (or failure) comes back, across retries; released exactly once.
    const release = () => inFlight.release(key);
    let answer: Promise<Response>;
    try {
      answer = next(request);
    } catch (error) {
      release();
      throw error;
    }
    // then, not finally: finally costs two more promise steps on every request.
    return answer.then(
      (response) => {
        release();
        return response;
      },
      (error: unknown) => {
        release();
        throw error;
      },
    );
  };
}
