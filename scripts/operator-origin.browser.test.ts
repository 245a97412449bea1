/**
 * A hostile destination in a real browser: the operator is signed in to the dashboard on the admin
 * host (weft-admin.localhost, which Chromium resolves to loopback), then opens a page a destination
 * serves through the mesh's ingress. The page's script tries to read the dashboard's data and to
 * plant a weft_session cookie, by script and by Set-Cookie through the gateway. Neither works, the
 * same page is never served on the admin host, and the dashboard keeps working afterwards.
 *
 * The mesh is the load benchmark's (the gateway and the example functions in one workerd), with
 * examples/mesh.yaml applied: its ingress route serves every host (`*`) and httpbin is public.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { afterAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, applyMesh, startMesh, type BenchMesh } from "../bench/load.js";

const CHROMIUM = "/usr/bin/chromium";
const INSTALL = "install it with apt-get install -y chromium";
const ADMIN_HOST = "weft-admin.localhost";

const hasChromium = existsSync(CHROMIUM);
const required = process.env.CI === "true";

/** What the destination's page found out, as its script writes it into #out. */
interface Probe {
  sameOrigin: { status: number; body: string };
  crossOrigin: { status: number; body: string } | { error: string };
}

/**
 * The destination's page: plants cookies by script and through a destination answer, then reads
 * the dashboard's data from its own origin and, with credentials, from the admin origin.
 */
function hostilePage(adminOrigin: string): string {
  const setCookies = new URLSearchParams([
    ["Set-Cookie", "weft_session=from-destination; Path=/.weft/dashboard/"],
    ["Set-Cookie", "weft_session=from-destination; Path=/"],
    ["Set-Cookie", "shop_pref=1; Path=/"],
  ]);
  const script = `
    (async () => {
      const out = {};
      document.cookie = "weft_session=from-script; path=/.weft/dashboard/";
      await fetch("/httpbin/response-headers?${setCookies.toString()}");
      const same = await fetch("/.weft/dashboard/data", { credentials: "include" });
      out.sameOrigin = { status: same.status, body: await same.text() };
      try {
        const cross = await fetch(${JSON.stringify(`${adminOrigin}/.weft/dashboard/data`)}, { credentials: "include" });
        out.crossOrigin = { status: cross.status, body: await cross.text() };
      } catch (error) {
        out.crossOrigin = { error: String(error) };
      }
      document.getElementById("out").textContent = JSON.stringify(out);
    })();`;
  return `<!doctype html><html><head><title>shop</title></head><body><pre id="out"></pre><script>${script}</script></body></html>`;
}

function base64url(text: string): string {
  return Buffer.from(text, "utf8").toString("base64url");
}

async function signIn(page: Page, dashboard: string): Promise<void> {
  await page.goto(dashboard);
  expect(page.url()).toBe(`${dashboard}/sign-in`);
  await page.getByTestId("sign-in-token").fill(ADMIN_TOKEN);
  const signedIn = await Promise.all([page.waitForNavigation(), page.getByTestId("sign-in-submit").click()]).then(([response]) => response);
  expect(signedIn?.status()).toBe(200);
  expect(page.url()).toBe(dashboard);
}

/** A GET from inside the page, with its cookies: Chromium resolves *.localhost, Node's resolver (behind page.request) does not. */
async function fetchInPage(page: Page, url: string): Promise<{ status: number; body: string }> {
  return page.evaluate(async (target) => {
    const response = await fetch(target);
    return { status: response.status, body: await response.text() };
  }, url);
}

/** Every cookie the browser holds for `host`, whatever its path. */
async function cookiesOf(context: BrowserContext, host: string): Promise<{ name: string; value: string; path: string }[]> {
  return (await context.cookies()).filter((cookie) => cookie.domain === host).map(({ name, value, path }) => ({ name, value, path }));
}

