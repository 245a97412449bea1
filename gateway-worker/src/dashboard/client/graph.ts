/** The service graph: services in columns by call depth, edges coloured by success rate. */
import type { DashboardData, EdgeTelemetry } from "../data-shape.js";
import { h, s, section } from "./dom.js";
import { errors, health, ms, percent, rate } from "./format.js";

const NODE_W = 140;
const NODE_H = 48;
const COL_GAP = 320;
const ROW_GAP = 104;
const PAD = 28;

type Point = [x: number, y: number];

interface Position {
  x: number;
  y: number;
  column: number;
}

interface Layout {
  positions: Map<string, Position>;
  width: number;
  height: number;
}

/** Columns by call depth: callers left of the services they call (cycles cut where found). */
export function layout(nodes: readonly string[], edges: readonly Pick<EdgeTelemetry, "source" | "destination">[]): Layout {
  const callers = new Map<string, string[]>(nodes.map((n) => [n, []]));
  for (const e of edges) callers.get(e.destination)?.push(e.source);
  const depth = new Map<string, number>();
  const onPath = new Set<string>();
  const depthOf = (n: string): number => {
    const known = depth.get(n);
    if (known !== undefined) return known;
    if (onPath.has(n)) return 0;
    onPath.add(n);
    let d = 0;
    for (const c of callers.get(n) ?? []) if (c !== n) d = Math.max(d, depthOf(c) + 1);
    onPath.delete(n);
    depth.set(n, d);
    return d;
  };
  const sparse: string[][] = [];
  for (const n of nodes) (sparse[depthOf(n)] ??= []).push(n);
  const columns = sparse.filter((column): column is string[] => column !== undefined);
  const rows = Math.max(...columns.map((c) => c.length), 1);
  const positions = new Map<string, Position>();
  columns.forEach((column, i) => {
    const offset = ((rows - column.length) * ROW_GAP) / 2;
    column.forEach((n, j) => positions.set(n, { x: PAD + i * COL_GAP, y: PAD + offset + j * ROW_GAP, column: i }));
  });
  return { positions, width: PAD * 2 + (columns.length - 1) * COL_GAP + NODE_W, height: PAD * 2 + (rows - 1) * ROW_GAP + NODE_H + 40 };
}

