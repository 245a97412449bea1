import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { buildDashboardAssets, DASHBOARD_ASSETS_PATH, renderDashboardAssets } from "../../../scripts/build-dashboard.js";
import { DASHBOARD_SCRIPT, DASHBOARD_STYLE } from "./assets.generated.js";

describe("the dashboard's browser code", () => {
  it("is served as built from client/ (assets.generated.ts is not stale)", async () => {
    // Compared as text: the committed module is what every bundle of the gateway serves.
    expect(readFileSync(DASHBOARD_ASSETS_PATH, "utf8"), "gateway-worker/src/dashboard/assets.generated.ts is out of date: run npm run dashboard:build").toBe(await renderDashboardAssets());
  }, 30_000);

  it("is one strict script and a stylesheet with nothing inline or fetched from elsewhere", async () => {
    const { script, style } = await buildDashboardAssets();
    expect(DASHBOARD_SCRIPT).toBe(script);
    expect(DASHBOARD_STYLE).toBe(style);
    expect(script.startsWith('"use strict";')).toBe(true);
    // The content security policy allows only this origin; the script builds DOM nodes, never markup.
    expect(script).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function/);
    expect(style).not.toMatch(/@import|url\((?!#)/);
  }, 30_000);
});
