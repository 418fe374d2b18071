// The augmentation preview: every setting lives in the URL; the server draws the grid with Augment and a fixed
// seed, so the same URL shows the same PNG bytes. Bad settings come back as a 400 whose one line is shown here.
import { api, esc } from "./common.js";

const $ = (id) => document.getElementById(id);
const SLIDER_STEPS = { rotation_range: 1, shear_range: 1 };
const DEFAULT_FILL = "nearest";
let options;
let timer = null;

function control(name) { return document.querySelector(`[name="${name}"]`); }

function build() {
  $("data").innerHTML = options.datasets.map((d) => `<option>${esc(d)}</option>`).join("");
  $("preset").innerHTML = ["none", ...Object.keys(options.presets)].map((p) => `<option>${esc(p)}</option>`).join("");
  $("fill_mode").innerHTML = options.fill_modes.map((m) => `<option>${esc(m)}</option>`).join("");
  $("sliders").innerHTML = Object.entries(options.ranges).map(([name, [lo, hi]]) =>
    `<label>${esc(name.replace(/_/g, " "))} <input type="range" name="${name}" min="${lo}" max="${hi}" ` +
    `step="${SLIDER_STEPS[name] || 0.01}" value="0"><output id="o-${name}">0</output></label>`).join("");
  $("flags").innerHTML = options.flags.map((name) =>
    `<label class="flag">${esc(name.replace(/_/g, " "))} <input type="checkbox" name="${name}"></label>`).join("");
  $("grid-settings").innerHTML = Object.entries(options.grid).map(([name, [lo, hi, def]]) =>
    `<label>${esc(name)} <input type="number" name="${name}" min="${lo}" max="${hi}" step="1" value="${def}"></label>`).join("");
  $("fill_mode").name = "fill_mode";
}

// A preset sets every slider, flag and the fill mode (to its value, else the Augment default).
function applyPreset(name) {
  const p = options.presets[name] || {};
  for (const key of Object.keys(options.ranges)) setValue(key, p[key] ?? 0);
  for (const key of options.flags) control(key).checked = Boolean(p[key]);
  $("fill_mode").value = p.fill_mode || DEFAULT_FILL;
}

function setValue(name, v) { control(name).value = v; if ($(`o-${name}`)) $(`o-${name}`).textContent = v; }

function dataValue() {
  const folder = $("folder").value.trim();
  return folder ? `folder:${folder}` : $("data").value;
}

function query() {
  const q = new URLSearchParams({ data: dataValue(), preset: $("preset").value, fill_mode: $("fill_mode").value });
  for (const key of Object.keys(options.ranges)) q.set(key, control(key).value);
  for (const key of options.flags) q.set(key, control(key).checked ? "1" : "0");
  for (const key of Object.keys(options.grid)) q.set(key, control(key).value);
  return q;
}

function fromUrl() {
  const q = new URLSearchParams(location.search);
  applyPreset(q.get("preset") || "none");
  $("preset").value = q.get("preset") || "none";
  const data = q.get("data") || options.datasets[0];
  if (data.startsWith("folder:")) $("folder").value = data.slice(7);
  else {
    if (![...$("data").options].some((o) => o.value === data)) $("data").insertAdjacentHTML("beforeend", `<option>${esc(data)}</option>`);
    $("data").value = data;
  }
  for (const [k, v] of q) {
    if (k in options.ranges || k in options.grid) setValue(k, v);
    else if (options.flags.includes(k)) control(k).checked = v === "1" || v === "true";
    else if (k === "fill_mode") $("fill_mode").value = v;
  }
  return q;
}

async function draw(q) {
  const img = $("grid");
  img.dataset.state = "loading";
  try {
    const r = await api(`/api/lab/augment?${q}`);
    $("error").hidden = true;
    img.src = r.image;
    img.dataset.query = q.toString();
    $("timing").textContent = `${r.ms_per_batch.toFixed(1)} ms per batch of ${r.batch} (${r.shape.join("×")}; ` +
      `best of ${r.timed_calls} calls), ` +
      `drawn by Augment(${Object.entries(r.augment).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(", ")})`;
    $("png").href = `/api/lab/augment.png?${q}`;
    $("cli").textContent = r.cli || "none for an uploaded image";
    await img.decode();
    img.hidden = false;
    img.dataset.state = "ready";
  } catch (err) {
    $("error").textContent = err.message;
    $("error").hidden = false;
    img.hidden = true;
    img.dataset.state = "error";
  }
}

function changed() {
  clearTimeout(timer);
  timer = setTimeout(() => {
    const q = query();
    history.replaceState(null, "", `?${q}`);
    draw(q);
  }, 150);
}

async function upload(file) {
  const r = await fetch("/api/lab/upload", {
    method: "POST", credentials: "same-origin", body: file,
    headers: { "content-type": file.type || "application/octet-stream" },
  });
  const text = await r.text();
  let body;
  try { body = JSON.parse(text); } catch { body = { error: text }; }
  if (!r.ok) {
    $("error").textContent = body.error || r.statusText;
    $("error").hidden = false;
    return;
  }
  $("folder").value = "";
  $("data").insertAdjacentHTML("beforeend", `<option>${esc(body.data)}</option>`);
  $("data").value = body.data;
  changed();
}

async function init() {
  options = await api("/api/lab/augment/options");
  build();
  const q = fromUrl();
  const form = $("controls");
  form.addEventListener("input", (e) => {
    if (e.target.id === "file") return;
    if (e.target.id === "preset") applyPreset(e.target.value);
    if (e.target.type === "range") $(`o-${e.target.name}`).textContent = e.target.value;
    changed();
  });
  form.addEventListener("submit", (e) => e.preventDefault());
  $("file").addEventListener("change", (e) => e.target.files[0] && upload(e.target.files[0]));
  // A shared link is drawn exactly as given (its values are not snapped to the sliders' steps); a bare
  // /lab/augment gets the page's full default settings written into its URL.
  if (!q.toString()) history.replaceState(null, "", `?${query()}`);
  await draw(q.toString() ? q : query());
}
init().catch((err) => { $("error").textContent = err.message; $("error").hidden = false; });
