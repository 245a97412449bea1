/**
 * The dashboard in a real browser: the gateway and the example functions run in one workerd (the
 * load benchmark's mesh), traffic goes through the ingress and as mesh calls, and Debian's
 * chromium (driven by playwright-core) signs in, finds the service graph and watches a figure
 * change after more traffic. It takes a screenshot of the dashboard into its temporary folder;
 * `npm run docs:screenshot` (WEFT_WRITE_SCREENSHOT=1) writes it to the README's
 * docs/images/dashboard.png instead, so `npm test` leaves the working tree as it found it.
 *
 * The benchmark mesh gives its functions no bootstrap credentials, so their own peer calls are
 * anonymous (and the example policies deny them: they show up as denials). The service-to-service
 * edges are made by calling `orders.mesh` and `catalog.mesh` with SVIDs minted for `frontend` and
 * `orders` through the admin API (`POST /.weft/api/v1/tokens`, there for debugging and tests).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, applyMesh, send, startMesh, type BenchMesh } from "../bench/load.js";
import { ROOT } from "./example-workers.js";

const CHROMIUM = "/usr/bin/chromium";
const INSTALL = "install it with apt-get install -y chromium";
/** The README's picture, tracked in git: written only when asked for (`npm run docs:screenshot`). */
const README_SCREENSHOT = join(ROOT, "docs", "images", "dashboard.png");
const writeReadmeScreenshot = process.env.WEFT_WRITE_SCREENSHOT === "1";
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const EXAMPLE_SERVICES = ["httpbin", "catalog", "orders", "frontend"] as const;
const ADMIN = { authorization: `Bearer ${ADMIN_TOKEN}` };
/** Any Host that matches no Miniflare route reaches the gateway (the first worker). */
const INGRESS_HOST = "shop.example";
/** The dashboard's own host; Chromium resolves every *.localhost name to loopback. */
const ADMIN_HOST = "weft-admin.localhost";

const hasChromium = existsSync(CHROMIUM);
// Asking for the README's screenshot without chromium must fail, not skip and write nothing.
const required = process.env.CI === "true" || writeReadmeScreenshot;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An SVID for `service`, as the admin API mints one for debugging and tests. */
async function svidFor(port: number, service: string): Promise<string> {
  const answer = await send(port, "gateway.bench", "/.weft/api/v1/tokens", {
    method: "POST",
    headers: { ...ADMIN, "content-type": "application/json" },
    body: JSON.stringify({ service, ttlSeconds: 600 }),
  });
  expect(answer.status, answer.body).toBe(200);
  const token: unknown = (JSON.parse(answer.body) as { token?: unknown }).token;
  if (typeof token !== "string") throw new Error(`no token for ${service}: ${answer.body}`);
  return token;
}

interface Callers {
  frontend: string;
  orders: string;
}

/** One round of traffic: the shop and httpbin through the ingress, and frontend → orders → catalog as mesh calls. */
async function traffic(port: number, callers: Callers, rounds: number): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    await send(port, INGRESS_HOST, "/api/shop/orders/1001");
    await send(port, INGRESS_HOST, "/httpbin/anything");
    const orders = await send(port, "orders.mesh", i % 2 === 0 ? "/orders/1001" : "/orders", { headers: { authorization: `Bearer ${callers.frontend}` } });
    expect(orders.status, orders.body).toBeLessThan(600);
    const catalog = await send(port, "catalog.mesh", "/products", { headers: { authorization: `Bearer ${callers.orders}` } });
    expect(catalog.status, catalog.body).toBe(200);
  }
}

/** Telemetry leaves an isolate when a request arrives after the flush interval: nudge it with health checks. */
async function flushTelemetry(port: number): Promise<void> {
  await sleep(250);
  await send(port, "gateway.bench", "/.weft/healthz");
}

/** A GET from inside the page, with its cookies: Chromium resolves *.localhost, Node's resolver (behind page.request) does not. */
async function fetchInPage(page: Page, url: string): Promise<{ status: number; body: string }> {
  return page.evaluate(async (target) => {
    const response = await fetch(target);
    return { status: response.status, body: await response.text() };
  }, url);
}

