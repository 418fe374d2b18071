// The launch form, generated from TrainConfig's fields; the server checks it exactly as the CLI does.
import { api, esc, post } from "./common.js";

const $ = (id) => document.getElementById(id);
const from = new URLSearchParams(location.search).get("from");
let fields = [];

const shown = (v) => (v === null || v === undefined ? "" : Array.isArray(v) ? v.join(",") : String(v));

function row(f) {
  const input = f.input === "checkbox"
    ? `<input type="checkbox" id="f-${f.name}" name="${f.name}" ${f.default ? "checked" : ""}>`
    : `<input id="f-${f.name}" name="${f.name}" placeholder="${esc(shown(f.default))}" ${f.choices ? `list="l-${f.name}"` : ""}>` +
      (f.choices ? `<datalist id="l-${f.name}">${f.choices.map((c) => `<option value="${esc(c)}">`).join("")}</datalist>` : "");
  return `<div class="form-row" data-field="${f.name}"><label for="f-${f.name}"><b>${esc(f.name)}</b><br>
    <span class="muted">${esc(f.flag)}</span></label>${input}
    <span class="help">${esc(f.help)} <span class="muted">[${esc(f.type)}; default: ${esc(shown(f.default))}]</span></span>
    <span class="error" id="e-${f.name}"></span></div>`;
}

function values() {
  const out = {};
  const name = $("f-out").value.trim();
  if (name) out.out = name;
  for (const f of fields) {
    const el = $(`f-${f.name}`);
    if (f.input === "checkbox") { if (el.checked !== Boolean(f.default)) out[f.name] = el.checked; }
    else if (el.value.trim() !== "" && el.value.trim() !== shown(f.default)) out[f.name] = el.value.trim();
  }
  return out;
}

function showErrors(message) {
  $("form-error").textContent = message;
  document.querySelectorAll(".form-row .error").forEach((e) => { e.textContent = ""; });
  for (const f of fields) {
    const words = [`'${f.name}'`, f.flag, ` ${f.name} `, ` ${f.name}:`, `unknown ${f.name} `];
    if (words.some((w) => message.includes(w))) $(`e-${f.name}`).textContent = message;
  }
}

async function init() {
  fields = (await api("/api/fields")).fields;
  $("fields").innerHTML = fields.map(row).join("");
  if (from) {
    const d = await api(`/api/run?path=${encodeURIComponent(from)}`);
    $("title").textContent = `Run again with changes: ${from}`;
    for (const f of fields) {
      const v = (d.config || {})[f.name];
      if (v === undefined) continue;
      const el = $(`f-${f.name}`);
      if (f.input === "checkbox") el.checked = Boolean(v); else el.value = shown(v);
    }
  }
}

$("form").addEventListener("submit", async (e) => {
  e.preventDefault();
  $("submit").disabled = true;
  try {
    const r = await post("/api/launch", { config: values() });
    location.href = `/run?path=${encodeURIComponent(r.path)}`;
  } catch (err) {
    showErrors(err.message);
    $("submit").disabled = false;
  }
});
init().catch((err) => showErrors(err.message));
