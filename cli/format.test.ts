import { describe, expect, it } from "vitest";
import {
  documentLookup,
  formatIssue,
  formatMs,
  formatPercent,
  formatRate,
  formatTime,
  formatValue,
  renderDiff,
  rolloutDetail,
  rolloutsTable,
  routesTable,
  statusRows,
  statusTable,
  summarizeDocument,
  table,
  valueAt,
  type ConfigDiff,
} from "./format.js";
import type { Rollout } from "./client.js";

describe("table", () => {
  it("pads columns two spaces apart, upper-cases the header and trims line ends", () => {
    expect(table(["kind", "name", "summary"], [["Service", "httpbin", "subsets v1"], ["Route", "ingress", ""]])).toBe(
      ["KIND     NAME     SUMMARY", "Service  httpbin  subsets v1", "Route    ingress"].join("\n"),
    );
  });

  it("right-aligns the columns it is told to", () => {
    expect(table(["service", "p99"], [["a", "5ms"], ["bb", "120ms"]], ["left", "right"])).toBe(["SERVICE    P99", "a          5ms", "bb       120ms"].join("\n"));
  });

  it("prints just the header when there are no rows", () => {
    expect(table(["id"], [])).toBe("ID");
  });
});

describe("number formats", () => {
  it.each([
    [null, "-"],
    [undefined, "-"],
    [Number.NaN, "-"],
    [0.4242, "0.42ms"],
    [4.24, "4.2ms"],
    [123.4, "123ms"],
    [1234, "1.23s"],
    [125_000, "2m05s"],
  ])("formatMs(%s) is %s", (ms, text) => {
    expect(formatMs(ms)).toBe(text);
  });

  it.each([
    [null, "-"],
    [0, "0.0"],
    [12.345, "12.3"],
    [1234.5, "1235"],
  ])("formatRate(%s) is %s", (rate, text) => {
    expect(formatRate(rate)).toBe(text);
  });

  it.each([
    [null, "-"],
    [1, "100%"],
    [0, "0%"],
    [0.9, "90.0%"],
    [0.99512, "99.51%"],
  ])("formatPercent(%s) is %s", (ratio, text) => {
    expect(formatPercent(ratio)).toBe(text);
  });

  it("shows times in UTC to the second", () => {
    expect(formatTime("2026-07-02T10:31:05.123Z")).toBe("2026-07-02 10:31:05Z");
    expect(formatTime(null)).toBe("-");
    expect(formatTime("not a time")).toBe("not a time");
  });
});

describe("formatIssue", () => {
  it("leads with file:line and names the document, its kind and name, and the field", () => {
    expect(formatIssue("mesh.yaml", { document: 2, kind: "Service", name: "httpbin", path: "spec.subsets[0].name", message: "Required", line: 12 })).toBe(
      "mesh.yaml:12: document 2 (Service httpbin) spec.subsets[0].name: Required",
    );
  });

  it("leaves out what is unknown", () => {
    expect(formatIssue("mesh.yaml", { document: 1, path: "", message: "not valid YAML" })).toBe("mesh.yaml: document 1: not valid YAML");
    expect(formatIssue("version 3", { document: 4, kind: "Route", path: "kind", message: "x" })).toBe("version 3: document 4 (Route) kind: x");
  });
});

describe("renderDiff", () => {
  const before = [
    { kind: "Mesh", metadata: { name: "shop" }, spec: { identity: { mode: "STRICT" } } },
    { kind: "Service", metadata: { name: "old" }, spec: {} },
  ];
  const after = [
    { kind: "Mesh", metadata: { name: "shop" }, spec: { identity: { mode: "PERMISSIVE", tokenTTL: "5m" } } },
    { kind: "Route", metadata: { name: "new" }, spec: {} },
  ];
  const diff: ConfigDiff = {
    added: [{ kind: "Route", name: "new" }],
    removed: [{ kind: "Service", name: "old" }],
    changed: [{ kind: "Mesh", name: "shop", fields: ["spec.identity.mode", "spec.identity.tokenTTL"] }],
    unchanged: 7,
  };

  it("marks added, changed and removed documents and shows each changed field's old and new value", () => {
    expect(renderDiff(diff, { before: documentLookup(before), after: documentLookup(after) })).toEqual([
      "+ Route/new",
      "~ Mesh/shop",
      "    spec.identity.mode: STRICT → PERMISSIVE",
      "    spec.identity.tokenTTL: (unset) → 5m",
      "- Service/old",
      "1 added, 1 changed, 1 removed, 7 unchanged",
    ]);
  });

  it("lists field paths alone when the documents are not at hand", () => {
    expect(renderDiff(diff)).toContain("    spec.identity.mode");
  });

  it("says so when nothing changes", () => {
    expect(renderDiff({ added: [], removed: [], changed: [], unchanged: 3 })).toEqual(["no changes (3 documents unchanged)"]);
  });

  it("reads array indexes in field paths", () => {
    const doc = { spec: { http: [{ destinations: [{ weight: 90 }, { weight: 10 }] }] } };
    expect(valueAt(doc, "spec.http[0].destinations[1].weight")).toBe(10);
    expect(valueAt(doc, "spec.http[3].destinations")).toBeUndefined();
    expect(valueAt(doc, "(document)")).toBe(doc);
  });

  it("prints objects as JSON and cuts long values", () => {
    expect(formatValue({ a: 1 })).toBe('{"a":1}');
    expect(formatValue("two words")).toBe('"two words"');
    expect(formatValue("x".repeat(80))).toHaveLength(60);
  });
});

