/**
 * A call the gateway waits for, with a limit: `call`, or a rejection with `message` once `ms` have
 * passed. For calls to the control plane and the telemetry objects: one that hangs must not hang
 * the requests, or the single-flight work other requests share, that wait for it.
 */
export function bounded<T>(call: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([call, late]).finally(() => {
    if (timer !== undefined) clearTimeout(timer);
  });
}
