// The Lab's race: a form (every setting mirrored in the URL), the race's live curves per lane (steps or wall
// time), decision boundaries on 2-D data, per-lane LR / rewind / stop, and the comparison it is saved as.
import { api, esc, fmt, post } from "./common.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const COLORS = ["#0969da", "#cf222e", "#1a7f37", "#9a6700", "#8250df", "#bf3989"];
const SKIP = new Set(["kind", "t", "wall", "lane", "step", "epoch", "lr", "line", "run", "seconds", "train_seconds"]);
const FINAL = ["finished", "stopped", "failed", "interrupted"];
const BASE = [  // [option, label, input kind]
  ["data", "dataset", "list:datasets"], ["model", "model", "list:models"], ["hidden", "hidden sizes", "text"],
  ["activation", "activation", "list:activations"], ["dropout", "dropout", "text"], ["batch_norm", "batch norm", "checkbox"],
  ["optimizer", "optimizer", "list:optimizers"], ["lr", "learning rate", "text"],
  ["epochs", "epochs", "text"], ["batch_size", "batch size", "text"], ["seed", "seed", "text"],
  ["train_subset", "training subset", "text"], ["max_steps", "step limit per lane", "text"],
  ["teacher", "teacher run (distillation lanes)", "text"],
];
const KINDS = { optimizer: ["optimizer", "lr"], activation: ["activation"], augment: ["augment"],
  distillation: ["temperature", "alpha"] };
let opts, race = params.get("race"), source = null, state = null, xaxis = "step";
let lanes = params.getAll("lane").map(parseLane);
const lab = window.lab = { frames: [], points: new Map(), names: [], events: 0 };

function parseLane(text) {  // "optimizer=sgd lr=0.1" → {optimizer: "sgd", lr: "0.1"}
  const v = {};
  for (const pair of (text || "").split(/\s+/).filter(Boolean)) { const i = pair.indexOf("="); if (i > 0) v[pair.slice(0, i)] = pair.slice(i + 1); }
  return v;
}
const laneText = (v) => Object.entries(v).filter(([, x]) => x !== "" && x != null).map(([k, x]) => `${k}=${x}`).join(" ") || "base";
const kindOf = (v) => Object.keys(KINDS).find((k) => k in v) || "optimizer";
const quote = (s) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'"'"'`)}'`);

function baseValues() {
  const out = {};
  for (const [name, , kind] of BASE) {
    const el = $(`f-${name}`);
    if (kind === "checkbox") { if (el.checked) out[name] = true; } else if (el.value.trim() !== "") out[name] = el.value.trim();
  }
  for (const [k, v] of params) if (opts.fields.includes(k) && !BASE.some(([name]) => name === k)) out[k] = v;  // from the URL
  return out;
}

function syncUrl() {  // every setting in the URL: the link reproduces the race
  const q = new URLSearchParams(baseValues());
  lanes.forEach((v) => q.append("lane", laneText(v)));
  if (race) q.set("race", race);
  history.replaceState(null, "", `/lab?${q}`);
  const link = new URLSearchParams(baseValues());
  lanes.forEach((v) => link.append("lane", laneText(v)));
  $("link").href = `/lab?${link}`;
}

function renderBase() {
  $("base").innerHTML = `<legend>Data and model</legend>` + BASE.map(([name, label, kind]) => {
    const v = params.get(name) ?? (name === "max_steps" ? "" : opts.defaults[name] ?? "");
    const shown = Array.isArray(v) ? v.join(",") : v === null ? "" : String(v);
    const input = kind === "checkbox" ? `<input type="checkbox" id="f-${name}" ${shown === "true" ? "checked" : ""}>`
      : `<input id="f-${name}" value="${esc(shown)}" ${kind.startsWith("list:") ? `list="${kind.slice(5)}"` : ""}
         placeholder="${name === "max_steps" ? `at most ${opts.max_steps}` : name === "train_subset" ? "all" : name === "lr" ? "the optimizer's" : name === "teacher" ? "a finished run's folder" : ""}">`;
    return `<label class="lab-field"><span>${esc(label)}</span>${input}</label>`;
  }).join("") + ["datasets", "models", "activations", "augmentations", "optimizers"].map((l) =>
    `<datalist id="${l}">${(l === "optimizers" ? Object.keys(opts.optimizers) : opts[l]).map((n) => `<option value="${esc(n)}">`).join("")}</datalist>`).join("");
  for (const [name] of BASE) $(`f-${name}`).addEventListener("change", syncUrl);
}