describe("summarizeDocument", () => {
  it.each([
    [{ kind: "Mesh", metadata: { name: "shop" }, spec: { trustDomain: "shop.weft", identity: { mode: "STRICT", tokenTTL: "10m" } } }, "trustDomain shop.weft; identity STRICT; tokenTTL 10m"],
    [
      {
        kind: "Service",
        metadata: { name: "httpbin" },
        spec: { subsets: [{ name: "v1", endpoints: [{ binding: "A" }] }, { name: "v2", endpoints: [{ binding: "B" }, { url: "https://x" }] }], trafficPolicy: { loadBalancer: { policy: "ROUND_ROBIN" }, timeout: "15s" } },
      },
      "subsets v1 (1 endpoint), v2 (2 endpoints); lb ROUND_ROBIN; timeout 15s",
    ],
    [
      {
        kind: "Route",
        metadata: { name: "ingress" },
        spec: { hosts: ["*"], public: true, http: [{ destinations: [{ service: "httpbin", subset: "v1" }, { service: "httpbin", subset: "v2" }] }, { destinations: [{ service: "frontend" }] }] },
      },
      "hosts *; public; 2 rules → httpbin/v1, httpbin/v2, frontend",
    ],
    [{ kind: "AuthorizationPolicy", metadata: { name: "p" }, spec: { target: "orders", action: "ALLOW", rules: [{ from: ["frontend"] }, { from: ["cart"] }] } }, "ALLOW → orders; from frontend, cart"],
    [{ kind: "Rollout", metadata: { name: "r" }, spec: { target: "orders", stable: "v1", canary: "v2", steps: [{ setWeight: 10 }, { pause: {} }, { setWeight: 50 }] } }, "orders: v1 → v2; Canary; steps 10, 50"],
    [{ kind: "Rollout", metadata: { name: "r" }, spec: { target: "orders", stable: "v1", canary: "v2", stepWeight: 20, maxWeight: 60 } }, "orders: v1 → v2; Canary; +20 up to 60"],
    [{ kind: "Rollout", metadata: { name: "r" }, spec: { target: "orders", stable: "blue", canary: "green", strategy: "BlueGreen" } }, "orders: blue → green; BlueGreen"],
    [{ kind: "Gateway", metadata: { name: "g" }, spec: {} }, ""],
    ["not a document", ""],
  ])("summarizes %j", (doc, summary) => {
    expect(summarizeDocument(doc)).toBe(summary);
  });
});

describe("status", () => {
  const golden = (requests: number) => ({ requests, requestsPerSecond: requests / 60, successRate: requests ? 0.995 : null, p50Ms: requests ? 3.2 : null, p99Ms: requests ? 48 : null });

  it("has one row per service with its golden metrics and ejected endpoints, sorted by name", () => {
    const rows = statusRows(
      [
        { name: "orders", subsets: [{ name: "v1", endpoints: [{ id: "orders/v1/0", status: "ejected", health: "ejected" }] }, { name: "v2", endpoints: [{ id: "orders/v2/0", status: "healthy" }] }] },
        { name: "catalog", subsets: [{ name: "v1", endpoints: [{ id: "catalog/v1/0", status: "configured" }] }] },
      ],
      [
        { service: "orders", golden: golden(600) },
        { service: "catalog", golden: golden(0) },
      ],
    );
    expect(rows.map((row) => [row.service, row.ejected])).toEqual([
      ["catalog", []],
      ["orders", ["orders/v1/0"]],
    ]);
    expect(statusTable(rows)).toBe(
      [
        "SERVICE  REQUESTS/S  SUCCESS    P50   P99  EJECTED",
        "catalog           -        -      -     -  0/1",
        "orders         10.0   99.50%  3.2ms  48ms  1/2 (orders/v1/0)",
      ].join("\n"),
    );
  });

  it("shows services telemetry knows but the registry does not, and dashes without telemetry", () => {
    const rows = statusRows([{ name: "a", subsets: [] }], undefined);
    expect(rows).toEqual([{ service: "a", golden: undefined, endpoints: 0, ejected: [] }]);
    expect(statusRows([], [{ service: "ghost", golden: golden(6) }]).map((row) => row.service)).toEqual(["ghost"]);
  });

  it("skips telemetry views without a service name (objects that have stored nothing yet)", () => {
    expect(statusRows([{ name: "a", subsets: [] }], [{ service: "", golden: golden(0) }]).map((row) => row.service)).toEqual(["a"]);
  });
});