/** Anonymous callers first, then by name. */
function order(a: string, b: string): number {
  if (a === "anonymous") return -1;
  if (b === "anonymous") return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

export function renderGraph(data: DashboardData): void {
  const known = data.services.map((svc) => svc.name);
  const edges = data.telemetry.edges.filter((e) => e.source !== e.destination);
  const nodes = known.slice();
  for (const e of edges) for (const n of [e.source, e.destination]) if (!nodes.includes(n)) nodes.push(n);
  nodes.sort(order);
  if (nodes.length === 0) {
    section("service-graph").replaceChildren(h("p", { class: "empty" }, "No services in the config yet."));
    return;
  }
  const golden = new Map(data.telemetry.services.map((v) => [v.service, v.golden]));
  const laid = layout(nodes, edges);
  const defs = s(
    "defs",
    {},
    (["good", "warn", "bad", "idle"] as const).map((state) =>
      s("marker", { id: `arrow-${state}`, class: `arrow ${state}`, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" }, s("path", { d: "M 0 0 L 10 5 L 0 10 z" })),
    ),
  );
  const edgeLayer = s("g", { class: "edges" });
  const labelLayer = s("g", { class: "edge-labels" });
  for (const e of edges) {
    const from = laid.positions.get(e.source);
    const to = laid.positions.get(e.destination);
    if (!from || !to) continue;
    const state = health(e.golden);
    const id = `edge-${e.source}-${e.destination}`;
    let p0: Point, p1: Point, p2: Point, p3: Point;
    if (to.column > from.column) {
      p0 = [from.x + NODE_W, from.y + NODE_H / 2];
      p3 = [to.x - 2, to.y + NODE_H / 2];
      const dx = (p3[0] - p0[0]) / 2;
      p1 = [p0[0] + dx, p0[1]];
      p2 = [p3[0] - dx, p3[1]];
    } else {
      // A call back to an earlier column: loop below the nodes.
      p0 = [from.x + NODE_W / 2, from.y + NODE_H];
      p3 = [to.x + NODE_W / 2 + 8, to.y + NODE_H + 2];
      p1 = [p0[0], p0[1] + 60];
      p2 = [p3[0], p3[1] + 60];
    }
    const d = `M ${p0.join(" ")} C ${p1.join(" ")}, ${p2.join(" ")}, ${p3.join(" ")}`;
    const mid: Point = [(p0[0] + 3 * p1[0] + 3 * p2[0] + p3[0]) / 8, (p0[1] + 3 * p1[1] + 3 * p2[1] + p3[1]) / 8];
    const g = e.golden;
    const tip =
      `${e.source} → ${e.destination}: ${g.requests} requests in 5 min, success ${percent(g.successRate)}` +
      `, p50 ${ms(g.p50Ms)}, p95 ${ms(g.p95Ms)}, p99 ${ms(g.p99Ms)}${e.denials ? `, ${e.denials} denied by policy` : ""}`;
    edgeLayer.append(
      s(
        "g",
        { class: `edge ${state}${e.denials ? " denied" : ""}`, testid: id, "data-requests": g.requests, "data-rps": g.requestsPerSecond, "data-success-rate": g.successRate },
        s("title", {}, tip),
        s("path", { d, "marker-end": `url(#arrow-${state})` }),
      ),
    );
    labelLayer.append(
      s(
        "text",
        { class: "edge-label", x: mid[0], y: mid[1] - 21, "text-anchor": "middle", testid: `${id}-label` },
        s("tspan", { testid: `${id}-rps` }, `${rate(g.requestsPerSecond)} rps`),
        " · ",
        s("tspan", { testid: `${id}-errors` }, `${errors(g.successRate)} err`),
        s(
          "tspan",
          { x: mid[0], dy: 13 },
          s("tspan", { testid: `${id}-p99` }, `p99 ${ms(g.p99Ms)}`),
          " · ",
          s("tspan", { class: "edge-count", testid: `${id}-requests` }, `${g.requests} req${e.denials ? `, ${e.denials} denied` : ""}`),
        ),
      ),
    );
  }
  const nodeLayer = s("g", { class: "nodes" });
  for (const name of nodes) {
    const at = laid.positions.get(name);
    if (!at) continue;
    const g = golden.get(name);
    const external = !known.includes(name);
    nodeLayer.append(
      s(
        "g",
        { class: `node ${external ? "external" : health(g)}`, testid: `node-${name}`, transform: `translate(${at.x} ${at.y})` },
        s("title", {}, external ? `${name}: callers outside the mesh (no service identity)` : `${name}: ${g ? `${g.requests} requests in 5 min, success ${percent(g.successRate)}` : "no traffic"}`),
        s("rect", { width: NODE_W, height: NODE_H, rx: 8 }),
        s("text", { class: "node-name", x: NODE_W / 2, y: 20, "text-anchor": "middle" }, name),
        s(
          "text",
          { class: "node-figures", x: NODE_W / 2, y: 37, "text-anchor": "middle", testid: `node-${name}-figures` },
          external ? "ingress" : g && g.requests > 0 ? `${rate(g.requestsPerSecond)} rps · ${percent(g.successRate)}` : "no traffic",
        ),
      ),
    );
  }
  const svg = s(
    "svg",
    { class: "graph", viewBox: `0 0 ${laid.width} ${laid.height}`, width: laid.width, height: laid.height, role: "img", "aria-label": "service graph", testid: "graph-svg" },
    defs,
    edgeLayer,
    nodeLayer,
    labelLayer,
  );
  const legend = h(
    "p",
    { class: "legend" },
    h("span", { class: "key good" }, "≥ 99% success"),
    h("span", { class: "key warn" }, "≥ 95%"),
    h("span", { class: "key bad" }, "< 95%"),
    h("span", { class: "key idle" }, "no traffic"),
    h("span", { class: "key denied" }, "dashed: denials"),
  );
  section("service-graph").replaceChildren(h("div", { class: "graph-scroll" }, svg), legend);
}