function renderLanes() {
  $("lanes").innerHTML = lanes.map((v, i) => {
    const kind = kindOf(v);
    const fields = kind === "optimizer"
      ? `<select data-key="optimizer">${Object.keys(opts.optimizers).map((n) => `<option ${v.optimizer === n ? "selected" : ""}>${esc(n)}</option>`).join("")}</select>
         <input data-key="lr" value="${esc(v.lr ?? "")}" placeholder="lr (default ${opts.optimizers[v.optimizer || "sgd"]})" size="14">`
      : kind === "activation"
        ? `<select data-key="activation">${opts.activations.map((n) => `<option ${v.activation === n ? "selected" : ""}>${esc(n)}</option>`).join("")}</select>`
        : kind === "distillation"
          ? `<input data-key="temperature" value="${esc(v.temperature ?? "")}" placeholder="temperature T" size="12">
             <input data-key="alpha" value="${esc(v.alpha ?? "")}" placeholder="alpha (0.9)" size="10">`
          : `<input data-key="augment" value="${esc(v.augment ?? "")}" list="augmentations" placeholder="preset or rotation_range=10,…">`;
    return `<div class="lane-row" data-lane="${i}"><b style="color:${COLORS[i % COLORS.length]}">lane ${i + 1}</b>
      <select data-kind>${Object.keys(KINDS).map((k) => `<option ${k === kind ? "selected" : ""}>${k}</option>`).join("")}</select>
      ${fields}<button type="button" data-remove>remove</button></div>`;
  }).join("");
  $("lanes").querySelectorAll(".lane-row").forEach((row) => {
    const i = Number(row.dataset.lane);
    row.querySelector("[data-kind]").addEventListener("change", (e) => {
      const k = e.target.value;
      lanes[i] = k === "optimizer" ? { optimizer: "sgd" } : k === "activation" ? { activation: "relu" }
        : k === "distillation" ? { temperature: "4" } : { augment: "" };
      renderLanes(); syncUrl();
    });
    row.querySelectorAll("[data-key]").forEach((el) => el.addEventListener("change", () => {
      lanes[i][el.dataset.key] = el.value.trim();
      if (el.dataset.key === "optimizer") renderLanes();
      syncUrl();
    }));
    row.querySelector("[data-remove]").addEventListener("click", () => { lanes.splice(i, 1); renderLanes(); syncUrl(); });
  });
}

function commands() {  // the equivalent command lines
  const teacher = $("f-teacher").value.trim();
  const flags = Object.entries(baseValues()).filter(([k]) => k !== "max_steps" && k !== "teacher")
    .flatMap(([k, v]) => (v === true ? [`--${k.replace(/_/g, "-")}`] : [`--${k.replace(/_/g, "-")}`, quote(v)]));
  const steps = $("f-max_steps").value.trim();
  const out = race || "runs/race";
  const race_ = ["zenlearn race", ...flags, ...lanes.flatMap((v) => ["--lane", quote(laneText(v))]),
    ...(steps ? ["--max-steps", steps] : []), ...(teacher ? ["--teacher", quote(teacher)] : []), "--no-report", "--out", out].join(" ");
  if (lanes.some((v) => "temperature" in v || "alpha" in v))
    return `# this race, in a terminal (distillation lanes have no zenlearn compare equivalent)\n${race_}`;
  const compare = ["zenlearn compare", ...flags, ...lanes.flatMap((v) => ["--variant", quote(laneText(v))]), "--no-report",
    "--out", `${out}-compare`].join(" ");
  return `# the same lanes, one after another (each lane all its epochs; the race stops a lane at its step limit)\n${compare}\n\n# this race, in a terminal\n${race_}`;
}