describe("rollouts", () => {
  const now = new Date("2026-12-01T00:02:18Z");
  const rollout: Rollout = {
    name: "orders-v2",
    target: "orders",
    stable: "v1",
    canary: "v2",
    strategy: "Canary",
    state: { phase: "Progressing", step: 1, canaryWeight: 25, failedChecks: 1, lastCheckAt: "2026-12-01T00:02:00.000Z" },
    steps: ["setWeight 10", "setWeight 25", "setWeight 50", "setWeight 100"],
    nextCheckAt: "2026-12-01T00:03:00.000Z",
    analysis: { interval: "1m", threshold: 2, minRequests: 20, successRateMin: 99, latencyP99Max: "500ms" },
    checks: [
      { at: "2026-12-01T00:01:00.000Z", outcome: "passed", canaryRequests: 31, successRate: 100, stableSuccessRate: 100, p99Ms: 4.2, findings: [] },
      { at: "2026-12-01T00:02:00.000Z", outcome: "failed", canaryRequests: 80, successRate: 80, stableSuccessRate: 100, p99Ms: 6, findings: ["success rate 80% below 99%"] },
    ],
  };

  it("lists each rollout on a line: phase, step, weights, failed checks, the last check's finding and when the next is due", () => {
    expect(rolloutsTable([rollout, { ...rollout, name: "cart-v3", target: "cart", state: { ...rollout.state, phase: "Succeeded", step: 4, canaryWeight: 100, failedChecks: 0 }, nextCheckAt: null, checks: [] }], now).split("\n")).toEqual([
      "ROLLOUT    TARGET  PHASE        STEP    WEIGHTS         FAILED CHECKS  LAST CHECK                           NEXT CHECK",
      "orders-v2  orders  Progressing  2 of 4  v1 75%, v2 25%  1/2            failed (success rate 80% below 99%)  in 42s",
      "cart-v3    cart    Succeeded    done    v1 0%, v2 100%  0/2            -                                    -",
    ]);
  });

  it("shows one rollout's plan, position and checks against the bounds", () => {
    expect(rolloutDetail(rollout, now)).toEqual([
      "rollout     orders-v2 (Canary)",
      "target      orders: stable v1, canary v2",
      "phase       Progressing",
      "step        2 of 4: setWeight 25",
      "steps       setWeight 10 → setWeight 25 → setWeight 50 → setWeight 100",
      "weights     v1 75%, v2 25%",
      "analysis    every 1m; success ≥ 99%, p99 ≤ 500ms, ≥ 20 canary requests; roll back after 2 failed checks",
      "checks      1 failed (rolls back at 2); last 2026-12-01 00:02:00Z; next in 42s",
      "",
      [
        "CHECKED               OUTCOME  CANARY REQUESTS  SUCCESS  STABLE SUCCESS    P99  FINDINGS",
        "2026-12-01 00:01:00Z  passed                31     100%            100%  4.2ms  -",
        "2026-12-01 00:02:00Z  failed                80      80%            100%  6.0ms  success rate 80% below 99%",
      ].join("\n"),
    ]);
    const failed = rolloutDetail({ ...rollout, state: { ...rollout.state, phase: "Failed", canaryWeight: 0, reason: "aborted by admin:cli" }, nextCheckAt: null, checks: [] }, now);
    const mirroring = rolloutDetail({ ...rollout, steps: ["mirror 50%", "setWeight 25"], state: { ...rollout.state, step: 0, canaryWeight: 0, mirrorPercent: 50 } }, now);
    expect([mirroring[3], mirroring[5]]).toEqual(["step        1 of 2: mirror 50%", "weights     v1 100%, v2 0% (+ copies of 50%)"]);
    expect([failed[2], failed[5], failed[7], failed.at(-1)]).toEqual(["phase       Failed (aborted by admin:cli)", "weights     v1 100%, v2 0%", "checks      1 failed (rolls back at 2); last 2026-12-01 00:02:00Z; next -", "no checks yet"]);
  });
});

describe("routes", () => {
  const golden = (requests: number, successRate: number | null, p50Ms: number | null, p99Ms: number | null) => ({ requests, requestsPerSecond: requests / 60, successRate, p50Ms, p99Ms });
  it("lists each Route document's rule per destination that carried traffic, by route and rule, leaving out unrouted and idle ones", () => {
    const table = routesTable([
      { service: "orders", byRoute: [{ route: "orders-canary", rule: "split", golden: golden(120, 0.99, 4, 40) }, { route: "", rule: "", golden: golden(3, 0, 1, 1) }, { route: "orders-canary", rule: "canary-opt-in", golden: golden(0, null, null, null) }] },
      { service: "httpbin", byRoute: [{ route: "ingress", rule: "httpbin", golden: golden(600, 1, 2.5, 30) }, { route: "(shadow)", rule: "", golden: golden(60, 1, 2, 3) }] },
    ]);
    expect(table.split("\n")).toEqual([
      "ROUTE          RULE     DESTINATION  REQUESTS/S  SUCCESS    P50    P99",
      "(shadow)       -        httpbin             1.0     100%  2.0ms  3.0ms",
      "ingress        httpbin  httpbin            10.0     100%  2.5ms   30ms",
      "orders-canary  split    orders              2.0   99.00%  4.0ms   40ms",
    ]);
    expect(routesTable([{ service: "orders", byRoute: [] }])).toBe("no route carried traffic in the window");
  });
});
