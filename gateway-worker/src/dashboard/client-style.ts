/** The dashboard's stylesheet, served as /.weft/dashboard/app.css (no inline styles: see the CSP). */
export const DASHBOARD_STYLE = `
:root {
  --bg: #f5f6f8; --panel: #fff; --ink: #1d2330; --muted: #6b7280; --line: #dfe3ea;
  --good: #2e7d32; --warn: #d99a00; --bad: #c62828; --idle: #9aa3af; --accent: #3355cc;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; font-size: 14px; color: var(--ink);
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
h1 { font-size: 20px; margin: 0; }
h2 { font-size: 15px; margin: 0; }
h3 { font-size: 14px; margin: 0 0 8px; display: flex; align-items: center; gap: 6px; }
button { font: inherit; padding: 6px 14px; border-radius: 6px; border: 1px solid var(--line); background: var(--panel); cursor: pointer; }
button:hover { border-color: var(--accent); }
.notice { padding: 10px 14px; border-radius: 6px; margin: 12px 24px; }
.notice.error { background: #fdecec; color: var(--bad); border: 1px solid #f3c4c4; }
.empty { color: var(--muted); margin: 4px 0; }

/* sign-in */
.sign-in { max-width: 360px; margin: 12vh auto; background: var(--panel); padding: 28px; border-radius: 10px; border: 1px solid var(--line); }
.sign-in h1 { margin-bottom: 18px; }
.sign-in .notice { margin: 0 0 14px; }
.sign-in form { display: grid; gap: 8px; }
.sign-in input { font: inherit; padding: 8px 10px; border: 1px solid var(--line); border-radius: 6px; }
.sign-in button { background: var(--accent); border-color: var(--accent); color: #fff; }
.hint { color: var(--muted); font-size: 12px; margin: 16px 0 0; }

/* frame */
.top { display: flex; align-items: center; gap: 20px; padding: 12px 24px; background: var(--panel); border-bottom: 1px solid var(--line); }
.top .config { color: var(--muted); }
.top .config strong { color: var(--ink); font-size: 16px; }
.top .status { color: var(--muted); font-size: 12px; }
.top .status.failing { color: var(--bad); }
.top .sign-out { margin-left: auto; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(560px, 1fr)); gap: 16px; padding: 16px 24px 32px; }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 14px 16px; min-width: 0; }
.panel > header { display: flex; align-items: baseline; gap: 10px; margin-bottom: 10px; }
.panel .note { color: var(--muted); font-size: 12px; }
.panel.service-graph, .panel.service-metrics, .panel.endpoints { grid-column: 1 / -1; }

/* service graph */
.graph-scroll { overflow-x: auto; }
svg.graph { display: block; max-width: 100%; height: auto; }
.node rect { fill: #fff; stroke: var(--idle); stroke-width: 2; }
.node.good rect { stroke: var(--good); fill: #f1f8f1; }
.node.warn rect { stroke: var(--warn); fill: #fff8e6; }
.node.bad rect { stroke: var(--bad); fill: #fdeeee; }
.node.external rect { stroke: var(--muted); stroke-dasharray: 4 3; fill: #f3f4f6; }
.node-name { font-weight: 600; font-size: 13px; fill: var(--ink); }
.node-figures { font-size: 11px; fill: var(--muted); }
.edge path { fill: none; stroke: var(--idle); stroke-width: 2.5; }
.edge.good path { stroke: var(--good); }
.edge.warn path { stroke: var(--warn); }
.edge.bad path { stroke: var(--bad); }
.edge.denied path { stroke-dasharray: 6 4; }
.arrow path { fill: var(--idle); }
.arrow.good path { fill: var(--good); }
.arrow.warn path { fill: var(--warn); }
.arrow.bad path { fill: var(--bad); }
.edge-label { font-size: 11px; fill: var(--ink); paint-order: stroke; stroke: var(--panel); stroke-width: 4px; stroke-linejoin: round; }
.edge-count { fill: var(--muted); }
.legend { display: flex; flex-wrap: wrap; gap: 14px; color: var(--muted); font-size: 12px; margin: 8px 0 0; }
.key::before { content: ""; display: inline-block; width: 18px; height: 3px; margin-right: 6px; vertical-align: middle; background: var(--idle); }
.key.good::before { background: var(--good); }
.key.warn::before { background: var(--warn); }
.key.bad::before { background: var(--bad); }
.key.denied::before { background: repeating-linear-gradient(90deg, var(--muted) 0 6px, transparent 6px 10px); }

/* golden metrics */
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(310px, 1fr)); gap: 12px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 12px; }
.card .dot { width: 10px; height: 10px; border-radius: 50%; background: var(--idle); display: inline-block; }
.card.good .dot { background: var(--good); }
.card.warn .dot { background: var(--warn); }
.card.bad .dot { background: var(--bad); }
.figures { display: grid; grid-template-columns: repeat(4, 1fr); gap: 6px; margin: 0 0 8px; }
.figures dt { color: var(--muted); font-size: 11px; }
.figures dd { margin: 0; font-size: 17px; font-weight: 600; font-variant-numeric: tabular-nums; }
.charts { display: flex; gap: 8px; flex-wrap: wrap; }
.charts .chart-box { flex: 1 1 0; min-width: 80px; }
svg.chart { width: 100%; height: 34px; }
.chart-box { margin: 0; }
.chart-box figcaption { color: var(--muted); font-size: 11px; }
svg.chart { display: block; background: #fafbfc; border-radius: 4px; }
svg.chart polyline { fill: none; stroke: var(--accent); stroke-width: 1.6; vector-effect: non-scaling-stroke; }
svg.chart circle { fill: var(--accent); }
svg.chart .axis { stroke: var(--line); }
.counters, .subsets { color: var(--muted); font-size: 12px; margin: 8px 0 0; }

/* tables */
table { border-collapse: collapse; width: 100%; font-size: 12px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { color: var(--muted); font-weight: 500; }
.panel.endpoints > div { overflow-x: auto; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 11px; background: #eef0f4; color: var(--muted); }
.badge.healthy { background: #e6f4e7; color: var(--good); }
.badge.probing { background: #fff4d6; color: #8a6200; }
.badge.ejected, .badge.missing-binding { background: #fdecec; color: var(--bad); }
.badge.current { background: #e8edfb; color: var(--accent); }
.badge.rollback { background: #fff4d6; color: #8a6200; }

/* config history */
.history { list-style: none; margin: 0; padding: 0; }
.history > li { border-bottom: 1px solid var(--line); padding: 6px 0; }
.history summary { cursor: pointer; display: flex; flex-wrap: wrap; gap: 8px; align-items: baseline; }
.history .when, .history .who { color: var(--muted); font-size: 12px; }
.history .summary { flex-basis: 100%; padding-left: 14px; }
.diff { list-style: none; margin: 6px 0 4px 14px; padding: 0; }
.diff li { margin: 2px 0; }
.diff .added { color: var(--good); }
.diff .removed { color: var(--bad); }
.diff .changed { color: #8a6200; }
.diff .unchanged { color: var(--muted); }
.diff .fields { list-style: none; padding-left: 16px; color: var(--ink); }
`;
