// Shared by every page: the JSON API, the one event stream per tab, number formats and the curves.

export async function api(path) {
  const r = await fetch(path, { credentials: "same-origin" });
  const body = await r.json();
  if (!r.ok) throw Object.assign(new Error(body.error || r.statusText), { status: r.status });
  return body;
}

export async function post(path, body) {
  const r = await fetch(path, {
    method: "POST", credentials: "same-origin",
    headers: { "content-type": "application/json" }, body: JSON.stringify(body),
  });
  const text = await r.text();
  let data;
  try { data = JSON.parse(text); } catch { data = { error: text }; }
  if (!r.ok) throw Object.assign(new Error(data.error || r.statusText), { status: r.status });
  return data;
}

export const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function fmt(v, digits = 4) {
  if (v === null || v === undefined || v === "") return "–";
  if (typeof v !== "number") return String(v);
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 1000 || Math.abs(v) < 1e-3 ? v.toExponential(2) : v.toFixed(digits);
}

export function seconds(s) {
  if (s === null || s === undefined) return "–";
  return s < 60 ? `${s.toFixed(1)} s` : s < 3600 ? `${(s / 60).toFixed(1)} min` : `${(s / 3600).toFixed(1)} h`;
}

export const RESUMABLE = ["stopped", "interrupted", "failed"];

export function stateLabel(state) {
  return RESUMABLE.includes(state) ? `${state} — resume` : state || "unknown";
}

// One multiplexed SSE stream for the tab: the runs it follows and/or the runs table. The event id is the
// line number of each followed run; a reload or a reconnect resumes after it. Hidden tabs close the stream.
export function openStream({ runs = [], list = false, onRun, onState, onRuns, onEnd }) {
  let source = null;
  let after = runs.map(() => 0).join(",");
  const url = () => `/api/stream?runs=${runs.map(encodeURIComponent).join(",")}&list=${list ? 1 : 0}&after=${after}`;
  const open = () => {
    if (source) return;
    source = new EventSource(url());
    source.addEventListener("run", (e) => { after = e.lastEventId || after; onRun && onRun(JSON.parse(e.data)); });
    source.addEventListener("state", (e) => onState && onState(JSON.parse(e.data)));
    source.addEventListener("runs", (e) => onRuns && onRuns(JSON.parse(e.data)));
    source.addEventListener("end", () => { close(); onEnd && onEnd(); });
  };
  const close = () => { if (source) { source.close(); source = null; } };
  document.addEventListener("visibilitychange", () => (document.hidden ? close() : open()));
  if (!document.hidden) open();
  return { close, reopen: () => { close(); open(); } };
}

const COLORS = ["#0969da", "#cf222e", "#1a7f37", "#9a6700", "#8250df", "#bf3989", "#0a3069", "#57606a"];
const SKIP = new Set(["kind", "t", "epoch", "step", "steps", "seconds", "train_seconds", "run", "line", "epochs"]);

// A chart per metric ("loss", "accuracy", "lr", …): x is the epoch (fractional within an epoch), one series
// per (run, column). Points arrive from "progress" and "epoch" events or from metrics.csv rows.
export class Curves {
  constructor(el) { this.el = el; this.charts = new Map(); this.points = new Map(); this.pending = false; }

  static base(key) { return key.replace(/^val_/, ""); }

  add(series, x, values) {  // series: a run name ("" for one run); values: {column: number}
    for (const [key, v] of Object.entries(values)) {
      if (SKIP.has(key) || typeof v !== "number" || !Number.isFinite(v)) continue;
      const chart = Curves.base(key);
      const name = series ? `${series} ${key}` : key;
      if (!this.points.has(chart)) this.points.set(chart, new Map());
      const byName = this.points.get(chart);
      if (!byName.has(name)) byName.set(name, new Map());
      byName.get(name).set(x, v);
    }
    this.schedule();
  }

  truncate(series, x) {  // a resumed run trains again from x: drop what was drawn after it
    for (const byName of this.points.values())
      for (const [name, pts] of byName)
        if (!series || name.startsWith(series + " "))
          for (const px of [...pts.keys()]) if (px > x) pts.delete(px);
    this.schedule();
  }

  count() { let n = 0; for (const b of this.points.values()) for (const p of b.values()) n += p.size; return n; }

  schedule() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => { this.pending = false; this.draw(); });
  }

  draw() {
    for (const [chart, byName] of this.points) {
      const names = [...byName.keys()].sort();
      const xs = [...new Set(names.flatMap((n) => [...byName.get(n).keys()]))].sort((a, b) => a - b);
      const data = [xs, ...names.map((n) => xs.map((x) => (byName.get(n).has(x) ? byName.get(n).get(x) : null)))];
      let c = this.charts.get(chart);
      if (c && c.names.join() !== names.join()) { c.plot.destroy(); c.box.remove(); c = null; }
      if (!c) {
        const box = document.createElement("div");
        box.className = "chart";
        box.dataset.metric = chart;
        box.innerHTML = `<h3>${esc(chart)}</h3>`;
        this.el.appendChild(box);
        const opts = {
          width: 440, height: 240, scales: { x: { time: false } },
          axes: [{ label: "epoch" }, { values: (u, vals) => vals.map((v) => +v.toPrecision(3)) }],
          series: [{ label: "epoch" }, ...names.map((n, i) => ({
            label: n, stroke: COLORS[i % COLORS.length], width: n.includes("val_") ? 2 : 1.5,
            dash: n.includes("val_") ? [] : [4, 3], spanGaps: true, points: { show: xs.length < 60 },
          }))],
        };
        c = { box, names, plot: new uPlot(opts, data, box) };
        this.charts.set(chart, c);
      } else {
        c.plot.setData(data);
      }
      c.box.dataset.points = String(data.slice(1).reduce((n, ys) => n + ys.filter((y) => y !== null).length, 0));
    }
    this.el.dataset.points = String(this.count());
    this.el.dataset.drawnAt = String(Date.now());
  }
}

// Feed one run's events into Curves: progress at epoch-1 + step/steps, epochs at their number.
export function feed(curves, series, ev) {
  if (ev.kind === "start") curves.truncate(series, ev.epoch + (ev.steps ? ev.step / ev.steps : 0));
  else if (ev.kind === "progress") curves.add(series, ev.epoch - 1 + ev.step / ev.steps, ev);
  else if (ev.kind === "epoch") curves.add(series, ev.epoch, ev);
}
