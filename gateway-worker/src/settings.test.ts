import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG_REFRESH_MS, DEFAULT_TELEMETRY_FLUSH_MS, parseSettings } from "./settings.js";

describe("gateway settings from the Worker env", () => {
  it("uses the defaults when nothing is set", () => {
    expect(parseSettings({})).toEqual({
      configRefreshMs: DEFAULT_CONFIG_REFRESH_MS,
      telemetryFlushMs: DEFAULT_TELEMETRY_FLUSH_MS,
      telemetryOn: true,
      telemetryTrailingFlush: true,
      adminHost: { ok: true, host: "weft-admin.localhost" },
      configCacheSecret: undefined,
      problems: [],
    });
  });

  it("reads every var it knows", () => {
    const settings = parseSettings({ WEFT_CONFIG_REFRESH_MS: "100", WEFT_TELEMETRY_FLUSH_MS: "250", WEFT_TELEMETRY: "off", WEFT_TELEMETRY_TRAILING_FLUSH: "Off", WEFT_ADMIN_HOST: "Admin.Example.com", WEFT_ADMIN_TOKEN: "t".repeat(32) });
    expect(settings).toMatchObject({ configRefreshMs: 100, telemetryFlushMs: 250, telemetryOn: false, telemetryTrailingFlush: false, adminHost: { ok: true, host: "admin.example.com" }, configCacheSecret: "t".repeat(32), problems: [] });
    expect(parseSettings({ WEFT_ADMIN_TOKEN: "a", WEFT_CONFIG_CACHE_SECRET: "b" }).configCacheSecret).toBe("b");
  });

  it.each([
    [{ WEFT_CONFIG_REFRESH_MS: "5s" }, /WEFT_CONFIG_REFRESH_MS must be a positive whole number of milliseconds, got "5s"; using 5000/],
    [{ WEFT_TELEMETRY_FLUSH_MS: "-1" }, /WEFT_TELEMETRY_FLUSH_MS .* got "-1"/],
    [{ WEFT_TELEMETRY: "maybe" }, /WEFT_TELEMETRY must be "on" or "off"/],
    [{ WEFT_TELEMETRY_TRAILING_FLUSH: "no" }, /WEFT_TELEMETRY_TRAILING_FLUSH must be "on" or "off", got "no"; using on/],
    [{ WEFT_ADMIN_HOST: "https://admin.example.com" }, /WEFT_ADMIN_HOST must be a host name/],
  ])("names a var it cannot use, %j, and keeps going with the default", (env, problem) => {
    const settings = parseSettings(env);
    expect(settings.problems).toEqual([expect.stringMatching(problem)]);
    expect(settings.configRefreshMs).toBe(DEFAULT_CONFIG_REFRESH_MS);
    expect(settings.telemetryOn).toBe(true);
  });
});
