/**
 * The dashboard's own script, served as /.weft/dashboard/app.js (kept as text here: the gateway
 * is one bundle, and the browser needs plain JavaScript, not this module). It polls the data
 * endpoint every 3 s and redraws each section with DOM calls only (never innerHTML, so names
 * from the config cannot inject markup). Golden metrics over time are the polls it has kept.
 *
 * Written without template literals, so it can sit in this one.
 */
export const DASHBOARD_SCRIPT = String.raw`"use strict";
(function () {
  var BASE = "/.weft/dashboard";
  var POLL_MS = 3000;
  /** Samples kept per service for the charts: 40 polls, two minutes. */
  var POINTS = 40;
  var SVG_NS = "http://www.w3.org/2000/svg";
  var NODE_W = 140, NODE_H = 48, COL_GAP = 320, ROW_GAP = 104, PAD = 28;

  var samples = new Map();
  var openDiffs = new Set();
  var historyShown = "";
  var lastSampleAt = "";
  var timer;
  var busy = false;

  function build(node, attrs, children) {
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === undefined || value === null || value === false) return;
      node.setAttribute(name === "testid" ? "data-testid" : name, value === true ? "" : String(value));
    });
    children.forEach(function add(child) {
      if (child === undefined || child === null || child === false) return;
      if (Array.isArray(child)) return child.forEach(add);
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    });
    return node;
  }
  function h(tag, attrs) { return build(document.createElement(tag), attrs, Array.prototype.slice.call(arguments, 2)); }
  function s(tag, attrs) { return build(document.createElementNS(SVG_NS, tag), attrs, Array.prototype.slice.call(arguments, 2)); }
  function section(id) { return document.getElementById(id); }

  function rate(value) {
    if (value === null || value === undefined) return "–";
    return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
  }
  function percent(value) { return value === null || value === undefined ? "–" : (value * 100).toFixed(1) + "%"; }
  function errors(successRate) { return successRate === null || successRate === undefined ? "–" : ((1 - successRate) * 100).toFixed(1) + "%"; }
  function ms(value) { return value === null || value === undefined ? "–" : (value < 10 ? value.toFixed(1) : Math.round(value)) + " ms"; }
  function time(iso) { var d = new Date(iso); return isNaN(d.getTime()) ? iso : d.toLocaleString(); }
  /** green / amber / red by success rate (Linkerd's: 4xx count as successes), grey without traffic. */
  function health(golden) {
    if (!golden || golden.requests === 0 || golden.successRate === null) return "idle";
    return golden.successRate >= 0.99 ? "good" : golden.successRate >= 0.95 ? "warn" : "bad";
  }

  // ---- service graph ------------------------------------------------------------------------

  /** Columns by call depth: callers left of the services they call (cycles cut where found). */
  function layout(nodes, edges) {
    var callers = new Map(nodes.map(function (n) { return [n, []]; }));
    edges.forEach(function (e) { callers.get(e.destination).push(e.source); });
    var depth = new Map();
    var onPath = new Set();
    function depthOf(n) {
      if (depth.has(n)) return depth.get(n);
      if (onPath.has(n)) return 0;
      onPath.add(n);
      var d = 0;
      callers.get(n).forEach(function (c) { if (c !== n) d = Math.max(d, depthOf(c) + 1); });
      onPath.delete(n);
      depth.set(n, d);
      return d;
    }
    var columns = [];
    nodes.forEach(function (n) { var d = depthOf(n); (columns[d] = columns[d] || []).push(n); });
    columns = columns.filter(Boolean);
    var rows = Math.max.apply(null, columns.map(function (c) { return c.length; }).concat([1]));
    var positions = new Map();
    columns.forEach(function (column, i) {
      var offset = ((rows - column.length) * ROW_GAP) / 2;
      column.forEach(function (n, j) { positions.set(n, { x: PAD + i * COL_GAP, y: PAD + offset + j * ROW_GAP, column: i }); });
    });
    return { positions: positions, width: PAD * 2 + (columns.length - 1) * COL_GAP + NODE_W, height: PAD * 2 + (rows - 1) * ROW_GAP + NODE_H + 40 };
  }

  function order(a, b) {
    if (a === "anonymous") return -1;
    if (b === "anonymous") return 1;
    return a < b ? -1 : a > b ? 1 : 0;
  }

  function renderGraph(data) {
    var known = data.services.map(function (svc) { return svc.name; });
    var edges = data.telemetry.edges.filter(function (e) { return e.source !== e.destination; });
    var nodes = known.slice();
    edges.forEach(function (e) { [e.source, e.destination].forEach(function (n) { if (nodes.indexOf(n) < 0) nodes.push(n); }); });
    nodes.sort(order);
    if (nodes.length === 0) {
      section("service-graph").replaceChildren(h("p", { class: "empty" }, "No services in the config yet."));
      return;
    }
    var golden = new Map(data.telemetry.services.map(function (v) { return [v.service, v.golden]; }));
    var laid = layout(nodes, edges);
    var defs = s("defs", {}, ["good", "warn", "bad", "idle"].map(function (state) {
      return s("marker", { id: "arrow-" + state, class: "arrow " + state, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
        s("path", { d: "M 0 0 L 10 5 L 0 10 z" }));
    }));
    var edgeLayer = s("g", { class: "edges" });
    var labelLayer = s("g", { class: "edge-labels" });
    edges.forEach(function (e) {
      var from = laid.positions.get(e.source), to = laid.positions.get(e.destination);
      var state = health(e.golden);
      var id = "edge-" + e.source + "-" + e.destination;
      var p0, p1, p2, p3;
      if (to.column > from.column) {
        p0 = [from.x + NODE_W, from.y + NODE_H / 2]; p3 = [to.x - 2, to.y + NODE_H / 2];
        var dx = (p3[0] - p0[0]) / 2;
        p1 = [p0[0] + dx, p0[1]]; p2 = [p3[0] - dx, p3[1]];
      } else {
        // A call back to an earlier column: loop below the nodes.
        p0 = [from.x + NODE_W / 2, from.y + NODE_H]; p3 = [to.x + NODE_W / 2 + 8, to.y + NODE_H + 2];
        p1 = [p0[0], p0[1] + 60]; p2 = [p3[0], p3[1] + 60];
      }
      var d = "M " + p0.join(" ") + " C " + p1.join(" ") + ", " + p2.join(" ") + ", " + p3.join(" ");
      var mid = [(p0[0] + 3 * p1[0] + 3 * p2[0] + p3[0]) / 8, (p0[1] + 3 * p1[1] + 3 * p2[1] + p3[1]) / 8];
      var g = e.golden;
      var tip = e.source + " → " + e.destination + ": " + g.requests + " requests in 5 min, success " + percent(g.successRate) +
        ", p50 " + ms(g.p50Ms) + ", p95 " + ms(g.p95Ms) + ", p99 " + ms(g.p99Ms) + (e.denials ? ", " + e.denials + " denied by policy" : "");
      edgeLayer.append(s("g", { class: "edge " + state + (e.denials ? " denied" : ""), testid: id, "data-requests": g.requests, "data-rps": g.requestsPerSecond, "data-success-rate": g.successRate },
        s("title", {}, tip),
        s("path", { d: d, "marker-end": "url(#arrow-" + state + ")" })));
      labelLayer.append(s("text", { class: "edge-label", x: mid[0], y: mid[1] - 21, "text-anchor": "middle", testid: id + "-label" },
        s("tspan", { testid: id + "-rps" }, rate(g.requestsPerSecond) + " rps"), " · ",
        s("tspan", { testid: id + "-errors" }, errors(g.successRate) + " err"),
        s("tspan", { x: mid[0], dy: 13 }, s("tspan", { testid: id + "-p99" }, "p99 " + ms(g.p99Ms)), " · ",
          s("tspan", { class: "edge-count", testid: id + "-requests" }, g.requests + " req" + (e.denials ? ", " + e.denials + " denied" : "")))));
    });
    var nodeLayer = s("g", { class: "nodes" });
    nodes.forEach(function (name) {
      var at = laid.positions.get(name);
      var g = golden.get(name);
      var external = known.indexOf(name) < 0;
      nodeLayer.append(s("g", { class: "node " + (external ? "external" : health(g)), testid: "node-" + name, transform: "translate(" + at.x + " " + at.y + ")" },
        s("title", {}, external ? name + ": callers outside the mesh (no service identity)" : name + ": " + (g ? g.requests + " requests in 5 min, success " + percent(g.successRate) : "no traffic")),
        s("rect", { width: NODE_W, height: NODE_H, rx: 8 }),
        s("text", { class: "node-name", x: NODE_W / 2, y: 20, "text-anchor": "middle" }, name),
        s("text", { class: "node-figures", x: NODE_W / 2, y: 37, "text-anchor": "middle", testid: "node-" + name + "-figures" },
          external ? "ingress" : g && g.requests > 0 ? rate(g.requestsPerSecond) + " rps · " + percent(g.successRate) : "no traffic")));
    });
    var svg = s("svg", { class: "graph", viewBox: "0 0 " + laid.width + " " + laid.height, width: laid.width, height: laid.height, role: "img", "aria-label": "service graph", testid: "graph-svg" },
      defs, edgeLayer, nodeLayer, labelLayer);
    var legend = h("p", { class: "legend" },
      h("span", { class: "key good" }, "≥ 99% success"), h("span", { class: "key warn" }, "≥ 95%"), h("span", { class: "key bad" }, "< 95%"),
      h("span", { class: "key idle" }, "no traffic"), h("span", { class: "key denied" }, "dashed: denials"));
    section("service-graph").replaceChildren(h("div", { class: "graph-scroll" }, svg), legend);
  }

  // ---- golden metrics over time -------------------------------------------------------------

  function remember(data) {
    if (data.generatedAt === lastSampleAt) return;
    lastSampleAt = data.generatedAt;
    var at = Date.parse(data.generatedAt);
    data.telemetry.services.forEach(function (view) {
      var list = samples.get(view.service) || [];
      list.push({ at: at, rps: view.golden.requestsPerSecond, success: view.golden.successRate, p99: view.golden.p99Ms });
      if (list.length > POINTS) list.splice(0, list.length - POINTS);
      samples.set(view.service, list);
    });
  }

  /** A small line chart of one figure over the kept samples. */
  function chart(id, title, list, pick, format, floor) {
    var W = 92, H = 34;
    var points = list.map(function (p) { return [p.at, pick(p)]; }).filter(function (p) { return p[1] !== null && p[1] !== undefined; });
    var svg = s("svg", { class: "chart", viewBox: "0 0 " + W + " " + H, preserveAspectRatio: "none", testid: id, "data-points": points.length, role: "img", "aria-label": title });
    if (points.length > 0) {
      var values = points.map(function (p) { return p[1]; });
      var lo = floor !== undefined ? Math.min(floor, Math.min.apply(null, values)) : 0;
      var hi = Math.max.apply(null, values);
      if (hi - lo < 1e-9) hi = lo + (lo === 0 ? 1 : Math.abs(lo) * 0.1);
      var t0 = points[0][0], t1 = points[points.length - 1][0];
      var span = Math.max(t1 - t0, POLL_MS);
      var xy = points.map(function (p) {
        var x = points.length === 1 ? W - 2 : 2 + ((p[0] - t0) / span) * (W - 4);
        var y = H - 3 - ((p[1] - lo) / (hi - lo)) * (H - 8);
        return x.toFixed(1) + "," + y.toFixed(1);
      });
      svg.append(s("line", { class: "axis", x1: 0, y1: H - 1, x2: W, y2: H - 1 }));
      svg.append(s("polyline", { points: xy.join(" ") }));
      var last = xy[xy.length - 1].split(",");
      svg.append(s("circle", { cx: last[0], cy: last[1], r: 2.5 }));
      svg.append(s("title", {}, title + ": " + format(values[values.length - 1]) + " (range " + format(Math.min.apply(null, values)) + " – " + format(hi) + ")"));
    }
    return h("figure", { class: "chart-box" }, h("figcaption", {}, title), svg);
  }

  function figure(label, id, value) { return h("div", {}, h("dt", {}, label), h("dd", { testid: id }, value)); }

  function renderMetrics(data) {
    var views = new Map(data.telemetry.services.map(function (v) { return [v.service, v]; }));
    var names = data.services.map(function (svc) { return svc.name; });
    data.telemetry.services.forEach(function (v) { if (names.indexOf(v.service) < 0) names.push(v.service); });
    if (names.length === 0) {
      section("service-metrics").replaceChildren(h("p", { class: "empty" }, "No services in the config yet."));
      return;
    }
    var services = new Map(data.services.map(function (svc) { return [svc.name, svc]; }));
    section("service-metrics").replaceChildren(h("div", { class: "cards" }, names.map(function (name) {
      var view = views.get(name);
      var g = view ? view.golden : { requests: 0, requestsPerSecond: 0, successRate: null, p50Ms: null, p95Ms: null, p99Ms: null };
      var c = view ? view.counters : { retries: 0, hedges: 0, ejections: 0, rateLimited: 0, authnFailures: 0, authzDenials: 0 };
      var list = samples.get(name) || [];
      var registry = services.get(name);
      var budget = registry && registry.retryBudget;
      return h("article", { class: "card " + health(g), testid: "service-" + name },
        h("h3", {}, h("span", { class: "dot" }), name),
        h("dl", { class: "figures" },
          figure("requests/s", "metric-" + name + "-rps", rate(g.requestsPerSecond)),
          figure("success", "metric-" + name + "-success", percent(g.successRate)),
          figure("p99", "metric-" + name + "-p99", ms(g.p99Ms)),
          figure("requests", "metric-" + name + "-requests", String(g.requests))),
        h("div", { class: "charts" },
          chart("chart-" + name + "-rps", "requests/s", list, function (p) { return p.rps; }, rate),
          chart("chart-" + name + "-success", "success rate", list, function (p) { return p.success; }, percent, 0.9),
          chart("chart-" + name + "-p99", "p99 latency", list, function (p) { return p.p99; }, ms)),
        h("p", { class: "counters", testid: "counters-" + name },
          "p50 " + ms(g.p50Ms) + " · p95 " + ms(g.p95Ms) + " · retries " + c.retries + " · hedges " + c.hedges + " · ejections " + c.ejections +
          " · rate limited " + c.rateLimited + " · denied " + c.authzDenials + " · unauthenticated " + c.authnFailures),
        view && view.bySubset.length > 0
          ? h("p", { class: "subsets" }, "by subset: " + view.bySubset.map(function (b) { return (b.subset || "(none)") + " " + b.golden.requests + " req, " + percent(b.golden.successRate); }).join(" · "))
          : null,
        budget ? h("p", { class: "subsets" }, "retry budget here: " + budget.retries + " retries / " + budget.requests + " requests (allowance " + budget.allowance + ")" + (registry.inFlight ? " · in flight " + registry.inFlight : "")) : null);
    })));
  }

  // ---- endpoints ----------------------------------------------------------------------------

  function renderEndpoints(data) {
    var rows = [];
    data.services.forEach(function (svc) {
      svc.subsets.forEach(function (subset) {
        subset.endpoints.forEach(function (ep) {
          // Endpoint ids are service/subset/index: endpoint-orders-v1-0.
          var id = "endpoint-" + String(ep.id).split("/").join("-");
          rows.push(h("tr", { testid: id },
            h("td", {}, svc.name), h("td", {}, subset.name), h("td", { class: "mono" }, ep.id),
            h("td", { class: "mono" }, ep.binding || ep.url || "–"), h("td", {}, ep.locality || "–"), h("td", { class: "num" }, ep.weight),
            h("td", {}, h("span", { class: "badge " + ep.status, testid: id + "-status" }, ep.status)),
            h("td", { class: "num" }, ep.consecutiveFailures === undefined ? "–" : ep.consecutiveFailures),
            h("td", { class: "num", testid: id + "-ejections" }, ep.timesEjected === undefined ? "–" : ep.timesEjected),
            h("td", {}, ep.ejectedUntil ? time(ep.ejectedUntil) : "–"),
            h("td", { class: "num" }, ep.inFlight === undefined ? "–" : ep.inFlight)));
        });
      });
    });
    if (rows.length === 0) {
      section("endpoints").replaceChildren(h("p", { class: "empty" }, "No endpoints in the config."));
      return;
    }
    section("endpoints").replaceChildren(h("table", {},
      h("thead", {}, h("tr", {}, ["service", "subset", "endpoint", "binding / url", "locality", "weight", "status", "failures in a row", "times ejected", "ejected until", "in flight"].map(function (t) { return h("th", {}, t); }))),
      h("tbody", {}, rows)));
  }

  // ---- denials ------------------------------------------------------------------------------

  function renderDenials(data) {
    if (data.denials.length === 0) {
      section("denials").replaceChildren(h("p", { class: "empty", testid: "denials-empty" }, "No request was denied by an authorization policy in the last 5 minutes."));
      return;
    }
    section("denials").replaceChildren(h("table", {},
      h("thead", {}, h("tr", {}, h("th", {}, "caller"), h("th", {}, "destination"), h("th", { class: "num" }, "denied"))),
      h("tbody", {}, data.denials.map(function (d) {
        return h("tr", { testid: "denial-" + d.source + "-" + d.destination }, h("td", {}, d.source), h("td", {}, d.destination), h("td", { class: "num" }, d.count));
      }))));
  }

  // ---- config history -----------------------------------------------------------------------

  function diffList(diff) {
    if (!diff) return h("p", { class: "empty" }, "diff not available");
    var items = [];
    diff.added.forEach(function (d) { items.push(h("li", { class: "added" }, "+ " + d.kind + "/" + d.name)); });
    diff.removed.forEach(function (d) { items.push(h("li", { class: "removed" }, "− " + d.kind + "/" + d.name)); });
    diff.changed.forEach(function (d) {
      items.push(h("li", { class: "changed" }, "~ " + d.kind + "/" + d.name, h("ul", { class: "fields" }, d.fields.map(function (f) { return h("li", { class: "mono" }, f); }))));
    });
    items.push(h("li", { class: "unchanged" }, diff.unchanged + " document" + (diff.unchanged === 1 ? "" : "s") + " unchanged"));
    return h("ul", { class: "diff" }, items);
  }

  function renderHistory(data) {
    document.querySelector("[data-testid=config-version]").textContent = data.config.version === null ? "none" : String(data.config.version);
    var key = JSON.stringify(data.config.history.map(function (v) { return [v.version, v.createdAt, v.diff !== null]; }));
    if (key === historyShown) return;
    historyShown = key;
    if (data.config.history.length === 0) {
      section("config-history").replaceChildren(h("p", { class: "empty" }, "No config applied yet."));
      return;
    }
    section("config-history").replaceChildren(h("ol", { class: "history" }, data.config.history.map(function (v, i) {
      var details = h("details", { testid: "history-" + v.version, open: openDiffs.has(v.version) || (i === 0 && openDiffs.size === 0) },
        h("summary", {},
          h("strong", {}, "v" + v.version), i === 0 ? h("span", { class: "badge current" }, "current") : null,
          h("span", { class: "when" }, time(v.createdAt)), h("span", { class: "who" }, v.actor),
          v.source === "rollback" ? h("span", { class: "badge rollback" }, "rollback to v" + v.rollbackOf) : null,
          h("span", { class: "summary", testid: "history-" + v.version + "-summary" }, v.summary)),
        diffList(v.diff));
      details.addEventListener("toggle", function () { if (details.open) openDiffs.add(v.version); else openDiffs.delete(v.version); });
      return h("li", {}, details);
    })));
  }

  // ---- polling ------------------------------------------------------------------------------

  function setStatus(text, ok) {
    var node = document.querySelector("[data-testid=status]");
    node.textContent = text;
    node.className = "status " + (ok ? "ok" : "failing");
  }

  function render(data) {
    remember(data);
    renderHistory(data);
    renderGraph(data);
    renderMetrics(data);
    renderEndpoints(data);
    renderDenials(data);
    var problems = document.querySelector("[data-testid=problems]");
    problems.hidden = data.problems.length === 0;
    problems.textContent = data.problems.length ? "Partly shown: " + data.problems.join("; ") + "." : "";
  }

  function poll() {
    clearTimeout(timer);
    if (busy) return;
    if (document.hidden) { timer = setTimeout(poll, POLL_MS); return; }
    busy = true;
    fetch(BASE + "/data", { credentials: "same-origin", cache: "no-store", headers: { accept: "application/json" } })
      .then(function (res) {
        if (res.status === 401) { window.location.assign(BASE + "/sign-in"); return; }
        if (!res.ok) throw new Error("HTTP " + res.status);
        return res.json().then(function (data) {
          render(data);
          setStatus("updated " + new Date(data.generatedAt).toLocaleTimeString(), true);
        });
      })
      .catch(function (error) { setStatus("could not refresh (" + error.message + "); retrying", false); })
      .finally(function () {
        busy = false;
        clearTimeout(timer);
        timer = setTimeout(poll, POLL_MS);
      });
  }

  document.addEventListener("visibilitychange", function () { if (!document.hidden) poll(); });
  poll();
})();
`;