describe("a destination's page and the operator's dashboard in one browser", () => {
  let mesh: BenchMesh | undefined;
  let browser: Browser | undefined;
  const outDir = mkdtempSync(join(tmpdir(), "weft-operator-origin-"));
  afterAll(async () => {
    await browser?.close();
    await mesh?.mf.dispose();
    rmSync(outDir, { recursive: true, force: true });
  });

  if (!hasChromium && !required) console.warn(`skipping the operator-origin browser test: ${CHROMIUM} is missing; ${INSTALL}`);

  it.skipIf(!hasChromium && !required)(`keeps the dashboard's data and session out of a destination's reach (needs chromium: ${INSTALL})`, { timeout: 180_000 }, async () => {
    if (!hasChromium) expect.fail(`chromium is required when CI=true; ${INSTALL}`);
    mesh = await startMesh(outDir, { WEFT_ADMIN_HOST: ADMIN_HOST });
    const port = mesh.entryPort;
    expect(await applyMesh(port)).toBeGreaterThan(0);
    const adminOrigin = `http://${ADMIN_HOST}:${port}`;
    const shopOrigin = `http://127.0.0.1:${port}`;
    const dashboard = `${adminOrigin}/.weft/dashboard`;

    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
    const context = await browser.newContext();
    const page = await context.newPage();

    // The operator signs in on the admin host.
    await signIn(page, dashboard);
    const [session, ...others] = await cookiesOf(context, ADMIN_HOST);
    expect(others).toEqual([]);
    expect(session).toMatchObject({ name: "weft_session" });
    expect((await fetchInPage(page, `${dashboard}/data`)).status).toBe(200);

    // A destination's page (served through the ingress on every other host) is refused on the admin
    // host, so its script never runs on the admin origin; nor can a destination answer set cookies there.
    const hostile = `/httpbin/base64/${base64url(hostilePage(adminOrigin))}`;
    const onAdmin = await page.goto(`${adminOrigin}${hostile}`);
    expect(onAdmin?.status()).toBe(404);
    expect(await page.locator("#out").count()).toBe(0);
    const setter = await page.goto(`${adminOrigin}/httpbin/response-headers?Set-Cookie=${encodeURIComponent("weft_session=from-destination; Path=/")}`);
    expect(setter?.status()).toBe(404);

    // The ingress origin has no dashboard.
    const elsewhere = await page.goto(`${shopOrigin}/.weft/dashboard`);
    expect(elsewhere?.status()).toBe(404);
    expect(await elsewhere?.json()).toMatchObject({ error: { code: "not_found" } });

    // On the ingress origin the page is served and its script runs.
    const shopPage = await page.goto(`${shopOrigin}${hostile}`);
    expect(shopPage?.status()).toBe(200);
    await expect.poll(() => page.locator("#out").textContent(), { timeout: 20_000 }).not.toBe("");
    const probe = JSON.parse((await page.locator("#out").textContent()) ?? "{}") as Probe;
    // Same origin: no dashboard here. Admin origin: the strict session cookie is not sent from
    // another site, and without CORS the answer could not be read anyway.
    expect(probe.sameOrigin.status).toBe(404);
    expect(probe.sameOrigin.body).not.toContain('"config"');
    expect("error" in probe.crossOrigin ? probe.crossOrigin.error : probe.crossOrigin.body).not.toContain('"config"');
    // The gateway dropped the destination's weft cookies and passed its own.
    const shopCookies = await cookiesOf(context, "127.0.0.1");
    expect(shopCookies.filter((cookie) => cookie.value === "from-destination")).toEqual([]);
    expect(shopCookies.map((cookie) => cookie.name)).toContain("shop_pref");

    // The operator's session is untouched and the dashboard still works on its own host.
    expect(await cookiesOf(context, ADMIN_HOST)).toEqual([session]);
    // The admin host serves nothing else, so the session covers all of it (as a __Host- cookie must over https).
    expect(session?.path).toBe("/");
    const back = await page.goto(dashboard);
    expect(back?.status()).toBe(200);
    expect(page.url()).toBe(dashboard);
    await page.getByTestId("node-httpbin").waitFor({ timeout: 20_000 });
    const data = await fetchInPage(page, `${dashboard}/data`);
    expect(data.status).toBe(200);
    expect(JSON.parse(data.body)).toMatchObject({ config: { version: expect.any(Number) } });
  });
});
