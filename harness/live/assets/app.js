// The live view's script: receives the state as server-sent events (/events) and draws
// each engine's panel with plain SVG. No library, no build step.
"use strict";

const COLORS = { oracle: "#555", baseline: "#8a5cc2", microbatch: "#d07a1e", record: "#2a7ab8" };
const color = (engine) => COLORS[engine] || "#2a7ab8";

function human(n) {
  if (n === null || n === undefined) return "–";
  const a = Math.abs(n);
  if (a >= 1e9) return (n / 1e9).toFixed(2) + "G";
  if (a >= 1e6) return (n / 1e6).toFixed(2) + "M";
  if (a >= 1e4) return (n / 1e3).toFixed(1) + "k";
  return Math.round(n).toString();
}

function micros(us) {
  if (us === null || us === undefined) return "–";
  if (us >= 1e6) return (us / 1e6).toFixed(2) + " s";
  if (us >= 1e3) return (us / 1e3).toFixed(1) + " ms";
  return us + " µs";
}

function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

const SVG = "http://www.w3.org/2000/svg";
function svgEl(tag, attrs) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}

// A line chart of [x, y] points, with its largest y written at the top left.
function lineChart(points, stroke, yLabel, diagonal) {
  const W = 400, H = 120, P = 4;
  const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none" });
  if (!points || points.length < 2) return svg;
  const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
  const x0 = Math.min(...xs), x1 = Math.max(...xs);
  let y0 = diagonal ? Math.min(...ys) : 0, y1 = Math.max(...ys);
  if (y1 <= y0) y1 = y0 + 1;
  const sx = (x) => P + ((x - x0) / (x1 - x0 || 1)) * (W - 2 * P);
  const sy = (y) => H - P - ((y - y0) / (y1 - y0)) * (H - 2 * P);
  if (diagonal) {
    // Event time advancing as fast as processing time: the watermark keeps pace.
    svg.appendChild(svgEl("line", { class: "ref", x1: sx(x0), y1: sy(y0), x2: sx(x1), y2: sy(y0 + (x1 - x0)) }));
  }
  const d = points.map((p, i) => (i ? "L" : "M") + sx(p[0]).toFixed(1) + " " + sy(p[1]).toFixed(1)).join("");
  svg.appendChild(svgEl("path", { class: "line", d, stroke }));
  const t = svgEl("text", { x: 6, y: 12 });
  t.textContent = yLabel(y1);
  svg.appendChild(t);
  const b = svgEl("text", { x: W - 6, y: H - 6, "text-anchor": "end" });
  b.textContent = (x1 - x0).toFixed(1) + " s";
  svg.appendChild(b);
  return svg;
}

// Bars: one per bucket (or batch), heights relative to the largest.
function barChart(values, labels, cls) {
  const W = 400, H = 120, P = 4;
  const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none" });
  if (!values.length) return svg;
  const max = Math.max(...values, 1);
  const w = (W - 2 * P) / values.length;
  values.forEach((v, i) => {
    const h = (v / max) * (H - 2 * P - 12);
    svg.appendChild(svgEl("rect", { class: cls, x: P + i * w + 0.5, y: H - P - h, width: Math.max(w - 1, 0.5), height: h }));
  });
  if (labels) {
    const l = svgEl("text", { x: P + 2, y: H - 6 }); l.textContent = labels[0]; svg.appendChild(l);
    const r = svgEl("text", { x: W - P - 2, y: 12, "text-anchor": "end" }); r.textContent = labels[1]; svg.appendChild(r);
  }
  return svg;
}

function figure(name, field, value, shown) {
  const f = el("div", { class: "figure" });
  f.appendChild(el("div", { class: "name" }, name));
  f.appendChild(el("div", { class: "value", "data-field": field, "data-value": value === null || value === undefined ? "" : String(value) }, shown));
  return f;
}

function chart(title, svg) {
  const c = el("div", { class: "chart" });
  c.appendChild(el("div", { class: "title" }, title));
  c.appendChild(svg);
  return c;
}