async function edgeRequests(page: Page, source: string, destination: string): Promise<number> {
  const value = await page.getByTestId(`edge-${source}-${destination}`).getAttribute("data-requests");
  return Number(value);
}

describe("the dashboard in a browser", () => {
  let mesh: BenchMesh | undefined;
  let browser: Browser | undefined;
  const outDir = mkdtempSync(join(tmpdir(), "weft-dashboard-"));
  afterAll(async () => {
    await browser?.close();
    await mesh?.mf.dispose();
    rmSync(outDir, { recursive: true, force: true });
  });

  if (!hasChromium && !required) console.warn(`skipping the dashboard browser test: ${CHROMIUM} is missing; ${INSTALL}`);

  it.skipIf(!hasChromium && !required)(`signs in, draws the service graph and follows new traffic (needs chromium: ${INSTALL})`, { timeout: 180_000 }, async () => {
    if (!hasChromium) expect.fail(`chromium is required when CI=true or WEFT_WRITE_SCREENSHOT=1; ${INSTALL}`);
    mesh = await startMesh(outDir, { WEFT_TELEMETRY_FLUSH_MS: "200", WEFT_ADMIN_HOST: ADMIN_HOST });
    const port = mesh.entryPort;
    // The example as shipped (PERMISSIVE, no access log), its orders-v2 Rollout included for the rollouts panel.
    const example = readFileSync(join(ROOT, "examples/mesh.yaml"), "utf8").replace("mode: STRICT", "mode: PERMISSIVE").replace(/^ {2}telemetry: .*$/m, "");
    expect(await applyMesh(port, example)).toBeGreaterThan(0);
    const callers: Callers = { frontend: await svidFor(port, "frontend"), orders: await svidFor(port, "orders") };
    await traffic(port, callers, 12);
    await flushTelemetry(port);

    // The data endpoint wants the session cookie, whatever else is sent; and there is no dashboard
    // on the ingress host at all.
    const anonymous = await send(port, ADMIN_HOST, "/.weft/dashboard/data");
    expect(anonymous.status).toBe(401);
    expect((await send(port, ADMIN_HOST, "/.weft/dashboard/data", { headers: ADMIN })).status).toBe(401);
    expect((await send(port, INGRESS_HOST, "/.weft/dashboard/data")).status).toBe(404);

    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(String(error)));
    page.on("console", (message) => {
      if (message.type() === "error") pageErrors.push(message.text());
    });
    const visited: string[] = [];
    page.on("request", (request) => visited.push(request.url()));
    const base = `http://${ADMIN_HOST}:${port}/.weft/dashboard`;

    // No cookie: sent to the sign-in form.
    const first = await page.goto(base);
    expect(first?.request().redirectedFrom()?.url()).toBe(base);
    expect(page.url()).toBe(`${base}/sign-in`);
    await expect.poll(() => page.getByTestId("sign-in-token").getAttribute("type")).toBe("password");

    // A wrong token is refused and leaves no cookie.
    await page.getByTestId("sign-in-token").fill("not-the-admin-token");
    const refused = await Promise.all([page.waitForNavigation(), page.getByTestId("sign-in-submit").click()]).then(([response]) => response);
    expect(refused?.status()).toBe(401);
    expect(await page.getByTestId("sign-in-error").textContent()).toContain("the token was refused");
    expect(await context.cookies()).toEqual([]);

    // The right token signs in: a session cookie, and the dashboard.
    await page.getByTestId("sign-in-token").fill(ADMIN_TOKEN);
    const signedIn = await Promise.all([page.waitForNavigation(), page.getByTestId("sign-in-submit").click()]).then(([response]) => response);
    expect(signedIn?.status()).toBe(200);
    expect(page.url()).toBe(base);
    const [session] = await context.cookies();
    // Plain http on loopback: the bare name (browsers keep a __Host- cookie only when it is Secure).
    expect(session).toMatchObject({ name: "weft_session", domain: ADMIN_HOST, httpOnly: true, sameSite: "Strict", path: "/" });
    expect(session?.value).not.toContain(ADMIN_TOKEN);
    // The refused sign-in logged its 401 as a failed load; from here on nothing should fail.
    pageErrors.length = 0;

    // A node for every example service, and edges between the services that called each other.
    for (const service of EXAMPLE_SERVICES) await page.getByTestId(`node-${service}`).waitFor({ timeout: 20_000 });
    // Attached, not visible: a level edge is a line of zero height, which Playwright calls hidden.
    for (const edge of ["edge-frontend-orders", "edge-orders-catalog", "edge-anonymous-frontend"]) await page.getByTestId(edge).waitFor({ state: "attached", timeout: 20_000 });
    expect(await page.getByTestId("edge-frontend-orders-rps").textContent()).toMatch(/^[\d.]+ rps$/);
    expect(await page.getByTestId("edge-frontend-orders-errors").textContent()).toMatch(/^[\d.]+% err$/);
    expect(await page.getByTestId("edge-frontend-orders-p99").textContent()).toMatch(/^p99 [\d.]+ ms$/);
    expect(await page.getByTestId("config-version").textContent()).toMatch(/^\d+$/);
    await page.getByTestId("history-1").waitFor();
    // The denials panel lists what the data endpoint reports (the functions' anonymous peer calls are
    // denied by the example policies; they are listed once the gateway counts them under their destination).
    const reported = JSON.parse((await fetchInPage(page, `${base}/data`)).body) as { denials: { source: string; destination: string }[] };
    if (reported.denials.length === 0) await page.getByTestId("denials-empty").waitFor();
    for (const denial of reported.denials) await page.getByTestId(`denial-${denial.source}-${denial.destination}`).waitFor();
    await page.getByTestId("endpoint-orders-v1-0").waitFor();
    // Per route: the ingress route's httpbin rule and orders' split rule carried the traffic above.
    await page.getByTestId("route-ingress-httpbin-httpbin").waitFor();
    await page.getByTestId("route-orders-canary-split-orders").waitFor();
    // The example's rollout: its phase, its plan with the current step, and the split as a bar.
    await page.getByTestId("rollout-orders-v2").waitFor();
    expect(await page.getByTestId("rollout-orders-v2-phase").textContent()).toBe("Progressing");
    expect(await page.getByTestId("rollout-orders-v2-weights").getAttribute("aria-label")).toMatch(/^v1 \d+%, v2 \d+%$/);
    expect(await page.locator("[data-testid=rollout-orders-v2] .steps li").allTextContents()).toEqual(["setWeight 10", "setWeight 25", "setWeight 50", "setWeight 100"]);

    // More traffic: the frontend → orders figures move on a later refresh, without reloading.
    const before = await edgeRequests(page, "frontend", "orders");
    const rpsBefore = await page.getByTestId("metric-orders-requests").textContent();
    expect(before).toBeGreaterThan(0);
    await traffic(port, callers, 8);
    await expect
      .poll(
        async () => {
          await flushTelemetry(port);
          return edgeRequests(page, "frontend", "orders");
        },
        { timeout: 30_000, interval: 500 },
      )
      .toBeGreaterThanOrEqual(before + 8);
    expect(await page.getByTestId("metric-orders-requests").textContent()).not.toBe(rpsBefore);

    // Let the charts gather a few polls, then take the README's picture.
    await expect.poll(async () => Number(await page.getByTestId("chart-orders-rps").getAttribute("data-points")), { timeout: 30_000, interval: 1000 }).toBeGreaterThanOrEqual(6);
    const screenshot = writeReadmeScreenshot ? README_SCREENSHOT : join(outDir, "dashboard.png");
    mkdirSync(dirname(screenshot), { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: true });
    const png = readFileSync(screenshot);
    expect([...png.subarray(0, PNG_SIGNATURE.length)]).toEqual(PNG_SIGNATURE);
    expect(png.byteLength).toBeGreaterThan(10_000);

    // The token never travelled in a URL, and nothing on the page broke the CSP or threw.
    expect(visited.filter((url) => url.includes(ADMIN_TOKEN))).toEqual([]);
    expect(pageErrors).toEqual([]);

    // Signing out clears the session: the data endpoint refuses the browser again.
    await Promise.all([page.waitForNavigation(), page.getByTestId("sign-out").click()]);
    expect(page.url()).toBe(`${base}/sign-in`);
    expect(await context.cookies()).toEqual([]);
    const after = await fetchInPage(page, `${base}/data`);
    expect(after.status).toBe(401);
  });
});