// ------------------------------------------------------------------ curves
class Charts {
  constructor(el) { this.el = el; this.charts = new Map(); this.pending = false; }
  add(chart, series, step, wall, v) {
    if (!lab.points.has(chart)) lab.points.set(chart, new Map());
    const by = lab.points.get(chart);
    if (!by.has(series)) by.set(series, []);
    by.get(series).push([step, wall, v]);
    this.schedule();
  }
  schedule() { if (!this.pending) { this.pending = true; requestAnimationFrame(() => { this.pending = false; this.draw(); }); } }
  reset() { for (const c of this.charts.values()) { c.plot.destroy(); c.box.remove(); } this.charts.clear(); this.draw(); }
  draw() {
    const xi = xaxis === "step" ? 0 : 1;
    let total = 0;
    for (const [chart, by] of lab.points) {
      const names = [...by.keys()].sort();
      const xs = [...new Set(names.flatMap((n) => by.get(n).map((p) => p[xi])))].sort((a, b) => a - b);
      const data = [xs, ...names.map((n) => { const m = new Map(by.get(n).map((p) => [p[xi], p[2]])); return xs.map((x) => (m.has(x) ? m.get(x) : null)); })];
      let c = this.charts.get(chart);
      if (c && (c.names.join() !== names.join() || c.xaxis !== xaxis)) { c.plot.destroy(); c.box.remove(); c = null; }
      if (!c) {
        const box = document.createElement("div");
        box.className = "chart";
        box.dataset.metric = chart;
        box.dataset.x = xaxis;
        box.innerHTML = `<h3>${esc(chart)}</h3>`;
        this.el.appendChild(box);
        const series = names.map((n) => {
          const lane = Number(n.split(" ")[1]) - 1;
          return { label: n, stroke: COLORS[lane % COLORS.length], width: n.endsWith("val") ? 2 : 1.5,
                   dash: n.endsWith("val") ? [5, 3] : [], spanGaps: true, points: { show: n.endsWith("val") } };
        });
        const opts = { width: 460, height: 250, scales: { x: { time: false } },
          axes: [{ label: xaxis === "step" ? "step" : "wall time (s)" }, { values: (u, vals) => vals.map((v) => +v.toPrecision(3)) }],
          series: [{ label: xaxis }, ...series] };
        c = { box, names, xaxis, plot: new uPlot(opts, data, box) };
        this.charts.set(chart, c);
      } else c.plot.setData(data);
      const n = data.slice(1).reduce((s, ys) => s + ys.filter((y) => y !== null).length, 0);
      c.box.dataset.points = String(n);
      total += n;
    }
    this.el.dataset.points = String(total);
  }
}
const charts = new Charts($("curves"));
lab.curve = (lane, chart, split = "train") => ((lab.points.get(chart) || new Map()).get(`lane ${lane + 1} ${split}`) || []).map((p) => [p[0], p[2]]);

// ------------------------------------------------------------------ the race's events
function laneCards(manifest) {
  lab.names = manifest.lanes.map((l) => l.name);
  lab.frames = manifest.lanes.map(() => []);
  $("boundaries").innerHTML = manifest.lanes.map((l, i) => `
    <div class="lane-card" data-lane="${i}" style="border-color:${COLORS[i % COLORS.length]}">
      <h4 style="color:${COLORS[i % COLORS.length]}">lane ${i + 1}: ${esc(l.name)}</h4>
      ${manifest.boundary ? `<img class="boundary" id="b-${i}" alt="decision boundary of lane ${i + 1}" width="192" height="192">` : ""}
      <div class="muted" id="lane-status-${i}">waiting</div><div class="muted" id="lane-change-${i}"></div>
      <div class="lane-controls">
        <input id="lr-${i}" size="9" placeholder="new lr"><button type="button" data-act="lr">Set LR</button>
        <button type="button" data-act="rewind">Rewind</button><button type="button" data-act="stop">Stop lane</button>
      </div></div>`).join("");
  $("boundaries").querySelectorAll(".lane-card").forEach((card) => {
    const lane = Number(card.dataset.lane);
    card.querySelectorAll("button").forEach((b) => b.addEventListener("click", () => {
      const body = { path: race, lane, action: b.dataset.act };
      if (b.dataset.act === "lr") body.value = $(`lr-${lane}`).value;
      post("/api/lab/command", body).then(() => { $("error").textContent = ""; }).catch((e) => { $("error").textContent = e.message; });
    }));
  });
}

function onEvent(ev) {
  lab.events += 1;
  const i = ev.lane, name = `lane ${i + 1}`;
  if (ev.kind === "step" || ev.kind === "epoch") {
    const split = ev.kind === "step" ? "train" : "val";
    for (const [k, v] of Object.entries(ev)) {
      if (SKIP.has(k) || typeof v !== "number" || !Number.isFinite(v)) continue;
      if (ev.kind === "epoch" && !k.startsWith("val_")) continue;
      charts.add(k.replace(/^val_/, ""), `${name} ${split}`, ev.step, ev.wall, v);
    }
    const st = $(`lane-status-${i}`);
    if (st) st.textContent = `step ${ev.step}${ev.lr !== undefined ? `, lr ${fmt(ev.lr)}` : ""}`;
    $("progress").textContent = `step ${ev.step}, ${fmt(ev.wall, 1)} s`;
  } else if (ev.kind === "boundary") {
    const src = `data:image/png;base64,${ev.png}`;
    (lab.frames[i] = lab.frames[i] || []).push({ step: ev.step, reason: ev.reason, png: ev.png });
    const img = $(`b-${i}`);
    if (img) { img.src = src; img.dataset.step = String(ev.step); img.dataset.frames = String(lab.frames[i].length); }
  } else if (ev.kind === "change") {
    const st = $(`lane-change-${i}`);
    if (st) st.textContent = ev.action === "lr" ? `lr ${fmt(ev.was)} → ${fmt(ev.lr)} at step ${ev.step}` : `${ev.action} at step ${ev.step}`;
  } else if (ev.kind === "lane_end") {
    const st = $(`lane-status-${i}`);
    if (st) st.textContent = ev.error ? `failed: ${ev.error}` : ev.stopped || "finished";
  }
}

