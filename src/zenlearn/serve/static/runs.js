// The runs page: every result folder under the root, sortable, filterable, updated live.
import { esc, fmt, openStream, post, RESUMABLE, seconds, stateLabel } from "./common.js";

const tbody = document.querySelector("#runs tbody");
const filter = document.getElementById("filter");
const stateFilter = document.getElementById("state-filter");
const compare = document.getElementById("compare");
const selected = new Set();
let rows = [];
let sortKey = "time";
let sortDir = -1;

const cell = (r, key) => key === "best" ? r.best : key === "test" ? r.test && r.test.value : r[key];

function render() {
  const words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
  const shown = rows.filter((r) => (!stateFilter.value || r.state === stateFilter.value) &&
    words.every((w) => [r.path, r.kind, r.data, r.model, r.optimizer, r.state].join(" ").toLowerCase().includes(w)));
  shown.sort((a, b) => {
    const x = cell(a, sortKey), y = cell(b, sortKey);
    return (x === y ? 0 : x === null || x === undefined ? 1 : y === null || y === undefined ? -1 : x < y ? -1 : 1) * sortDir;
  });
  tbody.innerHTML = shown.map((r) => `<tr data-path="${esc(r.path)}" data-state="${esc(r.state)}">
    <td><input type="checkbox" ${selected.has(r.path) ? "checked" : ""} ${r.state === "queued" ? "disabled" : ""}></td>
    <td class="state state-${esc(r.state)}">${esc(stateLabel(r.state))}${RESUMABLE.includes(r.state) ? ` <button class="resume">Resume</button>` : ""}${r.state === "running" || r.state === "queued" ? ` <button class="stop">Stop</button>` : ""}</td>
    <td>${r.state === "queued" ? esc(r.path) : `<a href="${r.race ? "/lab?race=" : "/run?path="}${encodeURIComponent(r.path)}">${esc(r.path)}</a>`}</td>
    <td>${esc(r.kind)}</td><td>${esc(r.data)}</td><td>${esc(r.model)}</td><td>${esc(r.optimizer)}</td>
    <td class="num">${r.epochs ?? "–"}${r.epochs_planned ? ` / ${r.epochs_planned}` : ""}</td>
    <td class="num">${r.metric ? `${esc(r.metric)} ${fmt(r.best)}` : "–"}</td>
    <td class="num">${r.test ? `${esc(r.test.metric)} ${fmt(r.test.value)}` : "–"}</td>
    <td class="num">${seconds(r.wall_seconds)}</td>
    <td>${r.time ? new Date(r.time * 1000).toLocaleString() : ""}</td></tr>`).join("");
  document.getElementById("count").textContent = `${shown.length} of ${rows.length} result folders`;
  compare.disabled = selected.size < 2 || selected.size > 8;
}

document.querySelectorAll("th[data-key]").forEach((th) => th.addEventListener("click", () => {
  sortDir = sortKey === th.dataset.key ? -sortDir : 1;
  sortKey = th.dataset.key;
  render();
}));
filter.addEventListener("input", render);
stateFilter.addEventListener("change", render);
tbody.addEventListener("change", (e) => {
  const path = e.target.closest("tr").dataset.path;
  e.target.checked ? selected.add(path) : selected.delete(path);
  render();
});
tbody.addEventListener("click", async (e) => {
  const button = e.target.closest("button");
  if (!button) return;
  const path = button.closest("tr").dataset.path;
  try {
    await post(button.classList.contains("resume") ? "/api/resume" : "/api/stop", { path });
  } catch (err) { showError(err); }
});
compare.addEventListener("click", () => {
  location.href = `/compare?runs=${[...selected].map(encodeURIComponent).join(",")}`;
});

function showError(err) {
  const b = document.getElementById("banner");
  b.textContent = err.message;
  b.hidden = false;
}

openStream({ list: true, onRuns: (r) => { rows = r; render(); } });  // its first event is the whole table
