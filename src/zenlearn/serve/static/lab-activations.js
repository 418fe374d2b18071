// The activation explorer: every registered activation and its derivative, and each layer's gradient norm in the
// first steps of a deep MLP per activation (measured by the server in a worker process). Settings live in the URL.
import { api, esc, fmt } from "./common.js";

const $ = (id) => document.getElementById(id);
const COLORS = ["#0969da", "#cf222e", "#1a7f37", "#9a6700", "#8250df", "#bf3989", "#0a3069", "#57606a", "#e16f24",
  "#116329", "#6e7781"];
const CURVE = { lo: -5, hi: 5, negative_slope: 0.01, elu_alpha: 1 };
const PROBE = { data: "mnist1d", depth: 8, width: 64, steps: 20, batch_size: 64, lr: 0.1, optimizer: "sgd",
  init: "default", seed: 0 };
const SURVEY = ["sigmoid", "tanh", "relu", "leaky_relu", "elu"];
const GRADIENT_DATA = ["mnist1d", "mnist", "fashion-mnist"];
let all = [];
let timer = null;
let color = {};

function chart(el, title, xLabel, x, series, { logY = false } = {}) {
  const box = document.createElement("div");
  box.className = "chart";
  box.innerHTML = `<h3>${esc(title)}</h3>`;
  el.appendChild(box);
  const opts = {
    width: 440, height: 260, scales: { x: { time: false }, y: logY ? { distr: 3 } : {} },
    axes: [{ label: xLabel }, { values: (u, vals) => vals.map((v) => (v == null ? "" : logY ? v.toExponential(0) : +v.toPrecision(3))) }],
    series: [{ label: xLabel }, ...series.map((s) => ({ label: s.label, stroke: color[s.label], width: 1.8,
      points: { show: x.length < 30 } }))],
  };
  new uPlot(opts, [x, ...series.map((s) => s.values)], box);
  box.dataset.points = String(series.reduce((n, s) => n + s.values.filter((v) => v !== null).length, 0));
}

// A text field per setting, or a list for those with `choices` (the registries' names, from /api/fields).
function inputs(el, defaults, choices = {}) {
  el.innerHTML = Object.entries(defaults).map(([k, v]) => `<label>${esc(k.replace(/_/g, " "))} ` + (choices[k]
    ? `<select name="${k}">${choices[k].map((c) => `<option${c === v ? " selected" : ""}>${esc(c)}</option>`).join("")}</select>`
    : `<input name="${k}" value="${esc(v)}" size="${String(v).length + 3}">`) + "</label>").join("");
}

function settings() {
  const q = new URLSearchParams();
  q.set("names", [...document.querySelectorAll("#names input:checked")].map((i) => i.value).join(","));
  for (const el of document.querySelectorAll("#curve-settings [name], #probe-settings [name]")) q.set(el.name, el.value);
  return q;
}

function pick(q, keys) {
  const out = new URLSearchParams();
  for (const k of keys) if (q.has(k)) out.set(k, q.get(k));
  return out;
}

function fail(err) { $("error").textContent = err.message; $("error").hidden = false; }

async function drawCurves(q) {
  const names = q.get("names");
  const r = await api(`/api/lab/activations?${pick(q, Object.keys(CURVE))}&names=${encodeURIComponent(names)}`);
  $("curves").innerHTML = "";
  chart($("curves"), "activation f(x)", "x", r.x, r.curves.map((c) => ({ label: c.name, values: c.y })));
  chart($("curves"), "derivative f'(x)", "x", r.x, r.curves.map((c) => ({ label: c.name, values: c.dy })));
  $("curves").dataset.state = "ready";
}

async function drawGradients(q) {
  $("gradients").dataset.state = "loading";
  $("probe").textContent = "measuring…";
  const p = pick(q, Object.keys(PROBE));
  p.set("activations", q.get("names"));
  const r = await api(`/api/lab/gradients?${p}`);
  const n = r.runs[0].layers;
  const layers = Array.from({ length: n }, (_, i) => i + 1);
  const mean = (run, l) => run.norms.reduce((s, step) => s + step[l], 0) / run.norms.length;
  const steps = Array.from({ length: r.runs[0].norms.length }, (_, i) => i + 1);
  $("gradients").innerHTML = "";
  chart($("gradients"), "mean gradient norm per layer (1 = input side)", "layer", layers,
    r.runs.map((run) => ({ label: run.activation, values: layers.map((l) => mean(run, l - 1)) })), { logY: true });
  chart($("gradients"), "first layer's gradient norm per step", "step", steps,
    r.runs.map((run) => ({ label: run.activation, values: run.norms.map((s) => s[0]) })), { logY: true });
  const ratio = r.runs.map((run) => `${run.activation} ${fmt(mean(run, n - 1) / mean(run, 0), 3)}×`);
  $("probe").textContent = `${r.depth} hidden layers of ${r.width} on ${r.data}, ${r.optimizer} at lr ${r.lr}, ` +
    `${r.steps} steps of ${r.batch_size}, init ${r.init}, seed ${r.seed}. Last layer's gradient over the first's: ` +
    ratio.join(", ");
  $("gradients").dataset.state = "ready";
}

async function refresh(q, { gradients = true } = {}) {
  $("error").hidden = true;
  try {
    await drawCurves(q);
    if (gradients) await drawGradients(q);
  } catch (err) { fail(err); }
}

async function init() {
  const q = new URLSearchParams(location.search);
  all = (await api("/api/lab/activations?lo=-1&hi=1")).curves.map((c) => c.name);
  all.forEach((n, i) => { color[n] = COLORS[i % COLORS.length]; });
  const chosen = (q.get("names") || SURVEY.join(",")).split(",");
  $("names").innerHTML = all.map((n) => `<label><input type="checkbox" value="${esc(n)}"` +
    `${chosen.includes(n) ? " checked" : ""}> ${esc(n)}</label>`).join(" ");
  inputs($("curve-settings"), CURVE);
  const fields = Object.fromEntries((await api("/api/fields")).fields.map((f) => [f.name, f.choices]));
  inputs($("probe-settings"), PROBE, { data: GRADIENT_DATA, optimizer: fields.optimizer, init: fields.init });
  for (const [k, v] of q) {
    const el = document.querySelector(`[name="${k}"]`);
    if (el && el.tagName === "SELECT" && ![...el.options].some((o) => o.value === v)) el.insertAdjacentHTML("beforeend", `<option>${esc(v)}</option>`);
    if (el) el.value = v;  // a value the lists lack stays as given: the server says what is wrong with it
  }
  const full = settings();
  if (!location.search) history.replaceState(null, "", `?${full}`);
  for (const form of ["controls", "curve-settings", "probe-settings"]) {
    $(form).addEventListener("submit", (e) => e.preventDefault());
    $(form).addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        const s = settings();
        history.replaceState(null, "", `?${s}`);
        refresh(s, { gradients: form !== "curve-settings" });
      }, 400);
    });
  }
  await refresh(location.search ? new URLSearchParams([...full].map(([k, v]) => [k, q.get(k) ?? v])) : full);
}
init().catch(fail);
