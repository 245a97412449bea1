/**
 * The worker the workerd integration tests run in: the gateway's fetch handler and the control
 * Worker's Durable Object classes in one script. Deployed, they are two Workers (the gateway binds
 * the objects by `script_name`); here one script holds both so `runInDurableObject` can reach into
 * the objects the gateway under test talks to. The real two-Worker layout is what `npm run dev`,
 * the deploy dry-run and the adoption tests run (scripts/*.e2e.test.ts).
 */
export { default } from "../../gateway-worker/src/index.js";
export { ControlPlane, RateLimiter, TelemetryShard } from "../../control-durable/src/worker.js";
