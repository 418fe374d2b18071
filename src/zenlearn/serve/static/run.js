// A run's page: live curves from its events.jsonl, state with Stop / Resume, summary, config, figures, files.
import { api, Curves, esc, feed, fmt, openStream, post, RESUMABLE, stateLabel } from "./common.js";

const path = new URLSearchParams(location.search).get("path");
const curves = new Curves(document.getElementById("curves"));
const $ = (id) => document.getElementById(id);
let following = false;

function showState(state, reason) {
  $("state").textContent = stateLabel(state);
  $("state").className = `state state-${state}`;
  $("state").dataset.state = state;
  $("reason").textContent = reason || "";
  $("stop").hidden = !(state === "running" || state === "queued");
  $("resume").hidden = !RESUMABLE.includes(state);
}

function showError(err) { $("banner").textContent = err.message; $("banner").hidden = false; }

async function load() {
  const d = await api(`/api/run?path=${encodeURIComponent(path)}`);
  $("title").textContent = d.path;
  document.title = `${d.path} · zenlearn`;
  showState(d.state, d.reason);
  $("again").href = `/launch?from=${encodeURIComponent(d.path)}`;
  const test = (d.summary && d.summary.test) || {};
  $("summary").innerHTML = Object.keys(test).length
    ? `<table>${Object.entries(test).map(([k, v]) => `<tr><td>test ${esc(k)}</td><td class="num">${fmt(v)}</td></tr>`).join("")}
       <tr><td>epochs</td><td class="num">${d.epochs ?? "–"}</td></tr><tr><td>wall seconds</td><td class="num">${fmt(d.wall_seconds, 1)}</td></tr></table>`
    : `<p class="muted">no summary yet</p>`;
  $("config").innerHTML = Object.entries(d.config || {}).map(([k, v]) =>
    `<tr><td>${esc(k)}</td><td>${esc(JSON.stringify(v))}</td></tr>`).join("");
  $("figures").innerHTML = d.figures.map((f) => `<a href="/files/${encodeURI(f)}"><img src="/files/${encodeURI(f)}" alt="${esc(f)}"></a>`).join("");
  $("files").innerHTML = d.files.map((f) => `<li><a href="/files/${encodeURI(f)}">${esc(f.slice(d.path.length + 1))}</a></li>`).join("");
  if (!d.events) d.metrics.forEach((row) => curves.add("", row.epoch, row));  // a run from before events.jsonl
  if (!following) {
    following = true;
    openStream({
      runs: [d.path],
      onRun: (ev) => {
        feed(curves, "", ev);
        if (ev.kind === "progress") $("progress").textContent = `epoch ${ev.epoch}, step ${ev.step} of ${ev.steps}`;
        if (ev.kind === "epoch") $("progress").textContent = `epoch ${ev.epoch} done`;
      },
      onState: (s) => { showState(s.state, s.reason); load().catch(showError); },
    });
  }
}

$("stop").addEventListener("click", () => post("/api/stop", { path }).then(() => { $("stop").disabled = true; }).catch(showError));
$("resume").addEventListener("click", () => post("/api/resume", { path }).then(() => showState("queued")).catch(showError));
load().catch(showError);