function showState(s, reason) {
  state = s;
  $("state").textContent = s || "";
  $("state").className = `state state-${s}`;
  $("state").dataset.state = s || "";
  $("reason").textContent = reason || "";
  $("stop-race").hidden = !(s === "running" || s === "queued");
  $("start").disabled = s === "running" || s === "queued";
}

async function follow() {
  const d = await api(`/api/lab/race?path=${encodeURIComponent(race)}`);
  showState(d.state, d.reason);
  if (d.race && !lab.names.length) laneCards(d.race);
  if (FINAL.includes(d.state) && d.results.length) showSaved(d);
  if (!d.race && !FINAL.includes(d.state)) { setTimeout(() => follow().catch(showError), 500); return; }
  if (source) return;
  source = new EventSource(`/api/lab/stream?path=${encodeURIComponent(race)}`);  // stays open in a hidden tab
  source.addEventListener("run", (e) => onEvent(JSON.parse(e.data)));
  source.addEventListener("state", (e) => {
    const s = JSON.parse(e.data);
    showState(s.state, s.reason);
    if (FINAL.includes(s.state)) setTimeout(() => follow().catch(showError), 300);
  });
}

function showSaved(d) {
  const runs = d.results.map((r) => `${d.path}/${r.run_dir}`);
  const metrics = Object.keys(d.results[0]).filter((k) => k.startsWith("test_"));
  $("saved").innerHTML = `<h3>Saved as a comparison: ${esc(d.path)}</h3>
    <p>The race folder is a comparison folder (results.csv, summary.csv, compare.json; <code>zenlearn report ${esc(d.path)}</code>
    writes its report), and each lane an ordinary run folder.
    <a id="open-compare" href="/compare?runs=${runs.map(encodeURIComponent).join(",")}">Open the lanes in Compare</a> ·
    <a href="/files/${encodeURI(d.path)}/results.csv">results.csv</a></p>
    <table id="results"><tr><th>lane</th><th>status</th>${metrics.map((m) => `<th>${esc(m.replace("_", " "))}</th>`).join("")}</tr>
    ${d.results.map((r, i) => `<tr><td>${i + 1}: ${esc(r.variant)}</td><td>${esc(r.status)}</td>${metrics.map((m) => `<td class="num">${fmt(r[m])}</td>`).join("")}</tr>`).join("")}</table>`;
}

function showError(err) { $("banner").textContent = err.message; $("banner").hidden = false; }

async function start(e) {
  e.preventDefault();
  $("error").textContent = "";
  const config = baseValues();
  const { max_steps, teacher } = config;
  delete config.max_steps;
  delete config.teacher;
  try {
    const r = await post("/api/lab/race", { config, lanes, max_steps, teacher });
    race = r.path;
    lab.points.clear(); charts.reset(); lab.names = []; $("saved").innerHTML = "";
    if (source) { source.close(); source = null; }
    syncUrl();
    showState("queued");
    await follow();
  } catch (err) {
    $("error").textContent = err.message;  // the server's one line; nothing was started
  }
}

async function init() {
  opts = await api("/api/lab/options");
  if (!lanes.length) lanes = [{ optimizer: "sgd", lr: "0.1" }, { optimizer: "adam" }];
  renderBase();
  renderLanes();
  syncUrl();
  $("form").addEventListener("submit", start);
  $("add-lane").addEventListener("click", () => { lanes.push({ optimizer: "sgd" }); renderLanes(); syncUrl(); });
  $("cli").addEventListener("click", () => { $("cli-text").textContent = commands(); $("cli-text").hidden = false; });
  $("stop-race").addEventListener("click", () => post("/api/stop", { path: race }).catch(showError));
  document.querySelectorAll("input[name=xaxis]").forEach((r) => r.addEventListener("change", () => { xaxis = r.value; charts.draw(); }));
  if (race) await follow();
}
init().catch(showError);