function panel(run) {
  const s = el("section", { class: "run", "data-engine": run.engine, "data-state": run.state });
  const h = el("h3", {}, run.label);
  h.appendChild(el("span", { class: "badge " + run.state }, run.state));
  s.appendChild(h);
  if (run.state === "starting") return s;
  const figs = el("div", { class: "figures" });
  figs.appendChild(figure("events in", "events_in", run.events_in, human(run.events_in)));
  figs.appendChild(figure("rows out", "rows_out", run.rows_out, human(run.rows_out)));
  figs.appendChild(figure(run.state === "finished" ? "events/s (run)" : "events/s (now)", "throughput_eps", run.throughput_eps, human(run.throughput_eps) + "/s"));
  figs.appendChild(figure("late dropped", "late_dropped", run.late_dropped, run.late_dropped === null ? "at the end" : human(run.late_dropped)));
  figs.appendChild(figure("time", "elapsed_s", run.elapsed_s, run.elapsed_s.toFixed(1) + " s"));
  figs.appendChild(figure("micro-batches", "batch_count", run.batch_count, run.batch_count ? human(run.batch_count) : "–"));
  s.appendChild(figs);
  const l = run.latency_us || {};
  const lat = el("div", { class: "latency", "data-field": "latency", "data-p50": l.p50, "data-p99": l.p99, "data-count": l.count });
  lat.textContent = `latency p50 ${micros(l.p50)} · p90 ${micros(l.p90)} · p99 ${micros(l.p99)} · p99.9 ${micros(l.p999)} · max ${micros(l.max)} (${human(l.count)} ${run.latency_source === "run" ? "rows, the run's measurement" : "rows sampled"})`;
  s.appendChild(lat);
  if (run.throughput_series) {
    s.appendChild(chart("throughput over time (events/s)", lineChart(run.throughput_series, color(run.engine), (y) => human(y) + "/s")));
    const hist = run.histogram || [];
    s.appendChild(chart("latency histogram (power-of-two buckets)", barChart(hist.map((b) => b.count), hist.length ? [micros(hist[0].lo_us), micros(hist[hist.length - 1].hi_us)] : null, "bar")));
    s.appendChild(chart("watermark (event time) against processing time; dashed: keeping pace", lineChart(run.watermark_series, color(run.engine), (y) => "event time " + y.toFixed(0) + " s", true)));
    const batches = run.batches || [];
    if (batches.length) {
      s.appendChild(chart("micro-batches: events per batch (last " + batches.length + ")", barChart(batches.map((b) => b.events), null, "batch")));
      const last = batches[batches.length - 1];
      s.appendChild(el("div", { class: "batches", "data-field": "last_batch", "data-id": last.id }, `last batch ${last.id}: ${human(last.events)} events, ${human(last.rows)} rows, ${last.late} late, ${last.duration_ms.toFixed(2)} ms`));
    }
  }
  return s;
}

function render(state) {
  const status = document.getElementById("status");
  const running = state.runs.some((r) => r.state !== "finished");
  status.dataset.state = state.finished ? "finished" : "running";
  status.textContent = state.finished ? "finished" : running ? "running" : "between runs";
  // One panel per engine: its latest run.
  const latest = new Map();
  state.runs.forEach((r) => latest.set(r.engine, r));
  const engines = document.getElementById("engines");
  engines.replaceChildren(...[...latest.values()].map(panel));
  const body = document.querySelector("#runs tbody");
  body.replaceChildren(...state.runs.map((r) => {
    const tr = el("tr", { "data-engine": r.engine, "data-state": r.state });
    const l = r.latency_us || {};
    [r.label, r.state, human(r.events_in), human(r.rows_out), r.late_dropped === null || r.late_dropped === undefined ? "–" : human(r.late_dropped),
     human(r.throughput_eps), micros(l.p50), micros(l.p99), r.elapsed_s === undefined ? "–" : r.elapsed_s.toFixed(2) + " s"]
      .forEach((v) => tr.appendChild(el("td", {}, v)));
    return tr;
  }));
}

const source = new EventSource("/events");
source.onmessage = (e) => render(JSON.parse(e.data));
source.onerror = () => {
  const status = document.getElementById("status");
  if (status.dataset.state !== "finished") {
    status.dataset.state = "disconnected";
    status.textContent = "disconnected (the command has ended?)";
  }
  if (status.dataset.state === "finished") source.close();
};
